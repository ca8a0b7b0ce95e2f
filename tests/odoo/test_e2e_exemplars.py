"""End to end: from a slow bucket to the log line of that run.

A real Prometheus (exemplar storage on) scrapes a prefork Odoo (2 HTTP workers, JSON logs) in
OpenMetrics; a driver app reports dispatches, one of them slow. ``query_exemplars`` on the
workflow duration histogram returns a ``trace_id`` for the slow dispatch, and that id is in the
JSON log line of that dispatch; the HTTP duration histogram's exemplar leads to the request's
log line the same way.
"""

import datetime
import json
import time

import native_stack
import odoo_harness
import pytest
import requests

pytestmark = [pytest.mark.odoo, pytest.mark.slow]
SLOW_REF = "WH/OUT/SLOW-0001"


@pytest.fixture(scope="module")
def setup(base_template, tmp_path_factory):
    missing = native_stack.missing_binaries(["prometheus"])
    if missing:
        pytest.skip("NOT INSTALLED (scripts/bootstrap.sh installs it): %s" % " ".join(missing))
    tmp = tmp_path_factory.mktemp("exemplars")
    db = odoo_harness.clone_db(base_template, "lotest_exemplars")
    key = native_stack.api_key(db)
    metrics_port, prom_port = odoo_harness.free_port(), odoo_harness.free_port()
    odoo = prom = None
    try:
        odoo = odoo_harness.OdooServer(
            workers=2,
            max_cron_threads=0,
            dbfilter="^%s$" % db,
            options={
                "observability_metrics_port": metrics_port,
                "observability_log_format": "json",
                "db_name": db,
            },
        ).start()
        (tmp / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: odoo\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%s']\n" % metrics_port
        )
        prom = native_stack.prometheus(
            tmp / "prometheus.yml", prom_port, tmp / "data", tmp, extra=["--enable-feature=exemplar-storage"]
        ).wait_ready()
        yield {
            "odoo": odoo,
            "db": db,
            "key": key,
            "prom": native_stack.PromAPI("http://127.0.0.1:%s" % prom_port),
        }
    finally:
        if prom:
            prom.stop()
        if odoo:
            odoo.stop()
            odoo.cleanup()
        odoo_harness.drop_db(db)


def report(setup, reference, duration_ms):
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    r = requests.post(
        setup["odoo"].url + "/logistics_observability/events",
        timeout=30,
        headers={"Authorization": "Bearer " + setup["key"], "Content-Type": "application/json"},
        data=json.dumps(
            [
                {
                    "workflow": "dispatch",
                    "outcome": "success",
                    "reference": reference,
                    "duration_ms": duration_ms,
                    "occurred_at": now,
                }
            ]
        ),
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text


def exemplars_of(prom, query):
    now = time.time()
    data = prom.get("/api/v1/query_exemplars", query=query, start=now - 600, end=now + 60)
    return [(series["seriesLabels"], ex) for series in data for ex in series["exemplars"]]


def log_lines(odoo):
    lines = []
    for raw in odoo.log_file.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # Odoo's own start-up lines before the JSON formatter is installed
    return lines


def test_slow_dispatch_exemplar_leads_to_its_log_line(setup):
    for i in range(5):
        report(setup, "WH/OUT/FAST-%04d" % i, 2000)
    report(setup, SLOW_REF, 1500 * 1000)  # 25 minutes from dispatch to proof of delivery
    prom = setup["prom"]

    def slow():
        found = exemplars_of(prom, 'odoo_workflow_duration_seconds_bucket{workflow="dispatch"}')
        return [(labels, ex) for labels, ex in found if float(ex["value"]) == 1500.0]

    labels, ex = native_stack.wait_for(slow, 60, "an exemplar of the slow dispatch")[0]
    # a tenant's workflow histogram is on the SLO grid (1, 5, 10, 14400 s) at the default detail level
    assert labels["tenant"] == setup["db"] and labels["le"] == "14400.0"
    trace_id = ex["labels"]["trace_id"]
    assert len(trace_id) == 32
    runs = [
        line
        for line in log_lines(setup["odoo"])
        if line.get("trace_id") == trace_id and line.get("workflow") == "dispatch"
    ]
    assert len(runs) == 1, runs
    assert runs[0]["reference"] == SLOW_REF and runs[0]["duration_ms"] == 1500000
    # the fast dispatches' exemplars (another bucket) name other traces, each in its own log line
    fast = [
        ex
        for labels, ex in exemplars_of(prom, 'odoo_workflow_duration_seconds_bucket{workflow="dispatch"}')
        if float(ex["value"]) == 2.0
    ]
    assert fast and all(ex["labels"]["trace_id"] != trace_id for ex in fast)


def test_http_exemplar_leads_to_the_request_log_line(setup):
    report(setup, "WH/OUT/HTTP-0001", 1000)
    prom = setup["prom"]
    query = 'odoo_http_request_duration_seconds_bucket{route="/logistics_observability/events"}'
    found = native_stack.wait_for(lambda: exemplars_of(prom, query), 60, "an HTTP exemplar")
    traces = {ex["labels"]["trace_id"] for _labels, ex in found}
    route = "/logistics_observability/events"
    logged = {
        line.get("trace_id")
        for line in log_lines(setup["odoo"])
        if route in (line.get("http.path"), line.get("http.route"))
    }
    assert traces and traces <= logged, (traces, logged)
    # only OpenMetrics answers carry exemplars
    text = requests.get(
        "http://127.0.0.1:%s/metrics" % setup["odoo"].options["observability_metrics_port"], timeout=30
    ).text
    assert "trace_id" not in text
