"""Which thresholds an SLO may use: the SLO grids of the histograms Prometheus keeps per tenant."""

from ._deps import buckets

# no per-tenant duration histogram for these at the default detail level (core/buckets.py)
_NO_DURATION = "workflow %s: no %s SLO, its durations are not kept per tenant; use %s"
_INSTEAD = {
    "cron": "cron_on_time (the start delay; one action's duration says nothing of another's)",
    "carrier_call": "success_ratio (a carrier call's duration is the carrier's: "
    "odoo_carrier_request_duration_seconds)",
}


def threshold_grid(sli_type):
    """The histogram bucket bounds a threshold of this SLI type must sit on."""
    if sli_type in ("latency", "freshness"):
        return buckets.WORKFLOW_SLO
    if sli_type == "cron_on_time":
        return buckets.START_DELAY_SLO
    return ()


def duration_refusal(workflow, sli_type):
    """Why a latency or freshness SLO cannot be had on ``workflow``, or None."""
    if workflow in buckets.NO_TENANT_DURATION and sli_type in ("latency", "freshness"):
        return _NO_DURATION % (workflow, sli_type, _INSTEAD.get(workflow, "success_ratio"))
    return None
