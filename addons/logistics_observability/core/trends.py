"""24 h trends for Platform Health (Odoo-free): hourly runs and failure rate per workflow from
the workflow ledger, and the queue depth from the tenant's own samples.

A trend is 24 hourly points, oldest first, ending with the hour in progress; an hour without
runs has 0 runs and no failure rate (``None``), so a sparkline shows a gap, not a false 0 %.
"""

import datetime

from .ledger import TABLE

HOURS = 24
MAX_WORKFLOWS = 20  # the busiest; the ledger holds a handful plus the synthetic journeys

#: Per workflow and hour since ``start``: runs, failures (``%(start)s`` is the first hour, UTC).
WORKFLOW_HOURLY_SQL = f"""
SELECT workflow,
       floor(extract(epoch FROM minute - %(start)s) / 3600)::int,
       sum(count),
       coalesce(sum(count) FILTER (WHERE outcome = 'failure'), 0)
  FROM {TABLE}
 WHERE minute >= %(start)s
 GROUP BY 1, 2
"""


def window_start(now, hours=HOURS):
    """The first hour of the window ending with ``now``'s hour (naive UTC, truncated)."""
    current = now.replace(minute=0, second=0, microsecond=0)
    return current - datetime.timedelta(hours=hours - 1)


def workflow_trends(rows, hours=HOURS, limit=MAX_WORKFLOWS):
    """:data:`WORKFLOW_HOURLY_SQL` rows -> ``[{"workflow", "runs": [...], "failure_rate": [...],
    "total_runs", "total_failures"}]``, busiest first, at most ``limit``."""
    runs, failures = {}, {}
    for workflow, slot, count, failed in rows:
        if slot is None or not 0 <= slot < hours:
            continue
        runs.setdefault(workflow, [0] * hours)[slot] += int(count or 0)
        failures.setdefault(workflow, [0] * hours)[slot] += int(failed or 0)
    result = []
    for workflow, series in runs.items():
        failed = failures[workflow]
        result.append(
            {
                "workflow": workflow,
                "runs": series,
                "failure_rate": [round(f / r, 4) if r else None for r, f in zip(series, failed, strict=True)],
                "total_runs": sum(series),
                "total_failures": sum(failed),
            }
        )
    result.sort(key=lambda t: (-t["total_runs"], t["workflow"]))
    return result[:limit]


def hourly_max(samples, start, hours=HOURS):
    """``[(when, value)]`` (naive UTC) -> the highest value of each hour since ``start``
    (``None`` for an hour without a sample)."""
    points = [None] * hours
    for when, value in samples:
        slot = int((when - start).total_seconds() // 3600)
        if 0 <= slot < hours and value is not None:
            points[slot] = value if points[slot] is None else max(points[slot], value)
    return points
