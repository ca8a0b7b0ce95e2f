"""``odoo_slo_*`` gauges, produced at scrape time from the cron's snapshots."""

import logging

from . import snapshot
from .core.slo_math import DEFAULT_MIN_EVENTS

_logger = logging.getLogger(__name__)

try:
    from odoo.addons.logistics_observability.core import metrics
except ImportError:  # pragma: no cover - logistics_observability is a dependency
    metrics = None


def _num(value):
    return value is not None and isinstance(value, int | float) and value == value


def collect():
    objective = metrics.Family(
        "odoo_slo_objective_ratio", "gauge", "SLO objective (target share of good events).", ("tenant", "slo")
    )
    min_events = metrics.Family(
        "odoo_slo_min_events",
        "gauge",
        "Events a window needs before its SLO alerts may fire.",
        ("tenant", "slo"),
    )
    remaining = metrics.Family(
        "odoo_slo_error_budget_remaining_ratio",
        "gauge",
        "Share of the rolling-window error budget left (negative when overspent), "
        "from the exact ledger counts.",
        ("tenant", "slo"),
    )
    sli = metrics.Family(
        "odoo_slo_sli_ratio",
        "gauge",
        "SLI (good / total events) over the window, from the exact ledger counts.",
        ("tenant", "slo", "window"),
    )
    burn = metrics.Family(
        "odoo_slo_burn_rate",
        "gauge",
        "Error ratio divided by the error budget over the window.",
        ("tenant", "slo", "window"),
    )
    seen = set()
    for tenant, rows, fresh in snapshot.read_all():
        label = metrics.tenant_label(tenant)
        for row in rows:
            slo = str(row.get("slo") or "")[:128]
            if not slo or (label, slo) in seen:  # overflowed tenants share one label
                continue
            seen.add((label, slo))
            if _num(row.get("objective")):
                objective.add(row["objective"], tenant=label, slo=slo)
            if _num(row.get("min_events")) and (
                metrics.full_detail() or row["min_events"] != DEFAULT_MIN_EVENTS
            ):
                # the generated rules default to DEFAULT_MIN_EVENTS (one series less per SLO)
                min_events.add(row["min_events"], tenant=label, slo=slo)
            if not fresh:
                continue
            if _num(row.get("budget_remaining")):
                remaining.add(row["budget_remaining"], tenant=label, slo=slo)
            if not metrics.full_detail():
                # per window: 16 series per SLO and tenant, which the generated recording rules
                # (tenant_slo:odoo_slo_burn_rate:rate*) compute from the counters anyway
                continue
            if _num(row.get("sli_window")):
                sli.add(row["sli_window"], tenant=label, slo=slo, window=row.get("window") or "28d")
            for window, value in (row.get("sli") or {}).items():
                if _num(value):
                    sli.add(value, tenant=label, slo=slo, window=window)
            for window, value in (row.get("burn_rate") or {}).items():
                if _num(value):
                    burn.add(value, tenant=label, slo=slo, window=window)
    return [objective, min_events, remaining, sli, burn]


def register():
    if metrics is None:
        return
    try:
        metrics.register_collector("slo", collect, timeout=2.0)
    except Exception:  # fail open: no SLO gauges, Odoo runs
        _logger.exception("logistics_slo: cannot register the SLO collector")
