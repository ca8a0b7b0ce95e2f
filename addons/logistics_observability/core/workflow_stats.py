"""Workflow run statistics from the ledger's bucket counts (Odoo-free)."""

from . import buckets
from .ledger import TABLE

#: Per workflow over a window: runs, failures, summed duration buckets (success and failure).
SUMMARY_SQL = f"""
SELECT workflow,
       sum(count),
       sum(count) FILTER (WHERE outcome = 'failure'),
       sum(duration_sum),
       array_agg(duration_buckets)
  FROM {TABLE}
 WHERE minute >= %s
 GROUP BY workflow
 ORDER BY workflow
"""


N_BUCKETS = len(buckets.WORKFLOW_DURATION) + 1


def sum_buckets(arrays, size=N_BUCKETS):
    total = [0] * size
    for arr in arrays or ():
        for i, value in enumerate((arr or ())[:size]):
            total[i] += value or 0
    return total


def quantile(q, counts, bounds=buckets.WORKFLOW_DURATION):
    """Prometheus ``histogram_quantile`` on non-cumulative ``counts`` (last one is +Inf).

    Linear interpolation inside the bucket; a quantile in the +Inf bucket
    returns the highest finite bound. ``None`` without observations.
    """
    total = sum(counts)
    if total <= 0:
        return None
    rank = q * total
    seen = 0.0
    for i, count in enumerate(counts):
        if seen + count >= rank and count > 0:
            if i >= len(bounds):
                return float(bounds[-1])
            lower = 0.0 if i == 0 else float(bounds[i - 1])
            return lower + (float(bounds[i]) - lower) * ((rank - seen) / count)
        seen += count
    return float(bounds[-1])


def summarize(rows):
    """:data:`SUMMARY_SQL` rows -> list of dicts (workflow, runs, failures, failure_rate, p95, avg)."""
    result = []
    for workflow, runs, failures, duration_sum, arrays in rows:
        runs, failures = int(runs or 0), int(failures or 0)
        result.append(
            {
                "workflow": workflow,
                "runs": runs,
                "failures": failures,
                "failure_rate": (failures / runs) if runs else 0.0,
                "p95_seconds": quantile(0.95, sum_buckets(arrays)),
                "avg_seconds": (float(duration_sum or 0) / runs) if runs else None,
            }
        )
    return result
