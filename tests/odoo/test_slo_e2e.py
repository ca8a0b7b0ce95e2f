"""End to end: real Prometheus scrapes a real prefork Odoo serving workflow traffic for two
tenants with different objectives, loads the generated rules, and its SLI agrees with the
ledger's SLI for the same window within 1 %."""

import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import odoo_harness
import pytest
import requests
from tenant_traffic import ledger_state, make_events, post_events, refresh_slos, slo_rules

pytestmark = [pytest.mark.odoo, pytest.mark.slow]
TAG = "lotest_sloe2e"
SLO = "pod_sync_success_ratio"
FRESH = "pod_sync_freshness_14400s"

SETUP = """
import datetime
group = env.ref("logistics_observability.group_observability_integration")
user = env["res.users"].create({"name": "Driver app", "login": "driver_app",
                                USER_GROUPS_FIELD: [(6, 0, [env.ref("base.group_user").id, group.id])]})
key = env["res.users.apikeys"].with_user(user).sudo()._generate(
    "rpc", "e2e", datetime.datetime.now() + datetime.timedelta(days=1))
env["logistics.slo"].create([
    {"name": "POD success", "workflow": "pod_sync", "sli_type": "success_ratio", "objective": %(objective)s},
    {"name": "POD within 4 h", "workflow": "pod_sync", "sli_type": "freshness", "threshold": 14400,
     "objective": 0.95},
])
env.cr.commit()
print("APIKEY=" + key)
"""

TRAFFIC = {  # tenant suffix -> (objective, runs, failures, slow proofs (> 4 h))
    "a": (0.99, 400, 12, 30),
    "b": (0.95, 300, 45, 5),
}


class Prometheus:
    def __init__(self, odoo_port, rules):
        self.tmp = Path(tempfile.mkdtemp(prefix="lo-prom-"))
        self.port = odoo_harness.free_port()
        (self.tmp / "rules.yml").write_text(rules)
        (self.tmp / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n  evaluation_interval: 1s\n"
            "rule_files: [rules.yml]\n"
            "scrape_configs:\n  - job_name: odoo\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%s']\n" % odoo_port
        )
        self.proc = subprocess.Popen(
            [
                "prometheus",
                "--config.file=%s" % (self.tmp / "prometheus.yml"),
                "--storage.tsdb.path=%s" % (self.tmp / "data"),
                "--web.listen-address=127.0.0.1:%s" % self.port,
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / "prometheus.log", "w"),
            start_new_session=True,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError("prometheus did not start: %s" % (self.tmp / "prometheus.log").read_text())

    @property
    def url(self):
        return "http://127.0.0.1:%s" % self.port

    def query(self, expr):
        data = requests.get(self.url + "/api/v1/query", params={"query": expr}, timeout=5).json()
        assert data["status"] == "success", data
        return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in data["data"]["result"]}

    def value(self, expr):
        result = self.query(expr)
        return next(iter(result.values())) if len(result) == 1 else None

    def wait_for(self, expr, predicate, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = self.value(expr)
            if value is not None and predicate(value):
                return value
            time.sleep(0.5)
        raise AssertionError("%s not satisfied in %ss (last %s)" % (expr, timeout, self.value(expr)))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.mark.skipif(not shutil.which("prometheus"), reason="prometheus not installed")
def test_prometheus_sli_matches_ledger(base_template):
    dbs, keys = {}, {}
    try:
        for suffix, (objective, *_rest) in TRAFFIC.items():
            db = odoo_harness.clone_db(base_template, "%s_%s" % (TAG, suffix))
            dbs[suffix] = db
            proc = odoo_harness.run_shell(db, SETUP % {"objective": objective})
            assert "APIKEY=" in proc.stdout, proc.stdout[-3000:]
            keys[suffix] = proc.stdout.split("APIKEY=")[1].split()[0]
        rules = slo_rules([dbs["a"], dbs["b"]])
        with odoo_harness.OdooServer(
            workers=2,
            max_cron_threads=1,
            dbfilter="^%d$",
            load="base,web,logistics_observability,logistics_slo",
            options={"observability_ledger_flush_interval": 0.5, "db_name": ",".join(dbs.values())},
        ) as srv:
            prom = Prometheus(srv.http_port, rules)
            try:
                # warm-up: the first increment of a new series is invisible to rate()
                for suffix in TRAFFIC:
                    post_events(srv, dbs[suffix], keys[suffix], make_events(2, 1, 1))
                for db in dbs.values():
                    prom.wait_for('sum(odoo_workflow_runs_total{tenant="%s"})' % db, lambda v: v == 2)
                for suffix, (_obj, *shape) in TRAFFIC.items():
                    post_events(srv, dbs[suffix], keys[suffix], make_events(*shape))
                for suffix, (_obj, runs, *_rest) in TRAFFIC.items():
                    prom.wait_for(
                        'sum(odoo_workflow_runs_total{tenant="%s"})' % dbs[suffix],
                        lambda v, n=runs + 2: v == n,
                    )
                time.sleep(4)  # ledger flush, more scrapes and rule evaluations
                for db in dbs.values():  # what the every-minute cron does, now
                    refresh_slos(srv, db)
                time.sleep(3)

                for suffix, (objective, runs, _failures, _slow) in TRAFFIC.items():
                    db = dbs[suffix]
                    sel = '{tenant="%s",slo="%s"}' % (db, SLO)
                    assert prom.value("odoo_slo_objective_ratio" + sel) == pytest.approx(objective)
                    defn = {"workflow": "pod_sync", "sli_type": "success_ratio", "objective": objective}
                    ledger = ledger_state(db, defn)
                    # every run is in the ledger exactly once
                    assert ledger["windows"]["30m"]["total"] == runs + 2
                    for window in ("5m", "30m", "1h"):
                        prom_sli = prom.value("tenant_slo:odoo_slo_sli:ratio_rate%s%s" % (window, sel))
                        assert prom_sli is not None, window
                        assert prom_sli == pytest.approx(ledger["windows"][window]["sli"], rel=0.01), window
                    # default detail level: the SLI per window is the recording rules' alone (Odoo's
                    # ledger-exact gauges per window are full-level only)
                    assert not prom.query('odoo_slo_sli_ratio{tenant="%s",slo="%s"}' % (db, SLO))
                    assert not prom.query('odoo_slo_burn_rate{tenant="%s",slo="%s"}' % (db, SLO))
                    assert prom.value("odoo_slo_error_budget_remaining_ratio" + sel) is not None
                    # the per-tenant objective is joined into the burn rate
                    burn = prom.value("tenant_slo:odoo_slo_burn_rate:rate5m" + sel)
                    assert burn == pytest.approx(ledger["windows"]["5m"]["burn_rate"], rel=0.05)
                    fresh_defn = {
                        "workflow": "pod_sync",
                        "sli_type": "freshness",
                        "threshold": 14400,
                        "objective": 0.95,
                    }
                    fresh = ledger_state(db, fresh_defn)["windows"]["30m"]["sli"]
                    prom_fresh = prom.value(
                        'tenant_slo:odoo_slo_sli:ratio_rate30m{tenant="%s",slo="%s"}' % (db, FRESH)
                    )
                    assert prom_fresh == pytest.approx(fresh, rel=0.01)
                # same traffic shape, different objectives: tenant b burns slower than its error share
                burn = 'tenant_slo:odoo_slo_burn_rate:rate30m{tenant="%s",slo="%s"}'
                burn_a = prom.value(burn % (dbs["a"], SLO))
                burn_b = prom.value(burn % (dbs["b"], SLO))
                assert burn_a == pytest.approx((13 / 402) / 0.01, rel=0.02)
                assert burn_b == pytest.approx((46 / 302) / 0.05, rel=0.02)
            finally:
                prom.stop()
    finally:
        for db in dbs.values():
            odoo_harness.drop_db(db)
