"""End to end: one prefork Odoo instance stopped and started again within one boot.

The metrics directory is the same (same port, memory-backed): the new run's
``odoo_instance_start_time_seconds`` is its own start, and no exemplar of the previous run
survives (a slow bucket must never lead to the trace of a run that is gone).
"""

import datetime
import json
import re
import time

import native_stack
import odoo_harness
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.odoo, pytest.mark.slow]
OPENMETRICS = {"Accept": "application/openmetrics-text; version=1.0.0"}
TRACE_RE = re.compile(r'# \{trace_id="([0-9a-f]{32})"\}')


def report(odoo, key, reference, duration_ms):
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    event = {
        "workflow": "dispatch",
        "outcome": "success",
        "reference": reference,
        "duration_ms": duration_ms,
        "occurred_at": now,
    }
    r = requests.post(
        odoo.url + "/logistics_observability/events",
        timeout=30,
        data=json.dumps(event),
        headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text


def scrape(metrics_url, openmetrics=False):
    r = requests.get(metrics_url + "/metrics", headers=OPENMETRICS if openmetrics else {}, timeout=10)
    assert r.status_code == 200
    return r.text


def start_time(text):
    values = [
        s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == "odoo_instance_start_time_seconds"
    ]
    assert len(values) == 1, values
    return values[0]


def dispatch_exemplars(text):
    return {
        m.group(1)
        for line in text.splitlines()
        if line.startswith("odoo_workflow_duration_seconds_bucket{")
        for m in TRACE_RE.finditer(line)
    }


def test_restart_resets_start_time_and_exemplars(base_template, tmp_path):
    db = odoo_harness.clone_db(base_template, "lotest_restart")
    key = native_stack.api_key(db)
    metrics_port = odoo_harness.free_port()
    odoo = odoo_harness.OdooServer(
        workers=2,
        max_cron_threads=0,
        dbfilter="^%s$" % db,
        options={
            "observability_metrics_port": metrics_port,
            "db_name": db,
            "observability_metrics_dir": str(tmp_path / "metrics"),
        },
    )
    metrics_url = "http://127.0.0.1:%s" % metrics_port
    try:
        before = time.time()
        odoo.start()
        first = start_time(scrape(metrics_url))
        assert before - 1 <= first <= time.time()
        report(odoo, key, "WH/OUT/R1-SLOW", 45000)  # a slow bucket of its own
        old = dispatch_exemplars(scrape(metrics_url, openmetrics=True))
        assert old, "the first run records an exemplar"
        odoo.stop()

        time.sleep(1.1)
        odoo.start()
        text = scrape(metrics_url)
        second = start_time(text)
        assert second > first + 1 and second <= time.time()
        assert "odoo_build_info{" in text and 'release="' in text
        report(odoo, key, "WH/OUT/R2-FAST", 20)  # the same series again, another bucket
        new = dispatch_exemplars(scrape(metrics_url, openmetrics=True))
        assert new, "the second run records its own exemplar"
        assert not new & old, "an exemplar of the previous run is still exposed"
    finally:
        odoo.stop()
        odoo.cleanup()
        odoo_harness.drop_db(db)
