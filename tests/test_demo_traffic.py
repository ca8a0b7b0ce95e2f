"""The demo's traffic generator against a real prefork Odoo with sale, stock, delivery and account.

A newcomer opening the demo's Odoo log must not see errors the demo itself causes: the
generator speaks JSON-RPC (XML-RPC cannot marshal the ``None`` many Odoo methods return, and
Odoo logs a traceback for each), and the workflows it drives are counted.
"""

import json
import subprocess
import sys

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
            "logistics_observability",
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
