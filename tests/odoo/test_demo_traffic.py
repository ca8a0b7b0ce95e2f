"""The demo's traffic generator against a real prefork Odoo with sale, stock, delivery and account.

A newcomer opening the demo's Odoo log must not see errors the demo itself causes: the
generator speaks JSON-RPC (XML-RPC cannot marshal the ``None`` many Odoo methods return, and
Odoo logs a traceback for each), and the workflows it drives are counted.
"""

import datetime
import json
import re
import shutil
import subprocess
import sys

import native_stack
import odoo_harness
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.odoo, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def logistics_db(odoo_available):
    template = odoo_harness.template_db(["sale_stock", "stock_delivery", "account"], with_addons=False)
    name = odoo_harness.clone_db(template, "lotest_demo_traffic")
    proc = odoo_harness.run_odoo(
        [
            "-d",
            name,
            "-i",
            "logistics_observability,logistics_observability_delivery_demo",
            "--stop-after-init",
            "--max-cron-threads=0",
            "--log-level=warn",
        ]
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stdout, proc.stdout[-4000:]
    yield name
    odoo_harness.drop_db(name)


def test_traffic_causes_no_error_in_the_odoo_log(logistics_db):
    # no cron worker: the demo's deliberately failing scheduled action is not what is tested here
    srv = odoo_harness.OdooServer(
        options={
            "observability_log_format": "json",
            "db_name": logistics_db,
            "dbfilter": "^%s$" % logistics_db,
        },
        workers=2,
        max_cron_threads=0,
    )
    with srv:
        proc = subprocess.run(
            [
                sys.executable,
                "scripts/demo_traffic.py",
                "--url",
                srv.url,
                "--db",
                logistics_db,
                "--duration",
                "45",
                "--rate",
                "4",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=odoo_harness.ROOT,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        text = requests.get(srv.url + "/metrics", timeout=10).text
        lines = srv.log_file.read_text(errors="replace").splitlines()
    runs = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "odoo_workflow_runs_total" and s.labels.get("tenant") == logistics_db:
                runs[s.labels["workflow"]] = runs.get(s.labels["workflow"], 0) + s.value
    assert runs.get("order_release", 0) >= 3, (runs, proc.stderr[-2000:])
    assert runs.get("carrier_call", 0) >= 1, runs
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records, "the JSON log is empty"
    errors = [r for r in records if r.get("level") in ("ERROR", "CRITICAL")]
    assert not errors, "the demo traffic caused errors in the Odoo log:\n%s" % "\n".join(
        "%s %s %s" % (r.get("logger"), r.get("msg", "")[:200], r.get("exc.message", "")) for r in errors[:10]
    )
    assert not any("cannot marshal" in line for line in lines)


# the demo's own tenant set-up, as scripts/demo.sh runs it
DEMO_TENANT = (
    "import os\nos.environ['DEMO_BASE_URL'] = %r\n"
    + (odoo_harness.ROOT / "scripts" / "demo_tenant.py").read_text()
)


def test_demo_wires_synthetic_checks_security_and_changes(base_template, make_db, tmp_path):
    """The demo's wiring with a host-based dbfilter: each tenant's default checks, made from its own
    URL, are probed by a real blackbox exporter through the Odoo port, and Prometheus sees the
    targets up; a failed login reaches Security and the URL change Recent changes."""
    missing = native_stack.missing_binaries(["prometheus", "blackbox-exporter"])
    if missing:
        pytest.skip("NOT INSTALLED: %s (scripts/bootstrap.sh installs them)" % ", ".join(missing))
    db = make_db(base_template, "lotest_demo_syn")
    srv = odoo_harness.OdooServer(
        options={"dbfilter": "^%d$", "list_db": False}, workers=2, max_cron_threads=0
    )
    host = "%s.localhost:%s" % (db, srv.http_port)
    with srv:
        proc = odoo_harness.run_shell(db, DEMO_TENANT % ("http://" + host))
        assert "Traceback" not in proc.stdout, proc.stdout[-3000:]
        key = re.search(r"^APIKEY=(\S+)$", proc.stdout, re.M)
        assert key, proc.stdout[-3000:]
        # the integration user's key posts events, as the demo's traffic generator does
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        event = {"workflow": "pod_sync", "outcome": "success", "reference": "DEMO/1", "occurred_at": now}
        r = requests.post(
            "http://127.0.0.1:%s/logistics_observability/events" % srv.http_port,
            json=event,
            headers={"Authorization": "Bearer " + key.group(1), "Host": host},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        mon = tmp_path / "mon"  # as deploy/render_native.py leaves it, other jobs aside
        mon.mkdir()
        shutil.copy(odoo_harness.ROOT / "deploy" / "blackbox" / "blackbox.yml", mon / "blackbox.yml")
        (mon / "prometheus.yml").write_text("global:\n  scrape_interval: 5s\n  scrape_timeout: 4s\n")
        targets, modules = mon / "synthetic-targets.json", mon / "synthetic-modules.yml"
        proc = subprocess.run(
            [
                *odoo_harness.odoo_cmd(),
                "--addons-path=" + odoo_harness.addons_path(),
                "synthetic_targets",
                "-c",
                str(srv.write_config()),
                "-d",
                db,
                "-o",
                str(targets),
                "--blackbox",
                str(modules),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=odoo_harness.ROOT,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        bb_port, prom_port = odoo_harness.free_port(), odoo_harness.free_port()
        proc = subprocess.run(
            [
                sys.executable,
                "scripts/demo_synthetic.py",
                "--targets",
                str(targets),
                "--modules",
                str(modules),
                "--blackbox-config",
                str(mon / "blackbox.yml"),
                "--prometheus",
                str(mon / "prometheus.yml"),
                "--blackbox-address",
                "127.0.0.1:%s" % bb_port,
                "--via",
                "127.0.0.1:%s" % srv.http_port,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=odoo_harness.ROOT,
        )
        assert proc.returncode == 0, proc.stderr
        groups = json.loads(targets.read_text())
        assert sorted(g["labels"]["check"] for g in groups) == ["health_ready", "portal_login"]
        assert all(g["targets"][0].startswith("http://127.0.0.1:%s/" % srv.http_port) for g in groups)
        # a mistyped password, as the demo's traffic generator does first (common.authenticate)
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {
                "service": "common",
                "method": "authenticate",
                "args": [db, "admin", "not-the-demo-password", {}],
            },
        }
        r = requests.post(srv.url + "/jsonrpc", json=body, headers={"Host": host}, timeout=30)
        assert r.json().get("result") is False, r.text
        daemons = [
            native_stack.blackbox_exporter(mon / "blackbox.yml", bb_port, tmp_path),
            native_stack.prometheus(mon / "prometheus.yml", prom_port, tmp_path / "data", tmp_path),
        ]
        try:
            for daemon in daemons:
                daemon.wait_ready()
            api = native_stack.PromAPI("http://127.0.0.1:%s" % prom_port)

            def probes():
                found = {
                    r["metric"]["check"]: r["value"][1] for r in api.query('probe_success{job="synthetic"}')
                }
                up = [r["value"][1] for r in api.query('up{job="synthetic"}')]
                return found if len(found) == 2 and up == ["1", "1"] else None

            found = native_stack.wait_for(probes, 120, "the synthetic targets up in Prometheus")
        finally:
            for daemon in daemons:
                daemon.stop()
        assert found["portal_login"] == "1", found
        lines = srv.log_file.read_text(errors="replace").splitlines()
    conn = odoo_harness.pg_connect(db)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT coalesce(sum(count), 0) FROM logistics_auth_ledger WHERE outcome = 'failure'")
            assert cr.fetchone()[0] >= 1, "the Security card has no failed login"
            cr.execute(
                "SELECT count(*) FROM logistics_audit_event"
                " WHERE category = 'change' AND target = 'web.base.url'"
            )
            assert cr.fetchone()[0] >= 1, "Recent changes has no change"
    finally:
        conn.close()
    assert not [line for line in lines if " ERROR " in line or '"level": "ERROR"' in line], lines[-20:]
