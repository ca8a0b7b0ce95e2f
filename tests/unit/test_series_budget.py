"""The per-tenant series budget (docs/METRICS.md, "Series budget"; core/detail.py).

A busy tenant (``tests/tenant_mix.py``, shared with benchmarks/bench_tenant_scale.py) is recorded
through the core API as Odoo's hooks record it, with the tenant collector's gauges. At the default
detail level it must cost at most 100 series with the SLO gauges of eight SLOs on top; at the full
level it costs several hundred (the opt-in detail is real, not a relabelling).
"""

import pytest
import tenant_mix
from prometheus_client.parser import text_string_to_metric_families

from logistics_observability.core import buckets, crons, detail, exposition, metrics, server_metrics, workflow

TENANT = "acme"
BUDGET = 100
SLOS, SLO_GAUGES, PG, CRONS = tenant_mix.SLOS, tenant_mix.SLO_GAUGES, tenant_mix.PG, tenant_mix.CRONS


@pytest.fixture(autouse=True)
def store(tmp_path):
    metrics.configure(directory=str(tmp_path / "metrics"), hold=0)
    server_metrics._groups.clear()
    yield
    metrics.configure(directory=str(tmp_path / "unused"))


def busy_tenant():
    tenant_mix.busy_tenant(TENANT)


def collector_families():
    return tenant_mix.collector_families([TENANT])


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
