"""Scheduled action runs: the per-cron metrics next to the ``cron`` workflow run.

``odoo_cron_runs_total`` and ``odoo_cron_duration_seconds`` are per cron; at the default detail level
(:mod:`.detail`) without ``tenant``, a tenant's crons being its ``cron`` workflow runs and their
start delay (:mod:`.workflow`).
"""

import logging

from . import buckets, metrics, workflow

_logger = logging.getLogger("odoo.addons.logistics_observability.workflow")

CRON_RUNS = metrics.counter(
    "odoo_cron_runs_total",
    "Scheduled action runs by outcome.",
    ("tenant", "cron", "outcome"),
    born_together={"outcome": workflow.OUTCOMES},
    detail_labels=("tenant",),  # a tenant's crons: odoo_workflow_runs_total{workflow="cron"}
)
CRON_DURATION = metrics.histogram(
    "odoo_cron_duration_seconds",
    "Scheduled action run duration.",
    ("tenant", "cron"),
    buckets=buckets.WORKFLOW_DURATION,
    detail_labels=("tenant",),
)


def record_cron(tenant, cron, outcome, duration, start_delay=None, sql_queries=None, reference=None):
    """A scheduled action run: ``cron`` workflow run plus per-cron metrics."""
    if not workflow._enabled:
        return
    label = None
    try:
        label = metrics.tenant_label(tenant)
        CRON_RUNS.labels(tenant=label, cron=cron, outcome=outcome).inc()
        CRON_DURATION.labels(tenant=label, cron=cron).observe(max(0.0, duration))
    except Exception:
        _logger.debug("recording cron run failed", exc_info=True)
    workflow.record_run(
        "cron",
        outcome,
        duration,
        tenant=tenant,
        sql_queries=sql_queries,
        reference=reference or cron,
        start_delay=start_delay,
        extra={"cron": cron},
        label=label,
    )
