"""SLO definitions, validation and the math of SLIs, error budgets and burn rates.

Everything here works on exact counts taken from the per-tenant workflow ledger
(``logistics_workflow_ledger``, one row per minute/workflow/outcome). A ratio
over a window is always ``sum(good) / sum(total)``; ratios are never averaged.

Windows end at ``edge`` (the end of the current minute) and are cut into
disjoint *segments*: hour-aligned segments are read from the hourly rollup,
the few short unaligned ones from the minute ledger, so a refresh reads a few
hundred rows whatever the window length.
"""

import math
import re
from datetime import datetime, timedelta
from itertools import pairwise

from . import grids
from ._deps import buckets
from .grids import threshold_grid

SLI_TYPES = ("success_ratio", "latency", "freshness", "cron_on_time")

#: Burn-rate windows reported and exported (label ``window``).
BURN_WINDOWS = (
    ("5m", 300),
    ("30m", 1800),
    ("1h", 3600),
    ("2h", 7200),
    ("6h", 21600),
    ("1d", 86400),
    ("3d", 259200),
)
WINDOW_SECONDS = dict(BURN_WINDOWS)

#: Multiwindow multi-burn-rate tiers (Google SRE workbook, ch. 5), defined by the
#: share of the error budget they detect spent within the long window. For a
#: 30-day SLO window this gives 14.4x, 6x, 3x and 1x; other windows scale.
TIERS = (
    # name, severity, long, short, budget share, `for`
    ("page_fast", "page", "1h", "5m", 0.02, "2m"),
    ("page_slow", "page", "6h", "30m", 0.05, "15m"),
    ("ticket_fast", "ticket", "1d", "2h", 0.10, "1h"),
    ("ticket_slow", "ticket", "3d", "6h", 0.10, "3h"),
)

DEFAULT_WINDOW_DAYS = 28
DEFAULT_MIN_EVENTS = 20
WORKFLOW_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,126}$")

#: Probable dependency to look at first, per workflow (alert annotations).
PROBABLE_DEPENDENCY = {
    "order_release": "PostgreSQL (sale order confirmation, stock reservation locks)",
    "dispatch": "PostgreSQL locks on stock moves / picking validation",
    "pod_sync": "driver app or carrier webhook delivering proofs of delivery",
    "invoicing": "PostgreSQL (account move posting, sequence locks)",
    "carrier_call": "carrier API (outbound HTTP from delivery.carrier)",
    "cron": "cron workers (max_cron_threads) and long-running scheduled actions",
}
DEFAULT_FIRST_ACTION = {
    "order_release": "Check failing sale order confirmations in the Odoo log (tenant, "
    "request_id) and PostgreSQL lock waits.",
    "dispatch": "Check picking validation errors in the Odoo log and PostgreSQL waiting locks.",
    "pod_sync": "Check the driver app / carrier webhook delivery and the events endpoint errors.",
    "invoicing": "Check invoice posting errors in the Odoo log and sequence lock waits.",
    "carrier_call": "Check the carrier's status page and outbound HTTP errors in the Odoo log.",
    "cron": "Check overdue crons (Platform Health > Queue Depth) and cron worker capacity.",
}


class SloDefinitionError(ValueError):
    """A definition that cannot be turned into a meaningful SLO or alert."""


def _fmt_seconds(value):
    value = float(value)
    return ("%d" % value) if value == int(value) else ("%g" % value).replace(".", "p")


def scaled_factor(share, long_seconds, window_days):
    """Burn-rate factor that spends ``share`` of the budget within the long window."""
    return share * window_days * 86400.0 / long_seconds


def tier_factors(window_days=DEFAULT_WINDOW_DAYS):
    """{tier name: factor} for an SLO window; 30 days gives 14.4 / 6 / 3 / 1."""
    return {
        name: round(scaled_factor(share, WINDOW_SECONDS[long], window_days), 6)
        for name, _sev, long, _short, share, _for in TIERS
    }


def slo_key(workflow, sli_type, threshold=None, window_days=DEFAULT_WINDOW_DAYS):
    """The ``slo`` label: determined by what the SLI measures, so every tenant that
    defines the same SLO shares one set of rules while keeping its own objective."""
    parts = [workflow, sli_type]
    if sli_type in ("latency", "freshness", "cron_on_time"):
        parts.append("%ss" % _fmt_seconds(threshold or 0))
    if int(window_days) != DEFAULT_WINDOW_DAYS:
        parts.append("%dd" % int(window_days))
    return "_".join(parts)


def normalize(defn):
    """Validated copy of a definition dict; raises SloDefinitionError naming the field.

    Keys: workflow, sli_type, threshold (seconds; latency/freshness/cron_on_time),
    objective, window_days, min_events; optional name, key, runbook_url,
    first_action, owner.
    """
    d = dict(defn)
    workflow = d.get("workflow") or ""
    if not WORKFLOW_RE.match(workflow):
        raise SloDefinitionError("workflow %r: use lowercase letters, digits and '_'" % workflow)
    sli_type = d.get("sli_type")
    if sli_type not in SLI_TYPES:
        raise SloDefinitionError("sli_type %r: must be one of %s" % (sli_type, ", ".join(SLI_TYPES)))
    if grids.duration_refusal(workflow, sli_type):
        raise SloDefinitionError(grids.duration_refusal(workflow, sli_type))
    grid = threshold_grid(sli_type)
    if grid:
        threshold = d.get("threshold")
        if threshold is None or not any(abs(float(threshold) - b) < 1e-9 for b in grid):
            what = "grace" if sli_type == "cron_on_time" else "threshold"
            raise SloDefinitionError(
                "%s %s s of a %s SLO is not a histogram bucket bound, so Prometheus and the "
                "ledger could not count the same events; use one of: %s"
                % (what, threshold, sli_type, ", ".join("%g" % b for b in grid))
            )
        d["threshold"] = float(threshold)
    else:
        d["threshold"] = None
    try:
        objective = float(d.get("objective"))
    except (TypeError, ValueError):
        raise SloDefinitionError(
            "objective %r: must be a number such as 0.995" % (d.get("objective"),)
        ) from None
    if not 0.0 < objective < 1.0:
        raise SloDefinitionError(
            "objective %s: must be strictly between 0 and 1 " "(e.g. 0.995 for 99.5 %%)" % objective
        )
    d["objective"] = objective
    window_days = int(d.get("window_days") or DEFAULT_WINDOW_DAYS)
    if not 1 <= window_days <= 90:
        raise SloDefinitionError("window_days %s: must be between 1 and 90" % window_days)
    d["window_days"] = window_days
    min_events = int(d.get("min_events") if d.get("min_events") is not None else DEFAULT_MIN_EVENTS)
    if min_events < 1:
        raise SloDefinitionError("min_events %s: must be at least 1" % min_events)
    d["min_events"] = min_events
    budget = 1.0 - objective
    for name, factor in tier_factors(window_days).items():
        if factor * budget >= 1.0:
            raise SloDefinitionError(
                "objective %s with a %d-day window can never fire the %s alert: it needs an "
                "error ratio above %.4g x %.4g = %.3g, but an error ratio cannot exceed 1. "
                "Raise the objective (error budget below %.4g) or lengthen the window."
                % (objective, window_days, name, factor, budget, factor * budget, 1.0 / factor)
            )
    key = slo_key(workflow, sli_type, d["threshold"], window_days)
    if d.get("key") and d["key"] != key:
        raise SloDefinitionError("key %r does not match the definition (expected %r)" % (d["key"], key))
    d["key"] = key
    d.setdefault("name", key)
    d["runbook_url"] = d.get("runbook_url") or ""
    d["first_action"] = d.get("first_action") or DEFAULT_FIRST_ACTION.get(
        workflow, "Check the %s workflow errors in the Odoo log for this tenant." % workflow
    )
    return d


# ---------------------------------------------------------------------------
# counting good / total events in ledger rows


class Counts:
    """Aggregated ledger counts of one segment, per (workflow, outcome)."""

    __slots__ = ("data",)

    def __init__(self):
        # (workflow, outcome) -> [count, duration_buckets list, start_delay_buckets list]
        self.data = {}

    def add(self, workflow, outcome, count, duration_buckets=None, start_delay_buckets=None):
        entry = self.data.setdefault((workflow, outcome), [0, [], []])
        entry[0] += int(count or 0)
        for idx, arr in ((1, duration_buckets), (2, start_delay_buckets)):
            if arr:
                acc = entry[idx]
                if len(acc) < len(arr):
                    acc.extend([0] * (len(arr) - len(acc)))
                for i, v in enumerate(arr):
                    acc[i] += int(v or 0)

    def merge(self, other):
        for (wf, oc), (count, dur, delay) in other.data.items():
            self.add(wf, oc, count, dur, delay)
        return self


def good_total(defn, counts):
    """(good, total) events of an SLO in aggregated counts."""
    wf = defn["workflow"]
    sli = defn["sli_type"]
    good = total = 0
    for (workflow, outcome), (count, dur, delay) in counts.data.items():
        if workflow != wf:
            continue
        if sli == "success_ratio":
            total += count
            if outcome == "success":
                good += count
        elif sli in ("latency", "freshness"):
            # every run with a duration, whatever its outcome: the same events as
            # odoo_workflow_duration_seconds_bucket, which has no outcome label
            idx = buckets.bucket_index(buckets.WORKFLOW_DURATION, defn["threshold"])
            total += sum(dur)
            good += sum(dur[: idx + 1])
        else:  # cron_on_time
            idx = buckets.bucket_index(buckets.START_DELAY, defn["threshold"])
            total += sum(delay)
            good += sum(delay[: idx + 1])
    return good, total


def ratio(good, total):
    return (good / total) if total else None


# ---------------------------------------------------------------------------
# segments: disjoint time ranges whose sums make every window


def floor_minute(ts):
    return ts.replace(second=0, microsecond=0)


def floor_hour(ts):
    return ts.replace(minute=0, second=0, microsecond=0)


def ceil_hour(ts):
    f = floor_hour(ts)
    return f if f == ts else f + timedelta(hours=1)


def window_edge(now):
    """End (exclusive) of every window: the end of the current minute."""
    return floor_minute(now) + timedelta(minutes=1)


def plan_segments(edge, windows):
    """Cut ``[edge - max(window), edge)`` into disjoint segments.

    ``windows``: {name: seconds}. Returns (segments, membership) where segments
    is a list of (start, end, source) with source ``hourly`` for hour-aligned
    ranges before the current hour and ``minute`` otherwise, and membership
    maps each window name to the indexes of the segments it is made of.
    """
    current_hour = floor_hour(edge - timedelta(seconds=1))
    points = {edge, current_hour}
    for seconds in windows.values():
        start = edge - timedelta(seconds=seconds)
        points.add(start)
        if start < current_hour:
            # whole hours in between come from the hourly rollup
            points.add(ceil_hour(start))
            points.add(floor_hour(start))
    earliest = edge - timedelta(seconds=max(windows.values()))
    ordered = sorted(p for p in points if earliest <= p <= edge)
    segments = []
    for a, b in pairwise(ordered):
        aligned = a == floor_hour(a) and b == floor_hour(b) and b <= current_hour
        segments.append((a, b, "hourly" if aligned else "minute"))
    membership = {}
    for name, seconds in windows.items():
        start = edge - timedelta(seconds=seconds)
        membership[name] = [i for i, (a, b, _src) in enumerate(segments) if a >= start and b <= edge]
    return segments, membership


def segment_sums_sql(table, column, segments):
    """SQL (and params) summing ledger rows per segment, workflow and outcome.

    Returns long-format rows ``(segment, workflow, outcome, kind, idx, value)``:
    kind ``c`` is the run count, ``d`` / ``s`` the 1-based element ``idx`` of the
    summed duration / start-delay bucket arrays (element-wise, exact).
    """
    if not re.match(r"^[a-z_][a-z0-9_]*$", table) or not re.match(r"^[a-z_][a-z0-9_]*$", column):
        raise ValueError("bad identifier")
    values = ", ".join(["(%s, %s::timestamp, %s::timestamp)"] * len(segments))
    params = []
    for i, (a, b) in enumerate(segments):
        params.extend([i, a, b])
    # one index range per segment: the short minute segments of a 28-day window
    # must not turn into a scan of the 28 days between them
    ranges = " OR ".join([f"(l.{column} >= %s AND l.{column} < %s)"] * len(segments))
    for a, b in segments:
        params.extend([a, b])
    sql = (
        f"WITH seg(id, s, e) AS (VALUES {values}), "
        "src AS (SELECT seg.id, l.workflow, l.outcome, l.count, l.duration_buckets, l.start_delay_buckets "
        f"FROM {table} l JOIN seg ON l.{column} >= seg.s AND l.{column} < seg.e "
        f"WHERE {ranges}) "
        "SELECT id, workflow, outcome, 'c', 0, sum(count) FROM src GROUP BY 1, 2, 3 "
        "UNION ALL SELECT id, workflow, outcome, 'd', i, sum(v) FROM src, "
        "unnest(duration_buckets) WITH ORDINALITY AS u(v, i) GROUP BY 1, 2, 3, 5 "
        "UNION ALL SELECT id, workflow, outcome, 's', i, sum(v) FROM src, "
        "unnest(start_delay_buckets) WITH ORDINALITY AS u(v, i) GROUP BY 1, 2, 3, 5"
    )
    return sql, params


def counts_from_sum_rows(rows, n_segments, offset=0):
    """Turn ``segment_sums_sql`` rows into a list of Counts (one per segment)."""
    result = [Counts() for _i in range(n_segments)]
    for seg, workflow, outcome, kind, idx, value in rows:
        counts = result[seg - offset] if offset else result[seg]
        entry = counts.data.setdefault((workflow, outcome), [0, [], []])
        if kind == "c":
            entry[0] += int(value or 0)
        else:
            arr = entry[1] if kind == "d" else entry[2]
            pos = int(idx) - 1
            if len(arr) <= pos:
                arr.extend([0] * (pos + 1 - len(arr)))
            arr[pos] += int(value or 0)
    return result


def counts_from_rows(rows, segments):
    """Pure-Python equivalent of the SQL: rows are dicts of the ledger schema
    (``minute`` or ``hour`` as time). Used by tests and tooling."""
    result = [Counts() for _s in segments]
    for row in rows:
        ts = row.get("minute") or row.get("hour")
        for i, (a, b, *_rest) in enumerate(segments):
            if a <= ts < b:
                result[i].add(
                    row["workflow"],
                    row["outcome"],
                    row["count"],
                    row.get("duration_buckets"),
                    row.get("start_delay_buckets"),
                )
                break
    return result


# ---------------------------------------------------------------------------
# evaluation


def burn_rate(good, total, objective):
    """Error ratio divided by the error budget (1 = spending exactly the budget)."""
    if not total:
        return None
    return ((total - good) / total) / (1.0 - objective)


def evaluate(defn, window_counts):
    """SLO state from per-window Counts.

    ``window_counts``: {window name: Counts} with the burn windows (5m ... 3d)
    and ``"slo"`` (the rolling SLO window). Returns a dict ready for storage
    and export.
    """
    objective = defn["objective"]
    budget = 1.0 - objective
    good, total = good_total(defn, window_counts["slo"])
    sli = ratio(good, total)
    allowed = budget * total
    bad = total - good
    remaining = (1.0 - bad / allowed) if total else 1.0
    windows = {}
    for name, _seconds in BURN_WINDOWS:
        g, t = good_total(defn, window_counts[name])
        windows[name] = {"good": g, "total": t, "sli": ratio(g, t), "burn_rate": burn_rate(g, t, objective)}
    factors = tier_factors(defn["window_days"])
    firing = []
    for name, severity, long, short, _share, _for in TIERS:
        lw, sw = windows[long], windows[short]
        if (
            lw["total"] >= defn["min_events"]
            and lw["burn_rate"] is not None
            and sw["burn_rate"] is not None
            and lw["burn_rate"] > factors[name]
            and sw["burn_rate"] > factors[name]
        ):
            firing.append((name, severity))
    burn_1h = windows["1h"]["burn_rate"]
    window_hours = defn["window_days"] * 24.0
    if remaining <= 0:
        tte = 0.0
    elif burn_1h:
        # at the current burn rate the whole budget lasts window/burn; what is left, pro rata
        tte = remaining * window_hours / burn_1h
    else:
        tte = None
    if total == 0:
        status = "no_data"
    elif total < defn["min_events"]:
        status = "insufficient"
    elif remaining <= 0:
        status = "exhausted"
    elif any(sev == "page" for _n, sev in firing):
        status = "critical"
    elif firing or remaining < 0.25:
        status = "warning"
    else:
        status = "ok"
    return {
        "key": defn["key"],
        "objective": objective,
        "good": good,
        "total": total,
        "bad": bad,
        "sli": sli,
        "budget_remaining": remaining,
        "time_to_exhaustion_hours": tte,
        "status": status,
        "windows": windows,
        "firing": [n for n, _s in firing],
        "factors": factors,
    }


def window_specs(defn):
    """{name: seconds} of every window an SLO needs."""
    specs = dict(BURN_WINDOWS)
    specs["slo"] = int(defn["window_days"]) * 86400
    return specs


def evaluate_rows(defn, rows_minute, rows_hourly, now):
    """Evaluate from in-memory ledger rows (minute rows and hourly rollup rows)."""
    defn = normalize(defn)
    edge = window_edge(now)
    specs = window_specs(defn)
    segments, membership = plan_segments(edge, specs)
    minute_segs = [s if s[2] == "minute" else (s[0], s[0], "x") for s in segments]
    hourly_segs = [s if s[2] == "hourly" else (s[0], s[0], "x") for s in segments]
    per_seg = [
        a.merge(b)
        for a, b in zip(
            counts_from_rows(rows_minute, minute_segs),
            counts_from_rows(rows_hourly, hourly_segs),
            strict=False,
        )
    ]
    window_counts = {}
    for name, idxs in membership.items():
        acc = Counts()
        for i in idxs:
            acc.merge(per_seg[i])
        window_counts[name] = acc
    return evaluate(defn, window_counts)


def month_bounds(year, month):
    start = datetime(year, month, 1)
    end = datetime(year + (month == 12), (month % 12) + 1, 1)
    return start, end


def month_report_row(defn, counts, start, end):
    good, total = good_total(defn, counts)
    budget = 1.0 - defn["objective"]
    bad = total - good
    sli = ratio(good, total)
    return {
        "month": start.strftime("%Y-%m"),
        "start": start,
        "end": end,
        "good": good,
        "total": total,
        "bad": bad,
        "sli": sli,
        "objective": defn["objective"],
        "met": None if not total else (sli >= defn["objective"]),
        "budget_consumed": (bad / (budget * total)) if total else 0.0,
    }


def finite(value):
    """None for missing / non-finite numbers (JSON and gauges)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value
