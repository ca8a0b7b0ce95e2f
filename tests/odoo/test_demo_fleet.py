"""``DEMO_FLEET=1 scripts/demo.sh``: the demo with the fleet (docs/DEPLOYMENT.md, "Fleet"): two
Odoo instances serving the same tenant, two vmagents per instance, VictoriaMetrics, vmalert;
the printed URLs answer, VictoriaMetrics holds the demo traffic of both instances once each (label
``instance`` = odoo-1 / odoo-2, the taxonomy on every series), vmalert evaluates the platform and
SLO rules over it, and ``scripts/demo.sh stop`` stops every process it started."""

import contextlib
import os
import re
import socket
import subprocess

import fleet_stack
import native_stack
import odoo_harness
import pytest
import requests

pytestmark = [pytest.mark.odoo, pytest.mark.slow, pytest.mark.timeout(1500)]


def _free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports_from(count):
    """A free port whose next ``count - 1`` ports are free too."""
    while True:
        port = odoo_harness.free_port()
        if port + count < 65536 and all(_free(port + i) for i in range(1, count)):
            return port


def test_demo_fleet_runs_two_instances_into_victoria_metrics(logistics_template, tmp_path):
    missing = fleet_stack.missing_binaries() + [
        n
        for n in ("nginx",)
        if not os.path.exists("/usr/sbin/nginx") and not os.path.exists("/usr/bin/nginx")
    ]
    if missing:
        pytest.skip("NOT INSTALLED: %s (scripts/bootstrap.sh installs them)" % ", ".join(missing))
    prefix = "lotest_fleetdemo%d_" % odoo_harness.series_major()
    tenant = "fleet"
    template = prefix + "template"
    odoo_harness.clone_db(logistics_template, template)
    proc = odoo_harness.run_odoo(
        [
            "-d",
            template,
            "-i",
            "logistics_observability_delivery_demo",
            "--stop-after-init",
            "--max-cron-threads=0",
            "--log-level=warn",
        ]
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stdout, proc.stdout[-4000:]
    state = tmp_path / "state"
    ports = {
        "DEMO_HTTP_PORT": _ports_from(4),
        "DEMO_HTTP2_PORT": _ports_from(4),
        "DEMO_PROXY_PORT": odoo_harness.free_port(),
        "DEMO_METRICS_PORT": odoo_harness.free_port(),
        "DEMO_METRICS2_PORT": odoo_harness.free_port(),
        "DEMO_PROMETHEUS_PORT": odoo_harness.free_port(),
        "DEMO_ALERTMANAGER_PORT": odoo_harness.free_port(),
        "DEMO_PG_EXPORTER_PORT": odoo_harness.free_port(),
        "DEMO_REDIS_EXPORTER_PORT": odoo_harness.free_port(),
        "DEMO_BLACKBOX_PORT": odoo_harness.free_port(),
        "DEMO_VM_PORT": odoo_harness.free_port(),
        "DEMO_VMALERT_PORT": odoo_harness.free_port(),
        "DEMO_VMAGENT_PORT": _ports_from(4),
    }
    env = dict(
        os.environ,
        LO_VENV=str(odoo_harness.SERIES["18.0"]["venv"]),
        LO_VENV19=str(odoo_harness.SERIES["19.0"]["venv"]),
        DEMO_ODOO=odoo_harness.current_series(),
        DEMO_STATE=str(state),
        DEMO_TENANTS=tenant,
        DEMO_DB_PREFIX=prefix,
        DEMO_FLEET="1",
        **{k: str(v) for k, v in ports.items()},
    )

    def demo(*args):
        return subprocess.run(
            ["bash", "scripts/demo.sh", *args],
            cwd=odoo_harness.ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=1200,
        )

    try:
        proc = demo("--detach")
        assert proc.returncode == 0, proc.stdout[-5000:]
        out = proc.stdout
        vm_url = "http://127.0.0.1:%d" % ports["DEMO_VM_PORT"]
        vmalert_url = "http://127.0.0.1:%d" % ports["DEMO_VMALERT_PORT"]
        assert vm_url + "/vmui" in out and vmalert_url in out, out[-3000:]
        assert re.search(r"odoo-2 = http://127\.0\.0\.1:%d" % ports["DEMO_HTTP2_PORT"], out), out[-3000:]
        api = native_stack.PromAPI(vm_url)
        db = prefix + tenant

        def both_instances():
            got = fleet_stack.vm_vector(
                api,
                'count by (instance) (odoo_workflow_runs_total{tenant="%s"})' % db,
                by=("instance",),
            )
            return got if set(got) == {("odoo-1",), ("odoo-2",)} else None

        counts = native_stack.wait_for(both_instances, 240, "the demo's traffic of both instances")
        print("series per instance in VictoriaMetrics: %s" % counts)
        print(out[out.index("Fleet (deploy/fleet/") :])
        up = fleet_stack.vm_vector(api, 'up{job="odoo"}', by=("instance", "environment", "region", "cluster"))
        assert up == {("odoo-1", "demo", "local", "demo"): 1.0, ("odoo-2", "demo", "local", "demo"): 1.0}, up
        groups = requests.get(vmalert_url + "/api/v1/rules", timeout=10).json()["data"]["groups"]
        names = {g["name"] for g in groups}
        assert {"logistics_slo_recording", "logistics_slo_alerts"} <= names, names
        errors = [(r["name"], r["lastError"]) for g in groups for r in g["rules"] if r.get("lastError")]
        assert not errors, errors[:5]
    finally:
        stop = demo("stop")
        for db in (prefix + tenant, prefix + "template"):
            if odoo_harness.db_exists(db):
                with contextlib.closing(odoo_harness.pg_connect()) as conn, conn.cursor() as cr:
                    cr.execute('ALTER DATABASE "%s" IS_TEMPLATE false' % db)  # the demo marks its template
            odoo_harness.drop_db(db)
    assert stop.returncode == 0, stop.stdout[-3000:]
    assert not list(state.glob("*.pid")), list(state.glob("*.pid"))
    for name in ("victoria-metrics", "vmalert", "vmagent-odoo-2-b", "odoo-2"):
        assert "stopping %s" % name in stop.stdout, stop.stdout
