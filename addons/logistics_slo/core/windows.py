"""Which ledger segments the SLO model reads, and how their counts make windows, months and
days (pure: datetimes and ``slo_math.Counts`` in and out, no database).

A plan is a list of ``(start, end, source)`` segments (``source`` ``hourly``: the rollup,
``minute``: the minute ledger) that ``ledger_sql.segment_counts`` answers with one
``slo_math.Counts`` per segment, in order.
"""

from datetime import timedelta

from . import slo_math


def settled_before(now):
    """Rolled-up hours before this are settled: the rollup re-aggregates its last hour on every
    run."""
    return slo_math.floor_hour(now) - timedelta(hours=1)


def current_hour(edge):
    return slo_math.floor_hour(edge - timedelta(seconds=1))


# -- the refresh: burn-rate windows and each SLO's own window ------------------------------
def slo_window(days):
    return "slo_%d" % days


def refresh_plan(now, window_days):
    """``(segments, membership)`` for the burn-rate windows and an ``slo_<days>`` window per
    distinct ``window_days``, ending at the end of ``now``'s minute."""
    windows = dict(slo_math.BURN_WINDOWS)
    for days in set(window_days):
        windows[slo_window(days)] = days * 86400
    return slo_math.plan_segments(slo_math.window_edge(now), windows)


def window_counts(membership, per_segment):
    """{window name: Counts} merged from the counts of the segments each window is made of."""
    by_window = {}
    for name, idxs in membership.items():
        acc = slo_math.Counts()
        for i in idxs:
            acc.merge(per_segment[i])
        by_window[name] = acc
    return by_window


def slo_counts(by_window, days):
    """One SLO's counts: each burn-rate window's, and its own window's as ``slo``."""
    counts = {name: by_window[name] for name, _s in slo_math.BURN_WINDOWS}
    counts["slo"] = by_window[slo_window(days)]
    return counts


# -- the month report ------------------------------------------------------------------------
def month_plan(now, months):
    """``(bounds, segments)``: the last ``months`` calendar months (newest first) and, for each,
    its settled hours (hourly) then the rest up to the edge (minute)."""
    edge = slo_math.window_edge(now)
    hour = current_hour(edge)
    year, month = now.year, now.month
    bounds = []
    for _i in range(months):
        bounds.append(slo_math.month_bounds(year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    segments = []
    for start, end in bounds:
        hourly_end = min(end, hour)
        segments.append((start, max(start, hourly_end), "hourly"))
        segments.append((max(start, hour), max(start, min(end, edge)), "minute"))
    return bounds, segments


def month_rows(defn, bounds, counts):
    """``slo_math.month_report_row`` of each month of :func:`month_plan`."""
    rows = []
    for i, (start, end) in enumerate(bounds):
        merged = slo_math.Counts().merge(counts[2 * i]).merge(counts[2 * i + 1])
        rows.append(slo_math.month_report_row(defn, merged, start, end))
    return rows


# -- the charts: one segment per day of the window -------------------------------------------
def daily_plan(now, window_days):
    """One hourly segment per day of the window (the last one ends at the current hour), then
    the current hour from the minute ledger."""
    edge = slo_math.window_edge(now)
    hour = current_hour(edge)
    start_day = (hour - timedelta(days=window_days - 1)).replace(hour=0)
    segments = []
    day = start_day
    while day <= hour:
        end = min(day + timedelta(days=1), hour)
        segments.append((day, max(day, end), "hourly"))
        day += timedelta(days=1)
    segments.append((hour, edge, "minute"))
    return segments


def daily_series(defn, segments, counts):
    """Per day of :func:`daily_plan` (the current hour counted in the last day): ``day``
    (``MM-DD``), ``sli``, ``total`` and the cumulative ``budget_remaining``. Merges the current
    hour into the last day's ``counts`` entry."""
    counts[-2].merge(counts[-1])
    budget = 1.0 - defn["objective"]
    daily, cum_good, cum_total = [], 0, 0
    for (start, _end, _src), cnt in zip(segments[:-1], counts[:-1], strict=False):
        good, total = slo_math.good_total(defn, cnt)
        cum_good += good
        cum_total += total
        remaining = 1.0 - ((cum_total - cum_good) / (budget * cum_total)) if cum_total else 1.0
        daily.append(
            {
                "day": start.strftime("%m-%d"),
                "sli": slo_math.ratio(good, total),
                "total": total,
                "budget_remaining": remaining,
            }
        )
    return daily
