"""The busy tenant's mix of series, shared by ``tests/unit/test_series_budget.py`` and
``benchmarks/bench_tenant_scale.py``: what one tenant records through the core API as Odoo's
hooks record it, and what the scrape-time collectors report for it (tenant databases, SLOs).

A busy tenant: every built-in workflow with both outcomes, 21 scheduled actions (all late, two
failing), 20 routes with two methods and four status classes, three carriers with four
operations, every authentication method, and the tenant collector's gauges for two backup kinds,
the mail queue and its latest change.
"""

import datetime
import time

from logistics_observability.core import (
    backup_status,
    carrier,
    crons,
    metrics,
    security,
    server_metrics,
    workflow,
)
from logistics_observability.core.collectors import tenant_families

SLOS = 8  # the default SLOs of a tenant with sale, stock, account and delivery
SLO_GAUGES = 2  # objective and budget left per SLO at the default level (logistics_slo/metrics_export.py)
PG = 3  # the PostgreSQL collector's connections, longest transaction and waiting locks of the database
CRONS = ["ir_cron_%d" % i for i in range(21)]
WORKFLOWS = ("order_release", "dispatch", "pod_sync", "invoicing")


def busy_tenant(tenant):
    """Record one busy tenant's traffic in this process's store."""
    for name in WORKFLOWS:
        for outcome, seconds in (("success", 0.4), ("success", 3.0), ("failure", 12.0)):
            workflow.record_run(name, outcome, seconds, tenant=tenant, sql_queries=40, log=False)
    for i, cron in enumerate(CRONS):
        crons.record_cron(tenant, cron, "failure" if i < 2 else "success", 1.5 * i, start_delay=i * 20.0)
    for r in range(20):
        for method in ("GET", "POST"):
            for status in ("200 OK", "303 SEE OTHER", "404 NOT FOUND", "500 INTERNAL SERVER ERROR"):
                server_metrics.request_finished(tenant, "/route/%d" % r, method, status, 0.05, 3, 0.01, False)
    for name in ("dhl", "ups", "fedex"):
        for operation in ("rate", "send", "tracking", "cancel"):
            with carrier.carrier_call(name, operation, tenant=tenant):
                carrier.record_carrier_http("2xx", 0.2)
                carrier.record_carrier_http("5xx", 0.3)
    for method in ("web_login", "rpc_password", "api_key"):
        for outcome in ("success", "failure"):
            security.record_auth(tenant, method, outcome, login="someone")


def tenant_values(now):
    """The tenant collector's values for one busy tenant (core/collectors/tenant_families.py)."""
    start = datetime.datetime.fromtimestamp(now - 3600, datetime.timezone.utc)
    end = start + datetime.timedelta(minutes=10)
    rows = [
        (kind, "success", start, end, 10, True, True, start, end, 10, True, True) for kind in ("full", "wal")
    ]
    return {
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


def collector_families(tenants):
    """The tenant collector's families for ``tenants``, each with the busy tenant's values."""
    now = time.time()
    values = tenant_values(now)
    return tenant_families.build({t: (now, values) for t in tenants})


def slo_families(tenants):
    """The SLO gauges at the default level: objective and budget left of ``SLOS`` SLOs per tenant
    (the families of logistics_slo/metrics_export.py, which needs Odoo to read its snapshots)."""
    objective = metrics.Family(
        "odoo_slo_objective_ratio", "gauge", "SLO objective (target share of good events).", ("tenant", "slo")
    )
    remaining = metrics.Family(
        "odoo_slo_error_budget_remaining_ratio",
        "gauge",
        "Share of the rolling-window error budget left (negative when overspent), "
        "from the exact ledger counts.",
        ("tenant", "slo"),
    )
    for tenant in tenants:
        for i in range(SLOS):
            slo = "slo_%d" % i
            objective.add(0.99, tenant=tenant, slo=slo)
            remaining.add(0.5 + i / 100.0, tenant=tenant, slo=slo)
    return [objective, remaining]
