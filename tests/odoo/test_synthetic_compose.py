"""The compose stack's synthetic checks, run natively from the shipped configs.

``deploy/prometheus/prometheus.yml`` (job ``synthetic``) rendered by ``deploy/render_native.py``,
the ``synthetic-targets`` service's command (``odoo-bin synthetic_targets --every``, writing the
targets and the blackbox modules merged into ``deploy/blackbox/blackbox.yml``), Debian's blackbox
exporter started on the written modules and reloaded by the service, and Prometheus. Two tenants:
each check shows as ``probe_success`` with its tenant and check; a check added later is probed
with its new module (the exporter was reloaded); a tenant whose database cannot be read keeps its
targets, so its alerts do not silently resolve.
"""

import json
import subprocess
import time

import native_stack
import odoo_harness
import pytest

pytestmark = [pytest.mark.odoo, pytest.mark.timeout(900)]
TAG = "lotest_syncomp"
EVERY = 5

CHECKS = """
base = %r
Check = env["logistics.synthetic.check"]
Check.search([]).unlink()
for name, text in %r:
    Check.create({"name": name, "url": base + "/health/live", "expected_text": text,
                  "interval": 10, "timeout": 3})
env.cr.commit()
"""


def set_checks(db, url, checks):
    proc = odoo_harness.run_shell(db, CHECKS % (url, checks))
    assert "Traceback" not in proc.stdout, proc.stdout[-3000:]


def allow_connections(db, allowed):
    with odoo_harness.pg_connect() as conn:
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute('ALTER DATABASE "%s" ALLOW_CONNECTIONS %s' % (db, "true" if allowed else "false"))
            if not allowed:
                cr.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))


def test_the_synthetic_targets_service_feeds_the_shipped_job(two_tenants, tmp_path):
    missing = native_stack.missing_binaries(["prometheus", "blackbox-exporter"])
    if missing:
        pytest.skip("NOT INSTALLED: %s (scripts/bootstrap.sh installs them)" % ", ".join(missing))
    a, b = two_tenants
    bb_port, prom_port = odoo_harness.free_port(), odoo_harness.free_port()
    conf = tmp_path / "conf"
    srv = odoo_harness.OdooServer(workers=0, max_cron_threads=0)
    daemons, writer = [], None
    with srv:
        set_checks(a, srv.url, [("portal", '"status"'), ("tracking", "no such text here")])
        set_checks(b, srv.url, [("portal", '"status"')])
        local = "127.0.0.1:%s"
        proc = native_stack.render(
            conf,
            "--drop-job",
            "traefik",
            "--time-scale",
            "15",
            "--address",
            "odoo:9127=" + local % odoo_harness.free_port(),
            "--address",
            "odoo:8069=" + local % srv.http_port,
            "--address",
            "postgres-exporter:9187=" + local % odoo_harness.free_port(),
            "--address",
            "redis-exporter:9121=" + local % odoo_harness.free_port(),
            "--address",
            "blackbox-exporter:9115=" + local % bb_port,
            "--address",
            "alertmanager:9093=" + local % odoo_harness.free_port(),
            "--address",
            "localhost:9090=" + local % prom_port,
        )
        assert proc.returncode == 0, proc.stderr
        out = conf / "synthetic"
        targets, modules = out / "targets.json", out / "blackbox.yml"
        # the compose service's command, with this machine's paths and addresses
        log = open(tmp_path / "synthetic-targets.log", "w")
        writer = subprocess.Popen(
            [
                *odoo_harness.odoo_cmd(),
                "--addons-path=" + odoo_harness.addons_path(),
                "synthetic_targets",
                "--db_host=" + odoo_harness.PG["host"],
                "--db_port=%s" % odoo_harness.PG["port"],
                "--db_user=" + odoo_harness.PG["user"],
                "-d",
                a,
                "-d",
                b,
                "-o",
                str(targets),
                "--blackbox",
                str(modules),
                "--blackbox-base",
                str(conf / "blackbox.yml"),
                "--every",
                str(EVERY),
                "--reload-url",
                "http://127.0.0.1:%s/-/reload" % bb_port,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=odoo_harness.ROOT,
        )

        def written():
            assert writer.poll() is None, (tmp_path / "synthetic-targets.log").read_text()[-3000:]
            return targets.exists() and modules.exists()

        native_stack.wait_for(written, 120, "the first targets and modules")
        shipped = set(json.loads(modules.read_text().split("\n", 1)[1])["modules"])
        assert "http_2xx" in shipped, "the platform's own modules are kept"
        try:
            daemons.append(native_stack.blackbox_exporter(modules, bb_port, tmp_path).wait_ready())
            daemons.append(
                native_stack.prometheus(
                    conf / "prometheus.yml", prom_port, tmp_path / "data", tmp_path
                ).wait_ready()
            )
            api = native_stack.PromAPI("http://127.0.0.1:%s" % prom_port)

            def probes(expected):
                def check():
                    found = {
                        (r["metric"]["tenant"], r["metric"]["check"]): r["value"][1]
                        for r in api.query('probe_success{job="synthetic"}')
                    }
                    return found if set(found) == expected and found != {} else None

                return check

            found = native_stack.wait_for(
                probes({(a, "portal"), (a, "tracking"), (b, "portal")}), 120, "3 probes"
            )
            assert found == {(a, "portal"): "1", (a, "tracking"): "0", (b, "portal"): "1"}, found

            # a new check with a module of its own: probed successfully only if the exporter
            # was reloaded with it (an unknown module fails the probe)
            set_checks(b, srv.url, [("portal", '"status"'), ("status_page", "pass")])
            expected = {(a, "portal"), (a, "tracking"), (b, "portal"), (b, "status_page")}

            def new_probe_passes():
                found = probes(expected)()
                return found if found and found[(b, "status_page")] == "1" else None

            native_stack.wait_for(new_probe_passes, 120, "the new check probed with its module")
            stamp = modules.stat().st_mtime_ns
            time.sleep(EVERY * 2 + 1)
            assert modules.stat().st_mtime_ns == stamp, "unchanged modules rewritten (a needless reload)"

            # tenant a's database cannot be read: its targets stay, the others go on
            allow_connections(a, False)
            try:
                time.sleep(EVERY * 2 + 1)
                kept = {
                    (g["labels"]["tenant"], g["labels"]["check"]) for g in json.loads(targets.read_text())
                }
                assert kept == expected, kept
                text = (tmp_path / "synthetic-targets.log").read_text()
                assert "cannot read %s" % a in text and "its 2 previous targets are kept" in text, text[
                    -3000:
                ]
                assert writer.poll() is None
            finally:
                allow_connections(a, True)
        finally:
            for daemon in daemons:
                daemon.stop()
            writer.terminate()
            writer.wait(30)
            log.close()
