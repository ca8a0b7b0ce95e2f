"""End to end: the first event of every series is seen by Prometheus.

A real prefork Odoo with the hold of new series (here 10 s, ten times the 1 s scrape
interval), scraped by Debian's Prometheus every second with the SLO rules that ``slo_rules``
generates. A counter series born at 1 has no earlier sample, so ``rate()``/``increase()`` would
never see its first increment; each case below drives one first event and requires
``increase()`` and the generated SLO recording rules to see it:

- the first failure of a workflow in a tenant that had only successes;
- the first run (a failure) of a tenant created while the server runs;
- the first failed login, refused ingest call and administrator grant of a tenant, and the
  first server error of a route: the first events of the shipped security and release alerts.

The ledger (the in-app SLO figures) and Prometheus agree on the tenant's SLI.
"""

import shutil
import time

import native_stack
import odoo_harness
import pytest
import requests
from tenant_traffic import ledger_state, make_events, post_events, rpc, slo_rules

pytestmark = [pytest.mark.odoo, pytest.mark.slow]
TAG = "lotest_first"
HOLD = 10  # seconds a new series reads 0: ten 1 s scrapes, a few of which may time out on a busy machine
SLO = "pod_sync_success_ratio"
DEFN = {"workflow": "pod_sync", "sli_type": "success_ratio", "objective": 0.99}

SETUP = """
env["res.users"].create({"name": "Clerk", "login": "clerk", "password": "clerk-password-1"})
env["logistics.slo"].create(
    {"name": "POD success", "workflow": "pod_sync", "sli_type": "success_ratio", "objective": 0.99})
env.cr.commit()
print("SETUP_OK")
"""


def prometheus_config(odoo_port, tmp):
    (tmp / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        "rule_files: [slo.rules.yml]\n"
        "scrape_configs:\n  - job_name: odoo\n    static_configs:\n"
        "      - targets: ['127.0.0.1:%s']\n" % odoo_port
    )
    return tmp / "prometheus.yml"


class Prom(native_stack.PromAPI):
    def value(self, expr):
        result = self.query(expr)
        return float(result[0]["value"][1]) if len(result) == 1 else None

    def seen(self, expr, minimum=0.9, timeout=60):
        """Wait until ``expr`` reaches ``minimum``; its value."""
        last = []

        def check():
            last[:] = [self.query(expr)]
            value = self.value(expr)
            return value is not None and value >= minimum and value

        try:
            return native_stack.wait_for(check, timeout, "%s >= %s" % (expr, minimum))
        except AssertionError as exc:
            raise AssertionError("%s (last answer: %s)" % (exc, last)) from None


def group_id(srv, db, xmlid):
    module, name = xmlid.split(".")
    rows = rpc(
        srv, db, "ir.model.data", "search_read", [["module", "=", module], ["name", "=", name]], ["res_id"]
    )
    return rows[0]["res_id"]


@pytest.mark.skipif(not shutil.which("prometheus"), reason="NOT INSTALLED: prometheus")
def test_first_events_reach_increase_and_the_slo_rules(base_template, tmp_path):
    tag = "%s%d" % (TAG, odoo_harness.series_major())  # concurrent runs of both series never meet
    template = odoo_harness.clone_db(base_template, tag + "_tpl")
    dbs = [template]
    try:
        key = native_stack.api_key(template)
        proc = odoo_harness.run_shell(template, SETUP)
        assert "SETUP_OK" in proc.stdout, proc.stdout[-3000:]
        rules = slo_rules([template])
        tenant = odoo_harness.clone_db(template, tag + "_a")
        dbs.append(tenant)
        (tmp_path / "slo.rules.yml").write_text(rules)
        with odoo_harness.OdooServer(
            workers=2,
            max_cron_threads=0,
            dbfilter="^%d$",
            load="base,web,logistics_observability,logistics_slo",
            options={"observability_ledger_flush_interval": 0.5},
            env={"ODOO_OBSERVABILITY_NEW_SERIES_HOLD": str(HOLD)},
        ) as srv:
            prom_daemon = native_stack.prometheus(
                prometheus_config(srv.http_port, tmp_path),
                odoo_harness.free_port(),
                tmp_path / "data",
                tmp_path,
                extra=("--log.level=warn",),
            ).wait_ready()
            prom = Prom(prom_daemon.ready_url.rsplit("/-/", 1)[0])
            try:
                runs = 'odoo_workflow_runs_total{tenant="%s",workflow="pod_sync",outcome="%s"}'

                # 1. two successes, a pause, then the tenant's first failure
                post_events(srv, tenant, key, make_events(2, 0, 0))
                prom.seen(runs % (tenant, "success"), minimum=2)
                time.sleep(3)
                post_events(srv, tenant, key, make_events(1, 1, 0))
                prom.seen("increase(%s[2m])" % (runs % (tenant, "failure")))
                bad = 'tenant_slo:odoo_slo_bad_events:rate5m{tenant="%s",slo="%s"}' % (tenant, SLO)
                prom.seen(bad, minimum=1e-9)
                # the in-app figures (the ledger) and Prometheus' SLI agree on that failure
                time.sleep(2)
                ledger = ledger_state(tenant, DEFN)["windows"]["30m"]
                assert ledger["total"] == 3
                sli = prom.seen(
                    'tenant_slo:odoo_slo_sli:ratio_rate5m{tenant="%s",slo="%s"}' % (tenant, SLO), 0.1
                )
                assert sli == pytest.approx(ledger["sli"], rel=0.05)

                # 2. a tenant created while the server runs: its first run is a failure
                late = odoo_harness.clone_db(template, tag + "_late")
                dbs.append(late)
                post_events(srv, late, key, make_events(1, 1, 0))
                prom.seen("increase(%s[2m])" % (runs % (late, "failure")))
                prom.seen('tenant_slo:odoo_slo_bad_events:rate5m{tenant="%s",slo="%s"}' % (late, SLO), 1e-9)
                assert (
                    prom.value('tenant_slo:odoo_slo_sli:ratio_rate5m{tenant="%s",slo="%s"}' % (late, SLO))
                    == 0
                )

                # 3. the first event of the shipped security and release alerts, one by one
                host = {"Host": "%s.localhost" % tenant}
                with requests.Session() as web:
                    page = web.get(srv.url + "/web/login", headers=host, timeout=30)
                    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
                    web.post(
                        srv.url + "/web/login",
                        data={"login": "clerk", "password": "wrong", "csrf_token": csrf},
                        headers=host,
                        timeout=30,
                    )
                prom.seen(
                    'increase(odoo_auth_attempts_total{tenant="%s",method="web_login",outcome="failure"}[2m])'
                    % tenant
                )
                refused = requests.post(
                    srv.url + "/logistics_observability/events",
                    json=make_events(1, 0, 0),
                    headers=dict(host, Authorization="Bearer " + "0" * 40),
                    timeout=30,
                )
                assert refused.status_code == 401
                prom.seen('increase(odoo_endpoint_auth_failures_total{endpoint="events",status="401"}[2m])')
                clerk = rpc(srv, tenant, "res.users", "search", [["login", "=", "clerk"]])
                field = odoo_harness.user_groups_field()
                rpc(
                    srv,
                    tenant,
                    "res.users",
                    "write",
                    clerk,
                    {field: [(4, group_id(srv, tenant, "base.group_system"))]},
                )
                prom.seen(
                    'increase(odoo_privilege_changes_total{tenant="%s",change="admin_granted"}[2m])' % tenant
                )
                # an id that is no number: the image route fails unhandled (a server error)
                broken = requests.get(
                    srv.url + "/web/image?model=res.partner&id=abc&field=image_128", headers=host, timeout=30
                )
                assert broken.status_code == 500
                prom.seen('sum(increase(odoo_http_requests_total{tenant="%s",status="5xx"}[2m]))' % tenant)
            finally:
                prom_daemon.stop()
    finally:
        for db in dbs:
            odoo_harness.drop_db(db)
