"""The per-tenant series budget (docs/METRICS.md, "Series budget"; core/detail.py).

A busy tenant is recorded through the core API as Odoo's hooks record it: every built-in workflow
with both outcomes, 21 scheduled actions (all late, two failing), 20 routes with two methods and
four status classes, three carriers with four operations, every authentication method, and the
tenant collector's gauges for two backup kinds, the mail queue and its latest change. At the default
detail level it must cost at most 100 series with the SLO gauges of eight SLOs on top; at the full
level it costs several hundred (the opt-in detail is real, not a relabelling).
"""

import datetime
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from logistics_observability.core import (
    backup_status,
    buckets,
    carrier,
    crons,
    detail,
    exposition,
    metrics,
    security,
    server_metrics,
    workflow,
)
from logistics_observability.core.collectors import tenant_families

TENANT = "acme"
BUDGET = 100
SLOS = 8  # the default SLOs of a tenant with sale, stock, account and delivery
SLO_GAUGES = 2  # objective and budget left per SLO at the default level (logistics_slo/metrics_export.py)
PG = 3  # the PostgreSQL collector's connections, longest transaction and waiting locks of the database
CRONS = ["ir_cron_%d" % i for i in range(21)]


@pytest.fixture(autouse=True)
def store(tmp_path):
    metrics.configure(directory=str(tmp_path / "metrics"), hold=0)
    server_metrics._groups.clear()
    yield
    metrics.configure(directory=str(tmp_path / "unused"))


def busy_tenant():
    for name in ("order_release", "dispatch", "pod_sync", "invoicing"):
        for outcome, seconds in (("success", 0.4), ("success", 3.0), ("failure", 12.0)):
            workflow.record_run(name, outcome, seconds, tenant=TENANT, sql_queries=40, log=False)
    for i, cron in enumerate(CRONS):
        crons.record_cron(TENANT, cron, "failure" if i < 2 else "success", 1.5 * i, start_delay=i * 20.0)
    for r in range(20):
        for method in ("GET", "POST"):
            for status in ("200 OK", "303 SEE OTHER", "404 NOT FOUND", "500 INTERNAL SERVER ERROR"):
                server_metrics.request_finished(TENANT, "/route/%d" % r, method, status, 0.05, 3, 0.01, False)
    for name in ("dhl", "ups", "fedex"):
        for operation in ("rate", "send", "tracking", "cancel"):
            with carrier.carrier_call(name, operation, tenant=TENANT):
                carrier.record_carrier_http("2xx", 0.2)
                carrier.record_carrier_http("5xx", 0.3)
    for method in ("web_login", "rpc_password", "api_key"):
        for outcome in ("success", "failure"):
            security.record_auth(TENANT, method, outcome, login="someone")


def collector_families():
    now = time.time()
    start = datetime.datetime.fromtimestamp(now - 3600, datetime.timezone.utc)
    end = start + datetime.timedelta(minutes=10)
    rows = [
        (kind, "success", start, end, 10, True, True, start, end, 10, True, True) for kind in ("full", "wal")
    ]
    values = {
        "size": 123456789,
        "crons": [(cron, 900.0 + i, 3 if i < 2 else 0) for i, cron in enumerate(CRONS)],
        "queue": [
            ("root", "pending", 5, 120.0),
            ("root", "done", 1000, None),
            ("root.mail", "pending", 2, 30.0),
            ("root.mail", "started", 1, None),
            ("root.carrier", "failed", 1, None),
        ],
        "mail": [("exception", 2), ("outgoing", 7), ("sent", 4000)],
        "changes": {"modules": [("install", 3), ("upgrade", 5)], "last": ("module", "upgrade", "sale", now)},
        "backup": backup_status.evaluate(rows, (24, 30), now=now),
    }
    return tenant_families.build({TENANT: (now, values)})


def tenant_series():
    metrics.register_collector("tenants_budget_test", collector_families, timeout=5.0)
    try:
        text = exposition.generate(False).decode()
    finally:
        metrics.unregister_collector("tenants_budget_test")
    found = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.labels.get("tenant") == TENANT:
                found[s.name] = found.get(s.name, 0) + 1
    return found


def test_a_busy_tenant_stays_within_the_budget_at_the_default_level():
    busy_tenant()
    found = tenant_series()
    total = sum(found.values()) + SLOS * SLO_GAUGES + PG
    assert total <= BUDGET, (total, sorted(found.items()))
    # what the shipped rules, SLOs and dashboards need is still per tenant
    assert found["odoo_workflow_runs_total"] == 2 * 6  # four workflows, carrier calls, crons
    assert found["odoo_backup_last_status"] == 2 and found["odoo_last_change_timestamp_seconds"] == 1
    # neither cron nor carrier_call: their durations are per cron and per carrier
    assert found["odoo_workflow_duration_seconds_bucket"] == 4 * (len(buckets.WORKFLOW_SLO) + 1)
    assert found["odoo_workflow_start_delay_seconds_bucket"] == len(buckets.START_DELAY_SLO) + 1
    assert found["odoo_queue_jobs"] == 3 and found["odoo_mail_queue"] == 2
    assert found["odoo_auth_attempts_total"] == 6
    assert found["odoo_http_requests_total"] == 4  # one per status class
    assert found["odoo_cron_lateness_seconds"] == 1 and found["odoo_cron_failing"] == 1
    # and the detail that would multiply it is not
    for name in ("odoo_cron_runs_total", "odoo_carrier_requests_total", "odoo_workflow_sql_queries_count"):
        assert name not in found, name


def test_the_full_level_keeps_every_label_per_tenant(full_detail):
    busy_tenant()
    found = tenant_series()
    assert sum(found.values()) > 5 * BUDGET, found
    assert found["odoo_cron_runs_total"] == 2 * len(CRONS)
    assert found["odoo_cron_lateness_seconds"] == len(CRONS)
    assert found["odoo_http_requests_total"] == 20 * 2 * 4
    assert found["odoo_workflow_duration_seconds_bucket"] == 6 * 21  # the fine grid + Inf, cron too


def test_detail_level_is_configured_like_every_key(caplog):
    from logistics_observability.core import config

    assert config.load({}).metrics_detail == "default"
    assert config.load({"observability_metrics_detail": "FULL"}).metrics_detail == "full"
    cfg = config.load({}, environ={"ODOO_OBSERVABILITY_METRICS_DETAIL": "everything"})
    assert cfg.metrics_detail == "default" and "observability_metrics_detail" in cfg.errors
    assert "default, full" in cfg.errors["observability_metrics_detail"]


def test_changing_the_level_rebinds_series_already_used():
    run = workflow.RUNS.labels(tenant=TENANT, workflow="dispatch", outcome="success")
    run.inc()
    cron = crons.CRON_RUNS.labels(tenant=TENANT, cron="c", outcome="success")
    assert cron._values[0] == ""
    detail.configure(detail.FULL)
    try:
        assert crons.CRON_RUNS.labels(tenant=TENANT, cron="c", outcome="success")._values[0] == TENANT
        assert workflow.DURATION.buckets == tuple(float(b) for b in workflow.buckets.WORKFLOW_DURATION)
    finally:
        detail.configure(detail.DEFAULT)
    assert workflow.DURATION.buckets == workflow.buckets.WORKFLOW_SLO


def test_the_slo_grid_is_part_of_the_fine_grids():
    from logistics_observability.core import buckets

    # the ledger counts on the fine grids: Prometheus and the ledger agree at every SLO bound
    assert set(buckets.WORKFLOW_SLO) <= set(buckets.WORKFLOW_DURATION)
    assert set(buckets.START_DELAY_SLO) <= set(buckets.START_DELAY)
