"""The SLO model's segment plans and how their counts make windows, months and days
(``logistics_slo/core/windows.py``), and its month report table (``core/report_html.py``).
Pure Python, no Odoo, no database."""

import datetime
from itertools import pairwise

import pytest

from logistics_slo.core import report_html, slo_math, windows

D = datetime.datetime
NOW = D(2026, 3, 10, 12, 34, 56)
EDGE = D(2026, 3, 10, 12, 35)
HOUR = D(2026, 3, 10, 12, 0)
DEFN = slo_math.normalize({"workflow": "dispatch", "sli_type": "success_ratio", "objective": 0.99})


def counts(good=0, bad=0, workflow="dispatch"):
    c = slo_math.Counts()
    if good:
        c.add(workflow, "success", good)
    if bad:
        c.add(workflow, "failure", bad)
    return c


def _(source, *args, **kwargs):
    return source % (args or kwargs) if (args or kwargs) else source


def test_settled_and_current_hour():
    assert windows.settled_before(NOW) == D(2026, 3, 10, 11, 0)
    assert windows.current_hour(EDGE) == HOUR
    assert windows.current_hour(D(2026, 3, 10, 13, 0)) == HOUR  # an edge on the hour: the hour before


def test_refresh_plan_has_every_burn_window_and_each_slo_window_once():
    segments, membership = windows.refresh_plan(NOW, [28, 7, 28])
    names = [name for name, _s in slo_math.BURN_WINDOWS]
    assert list(membership) == [*names, *[n for n in membership if n.startswith("slo_")]]
    assert {n for n in membership if n.startswith("slo_")} == {"slo_28", "slo_7"}
    for name, seconds in [*slo_math.BURN_WINDOWS, ("slo_28", 28 * 86400), ("slo_7", 7 * 86400)]:
        parts = [segments[i] for i in membership[name]]
        assert parts[0][0] == EDGE - datetime.timedelta(seconds=seconds)
        assert parts[-1][1] == EDGE
        assert all(a[1] == b[0] for a, b in pairwise(parts))  # contiguous


def test_window_counts_merge_their_segments():
    per_segment = [counts(1), counts(2, 1), counts(0, 4)]
    by_window = windows.window_counts({"a": [0, 2], "b": [1], "none": []}, per_segment)
    assert slo_math.good_total(DEFN, by_window["a"]) == (1, 5)
    assert slo_math.good_total(DEFN, by_window["b"]) == (2, 3)
    assert slo_math.good_total(DEFN, by_window["none"]) == (0, 0)
    assert slo_math.good_total(DEFN, per_segment[0]) == (1, 1), "segments are not modified"
    by_window = {name: counts(1) for name, _s in slo_math.BURN_WINDOWS}
    by_window["slo_7"] = own = counts(5)
    got = windows.slo_counts(by_window, 7)
    assert got["slo"] is own
    assert set(got) == {*dict(slo_math.BURN_WINDOWS), "slo"}


def test_month_plan_cuts_each_month_into_settled_hours_and_the_rest():
    bounds, segments = windows.month_plan(D(2026, 2, 10, 12, 34, 56), 3)
    assert bounds == [
        (D(2026, 2, 1), D(2026, 3, 1)),
        (D(2026, 1, 1), D(2026, 2, 1)),
        (D(2025, 12, 1), D(2026, 1, 1)),
    ]
    assert segments[:2] == [
        (D(2026, 2, 1), D(2026, 2, 10, 12), "hourly"),
        (D(2026, 2, 10, 12), D(2026, 2, 10, 12, 35), "minute"),
    ]
    # past months: whole from the rollup, an empty minute segment (never read)
    assert segments[2] == (D(2026, 1, 1), D(2026, 2, 1), "hourly")
    assert segments[3][0] >= segments[3][1]
    assert len(segments) == 6


def test_month_rows_merge_both_segments_of_a_month():
    bounds = [(D(2026, 3, 1), D(2026, 4, 1)), (D(2026, 2, 1), D(2026, 3, 1))]
    rows = windows.month_rows(DEFN, bounds, [counts(90, 5), counts(4, 1), counts(), counts()])
    assert [r["month"] for r in rows] == ["2026-03", "2026-02"]
    assert (rows[0]["total"], rows[0]["bad"], rows[0]["met"]) == (100, 6, False)
    assert rows[0]["budget_consumed"] == pytest.approx(6 / (0.01 * 100))
    assert (rows[1]["total"], rows[1]["met"], rows[1]["budget_consumed"]) == (0, None, 0.0)


def test_daily_plan_one_segment_per_day_then_the_current_hour():
    segments = windows.daily_plan(NOW, 3)
    assert segments == [
        (D(2026, 3, 8), D(2026, 3, 9), "hourly"),
        (D(2026, 3, 9), D(2026, 3, 10), "hourly"),
        (D(2026, 3, 10), HOUR, "hourly"),
        (HOUR, EDGE, "minute"),
    ]
    # just after midnight: today's hourly segment is empty, the minute one carries the hour
    segments = windows.daily_plan(D(2026, 3, 10, 0, 5), 2)
    assert segments[-2:] == [
        (D(2026, 3, 10), D(2026, 3, 10), "hourly"),
        (D(2026, 3, 10), D(2026, 3, 10, 0, 6), "minute"),
    ]


def test_daily_series_burns_the_budget_down_cumulatively():
    segments = windows.daily_plan(NOW, 3)
    got = windows.daily_series(DEFN, segments, [counts(100), counts(), counts(98, 1), counts(0, 1)])
    assert [d["day"] for d in got] == ["03-08", "03-09", "03-10"]
    assert [d["total"] for d in got] == [100, 0, 100]  # the current hour counts in today
    assert [d["sli"] for d in got] == [1.0, None, 0.98]
    assert got[0]["budget_remaining"] == 1.0
    assert got[1]["budget_remaining"] == 1.0
    assert got[2]["budget_remaining"] == pytest.approx(1.0 - 2 / (0.01 * 200))
    assert windows.daily_series(DEFN, segments[-2:], [counts(), counts()])[0]["budget_remaining"] == 1.0


def test_month_table():
    rows = [
        {"month": "2026-03", "total": 100, "bad": 6, "sli": 0.94, "budget_consumed": 6.0, "met": False},
        {"month": "<b>", "total": 0, "bad": 0, "sli": None, "budget_consumed": 0.0, "met": None},
        {"month": "2026-01", "total": 10, "bad": 0, "sli": 1.0, "budget_consumed": 0.0, "met": True},
    ]
    html = str(report_html.month_table(_, rows))
    assert html.startswith("<table class='table table-sm o_slo_month_report'><thead><tr><th>Month</th>")
    assert "<th>Objective</th></tr></thead><tbody>" in html
    assert (
        "<tr><td>2026-03</td><td class='text-end'>100</td><td class='text-end'>6</td>"
        "<td class='text-end'>94.0000 %</td><td class='text-end'>600 %</td>"
        "<td class='text-danger'>missed</td></tr>"
    ) in html
    assert "<td>&lt;b&gt;</td>" in html and "<td class='text-end'>-</td>" in html
    assert "<td class='text-muted'>no data</td>" in html
    assert "<td class='text-success'>met</td>" in html
    assert str(report_html.month_table(_, [])).endswith("<tbody></tbody></table>")
