"""End to end on a real prefork Odoo (2 HTTP workers + a cron worker) with JSON logs.

- a burst of external events spread over two workers: the ledger total equals the metric total;
- a crashing scheduled action is counted as a failed ``cron`` run (its transaction rolled back);
- every line of the JSON log file parses, requests carry correlation fields, and an
  ``Authorization`` header value never reaches the log.
"""

import concurrent.futures
import contextlib
import datetime
import json
import subprocess
import time

import odoo_harness
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from logistics_observability.core.ledger import TABLE as LEDGER

pytestmark = [pytest.mark.odoo, pytest.mark.timeout(900)]

SETUP = """
import datetime
user = env['res.users'].create({
    'name': 'Driver App', 'login': 'lo_driver_app',
    USER_GROUPS_FIELD: [(6, 0, [env.ref('base.group_user').id,
                            env.ref('logistics_observability.group_observability_integration').id])],
})
key = env['res.users.apikeys'].with_user(user).sudo()._generate(None, 'driver app', None)
past = datetime.datetime.utcnow() - datetime.timedelta(minutes=5)
for name, code in (('lo crashing cron', "raise UserError('carrier feed down')"), ('lo good cron', 'pass')):
    env['ir.cron'].create({'name': name, 'model_id': env.ref('base.model_res_partner').id, 'state': 'code',
                           'code': code, 'interval_number': 1, 'interval_type': 'minutes', 'nextcall': past})
env.cr.commit()
print('APIKEY=%s' % key)
"""
SECRET = "SuperSecretBearerValue0123456789"


@pytest.fixture(scope="module")
def server_db(odoo_available):
    template = odoo_harness.template_db(["base", "web", "logistics_observability"])
    name = odoo_harness.clone_db(template, "lotest_wfsrv_main")
    proc = subprocess.run(
        [
            *odoo_harness.odoo_cmd(),
            "shell",
            "--addons-path=" + odoo_harness.addons_path(),
            "--db_host=" + odoo_harness.PG["host"],
            "--db_port=%s" % odoo_harness.PG["port"],
            "--db_user=" + odoo_harness.PG["user"],
            "-d",
            name,
            "--no-http",
            "--log-level=warn",
        ],
        input=odoo_harness.shell_code(SETUP),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        cwd=odoo_harness.ROOT,
    )
    keys = [line.split("=", 1)[1] for line in proc.stdout.splitlines() if line.startswith("APIKEY=")]
    assert keys, proc.stdout[-3000:]
    yield name, keys[0]
    odoo_harness.drop_db(name)


@pytest.fixture(scope="module")
def server(server_db):
    name, _key = server_db
    srv = odoo_harness.OdooServer(
        options={
            "observability_log_format": "json",
            "observability_ledger_flush_interval": 1,
            "db_name": name,
            "dbfilter": "^%s$" % name,
            "observability_env": "test",
        },
        workers=2,
        max_cron_threads=1,
    )
    with srv:
        yield srv


def metric_samples(srv):
    text = requests.get(srv.url + "/metrics", timeout=10).text
    return [s for fam in text_string_to_metric_families(text) for s in fam.samples]


def metric_sum(srv, name, **labels):
    return sum(
        s.value
        for s in metric_samples(srv)
        # an empty label is no label (as Prometheus stores it)
        if s.name == name and all(s.labels.get(k, "") == v for k, v in labels.items())
    )


def ledger(dbname, workflow, outcome=None):
    with contextlib.closing(odoo_harness.pg_connect(dbname)) as conn, conn.cursor() as cr:
        cr.execute(
            f"SELECT COALESCE(SUM(count), 0) FROM {LEDGER} WHERE workflow = %s "
            "AND (%s IS NULL OR outcome = %s)",
            (workflow, outcome, outcome),
        )
        return int(cr.fetchone()[0])


def wait_for(predicate, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return predicate()


def test_burst_over_two_workers_ledger_equals_metrics(server, server_db):
    dbname, key = server_db
    headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
    base = datetime.datetime(2025, 3, 1, tzinfo=datetime.timezone.utc)

    def post(i):
        events = [
            {
                "workflow": "pod_sync",
                "outcome": "failure" if (i + j) % 5 == 0 else "success",
                "reference": "WH/OUT/%05d" % (i * 10 + j),
                "duration_ms": 1000 * j,
                "occurred_at": (base + datetime.timedelta(seconds=i * 10 + j)).isoformat(),
            }
            for j in range(4)
        ]
        resp = requests.post(
            server.url + "/logistics_observability/events",
            data=json.dumps(events),
            headers=headers,
            timeout=30,
        )
        return resp.status_code, resp.json()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(post, range(60)))
    assert all(status == 200 for status, _ in results), results[:3]
    assert sum(body["accepted"] for _, body in results) == 240
    pids = {s.labels.get("pid") for s in metric_samples(server)}  # no pid label leaks
    assert pids == {None}

    # a retried delivery is acknowledged, not counted again
    again = post(0)
    assert again == (200, {"accepted": 0, "duplicates": 4})

    def settled():
        return ledger(dbname, "pod_sync") == metric_sum(
            server, "odoo_workflow_runs_total", tenant=dbname, workflow="pod_sync"
        )

    assert wait_for(settled), (
        ledger(dbname, "pod_sync"),
        metric_sum(server, "odoo_workflow_runs_total", tenant=dbname, workflow="pod_sync"),
    )
    assert ledger(dbname, "pod_sync") == 240
    assert (
        ledger(dbname, "pod_sync", "failure")
        == metric_sum(
            server, "odoo_workflow_runs_total", tenant=dbname, workflow="pod_sync", outcome="failure"
        )
        == 48
    )
    assert (
        metric_sum(server, "odoo_workflow_duration_seconds_count", tenant=dbname, workflow="pod_sync") == 240
    )


def test_crashing_cron_is_a_failed_run(server, server_db):
    dbname, _key = server_db
    assert wait_for(lambda: ledger(dbname, "cron", "failure") >= 1, timeout=120), server.log_tail()
    # per cron without the tenant label at the default detail level; the tenant's crons are its
    # cron workflow runs
    assert metric_sum(server, "odoo_cron_runs_total", tenant="", outcome="failure") >= 1
    assert metric_sum(server, "odoo_cron_runs_total", tenant=dbname) == 0
    assert (
        metric_sum(server, "odoo_workflow_runs_total", tenant=dbname, workflow="cron", outcome="failure") >= 1
    )
    assert wait_for(lambda: ledger(dbname, "cron", "success") >= 1, timeout=60)
    assert metric_sum(server, "odoo_workflow_start_delay_seconds_count", tenant=dbname, workflow="cron") >= 2


def test_cron_sql_counts_and_the_tenant_read_odoos_names(server, server_db):
    """The cursor's SQL counter (an odoo_facts name) feeds the cron runs' SQL histogram (a rename
    upstream would leave it empty, not zero), and the tenant collector reads ``db_name`` as the
    running series gives it (compat.db_names)."""
    dbname, _key = server_db
    assert wait_for(lambda: ledger(dbname, "cron") >= 2, timeout=120), server.log_tail()
    # without the tenant label at the default detail level
    assert wait_for(
        lambda: metric_sum(server, "odoo_workflow_sql_queries_count", tenant="", workflow="cron") >= 2
    )
    assert metric_sum(server, "odoo_workflow_sql_queries_sum", tenant="", workflow="cron") > 0
    assert wait_for(lambda: metric_sum(server, "odoo_tenant_databases") == 1), metric_sum(
        server, "odoo_tenant_databases"
    )


def test_json_log_lines_parse_and_never_leak_authorization(server, server_db):
    dbname, key = server_db
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    resp = requests.get(
        server.url + "/web/login",
        timeout=30,
        headers={
            "Authorization": "Bearer " + SECRET,
            "X-Request-Id": "lo-req-0001",
            "traceparent": "00-%s-00f067aa0ba902b7-01" % trace_id,
        },
    )
    assert resp.status_code == 200
    assert resp.headers["X-Request-Id"] == "lo-req-0001"
    assert resp.headers["traceparent"].split("-")[1] == trace_id
    bad = requests.post(
        server.url + "/logistics_observability/events",
        data=b"{oops",
        timeout=30,
        headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"},
    )
    assert bad.status_code == 400 and bad.json()["field"] == "body"
    good = requests.post(
        server.url + "/logistics_observability/events",
        timeout=30,
        json={
            "workflow": "dispatch",
            "outcome": "failure",
            "reference": "WH/OUT/LOG1",
            "occurred_at": "2025-03-02T08:00:00Z",
            "duration_ms": 250,
        },
        headers={"Authorization": "Bearer " + key},
    )
    assert good.status_code == 200
    time.sleep(1.5)

    text = server.log_file.read_text()
    assert SECRET not in text and key not in text
    records = []
    for line in text.splitlines():  # started with observability_server: JSON from the first line
        obj = json.loads(line)
        assert isinstance(obj, dict)
        for field in ("ts", "level", "logger", "msg", "pid", "env", "service", "region", "release"):
            assert field in obj, (field, line)
        records.append(obj)
    assert any("JSON log format enabled" in r["msg"] for r in records)
    access = [r for r in records if r.get("request_id") == "lo-req-0001" and r["logger"] == "werkzeug"]
    assert len(access) == 1, [r for r in records if r["logger"] == "werkzeug"][-3:]
    hit = access[0]
    assert hit["trace_id"] == trace_id and len(hit["span_id"]) == 16
    assert hit["http.method"] == "GET" and hit["http.status"] == 200 and hit["http.route"] == "/web/login"
    assert isinstance(hit["duration_ms"], int | float) and isinstance(hit["sql.count"], int)
    assert isinstance(hit["sql.ms"], int | float) and hit["tenant"] == dbname and hit["env"] == "test"
    runs = [r for r in records if r.get("workflow") == "dispatch" and r.get("reference") == "WH/OUT/LOG1"]
    assert len(runs) == 1 and runs[0]["outcome"] == "failure" and runs[0]["duration_ms"] == 250
    assert runs[0]["tenant"] == dbname and runs[0]["level"] == "WARNING"
