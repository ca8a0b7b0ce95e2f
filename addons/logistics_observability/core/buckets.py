"""Fixed histogram bucket bounds shared by metrics, the workflow ledger and SLOs.

An SLO latency threshold must be one of these bounds, so Prometheus
(``_bucket{le=...}``) and the PostgreSQL ledger count exactly the same events.
Changing a tuple changes stored series: append, never renumber.
"""

#: HTTP request duration (seconds).
HTTP_DURATION = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

#: Business workflow duration (seconds). pod_sync measures dispatch-to-proof
#: lag, so the grid reaches one day.
WORKFLOW_DURATION = (
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    900.0,
    1800.0,
    3600.0,
    7200.0,
    14400.0,
    28800.0,
    86400.0,
)

#: Delay between when a job was due and when it started (cron_on_time SLOs).
START_DELAY = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

#: The SLO grids: the bounds a tenant's workflow duration and start delay histograms keep at
#: the default detail level (core/detail.py), and the only thresholds an SLO may use, so that
#: the generated rules find their bucket at either level. Each is part of the fine grid above
#: (the ledger counts on the fine grid: both count the same events at every SLO bound).
WORKFLOW_SLO = (1.0, 5.0, 10.0, 14400.0)
START_DELAY_SLO = (60.0, 300.0, 1800.0)

#: Workflows without a per-tenant duration histogram at the default detail level (the series
#: budget), so no latency SLO either: a tenant's scheduled actions are held to their start delay
#: (cron_on_time), their durations, one action's unlike another's, are odoo_cron_duration_seconds
#: per cron; a carrier call's duration is the carrier's, odoo_carrier_request_duration_seconds.
NO_TENANT_DURATION = frozenset(("cron", "carrier_call"))

#: SQL queries per request / workflow run.
SQL_QUERIES = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000)

#: SQL time per request (seconds).
SQL_SECONDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

#: Outbound carrier HTTP calls (seconds).
CARRIER_DURATION = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


def bucket_index(bounds, value):
    """Index of the first bucket whose upper bound is >= value (len(bounds) = +Inf)."""
    for i, bound in enumerate(bounds):
        if value <= bound:
            return i
    return len(bounds)
