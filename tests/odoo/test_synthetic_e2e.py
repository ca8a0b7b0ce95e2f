"""Outside-in synthetic checks as operators run them: a real Odoo serving the tenant, ``odoo-bin
synthetic_targets`` writing the file-SD targets and the blackbox modules, Debian's blackbox
exporter probing through the Odoo port, and Prometheus scraping it: ``probe_success`` per
tenant and check."""

import json
import subprocess

import native_stack
import odoo_harness
import pytest

pytestmark = [pytest.mark.odoo, pytest.mark.timeout(900)]

SETUP = """
base = %r
Check = env["logistics.synthetic.check"]
Check.search([]).unlink()
Check.create({"name": "portal_login", "url": base + "/web/login", "expected_text": "csrf_token",
              "interval": 10, "timeout": 3})
Check.create({"name": "portal_orders", "url": base + "/web", "expected_status": 303, "interval": 10,
              "timeout": 3})
Check.create({"name": "carrier_status", "url": base + "/web/login", "expected_text": "no such text here",
              "interval": 10, "timeout": 3})
Check.create({"name": "paused", "url": base + "/web/login", "active": False, "interval": 10, "timeout": 3})
env.cr.commit()
"""


def synthetic_targets(*args):
    """``odoo-bin synthetic_targets`` (the subcommand takes --addons-path before its name)."""
    cmd = [
        *odoo_harness.odoo_cmd(),
        "--addons-path=" + odoo_harness.addons_path(),
        "synthetic_targets",
        "--db_host=" + odoo_harness.PG["host"],
        "--db_port=%s" % odoo_harness.PG["port"],
        "--db_user=" + odoo_harness.PG["user"],
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=odoo_harness.ROOT)


def test_synthetic_targets_refuses_a_bad_definition_and_writes_the_rest(tenant_db, tmp_path):
    odoo_harness.run_shell(
        tenant_db,
        "env['logistics.synthetic.check'].search([]).unlink()\n"
        'env.cr.execute("INSERT INTO logistics_synthetic_check (name, url, method, '
        "expected_status, timeout, interval, mode, active) VALUES ('broken', "
        "'ftp://x', 'GET', 200, 5, 60, 'outside_in', true)\")\n"
        "env['logistics.synthetic.check'].create({'name': 'ok', "
        "'url': 'https://portal.example.com/web/login'})\nenv.cr.commit()\n",
    )
    out = tmp_path / "targets.json"
    proc = synthetic_targets("-d", tenant_db, "-o", str(out))
    assert proc.returncode == 2
    assert (
        "check broken refused: url: expected an absolute http:// or https:// URL" in proc.stdout + proc.stderr
    )
    assert [g["labels"]["check"] for g in json.loads(out.read_text())] == ["ok"]


@pytest.fixture(scope="module")
def tenant_db(odoo_available):
    template = odoo_harness.template_db(["base", "web", "logistics_observability"])
    name = odoo_harness.clone_db(template, "lotest_synthetic_e2e")
    yield name
    odoo_harness.drop_db(name)


def test_blackbox_probes_each_tenant_check(tenant_db, tmp_path):
    missing = native_stack.missing_binaries(["prometheus", "blackbox-exporter"])
    if missing:
        pytest.skip("NOT INSTALLED: %s (scripts/bootstrap.sh installs them)" % ", ".join(missing))
    srv = odoo_harness.OdooServer(
        options={"db_name": tenant_db, "dbfilter": "^%s$" % tenant_db}, workers=0, max_cron_threads=0
    )
    with srv:
        proc = odoo_harness.run_shell(tenant_db, SETUP % srv.url)
        assert "Traceback" not in proc.stdout, proc.stdout[-3000:]
        targets, blackbox = tmp_path / "targets.json", tmp_path / "blackbox.yml"
        proc = synthetic_targets("-d", tenant_db, "-o", str(targets), "--blackbox", str(blackbox))
        assert proc.returncode == 0, proc.stdout[-3000:]
        groups = json.loads(targets.read_text())
        assert sorted(g["labels"]["check"] for g in groups) == [
            "carrier_status",
            "portal_login",
            "portal_orders",
        ]
        assert {g["labels"]["tenant"] for g in groups} == {tenant_db}
        bb_port, prom_port = odoo_harness.free_port(), odoo_harness.free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(SCRAPE % {"targets": targets, "blackbox": "127.0.0.1:%s" % bb_port})
        daemons = [
            native_stack.blackbox_exporter(blackbox, bb_port, tmp_path),
            native_stack.prometheus(config, prom_port, tmp_path / "data", tmp_path),
        ]
        try:
            for daemon in daemons:
                daemon.wait_ready()
            api = native_stack.PromAPI("http://127.0.0.1:%s" % prom_port)

            def results():
                found = {
                    r["metric"]["check"]: r["value"][1]
                    for r in api.query('probe_success{job="synthetic"}')
                    if r["metric"].get("tenant") == tenant_db
                }
                return found if len(found) == 3 else None

            found = native_stack.wait_for(results, 120, "probe_success of the three checks")
        finally:
            for daemon in daemons:
                daemon.stop()
    assert found == {"portal_login": "1", "portal_orders": "1", "carrier_status": "0"}, found


SCRAPE = """
global:
  scrape_interval: 10s
scrape_configs:
  - job_name: synthetic
    metrics_path: /probe
    file_sd_configs:
      - files: ['%(targets)s']
        refresh_interval: 5s
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [module]
        target_label: __param_module
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: %(blackbox)s
      - regex: module
        action: labeldrop
"""
