"""SLO math on known ledgers (pure Python, no Odoo)."""

import datetime
from itertools import pairwise

import pytest

from logistics_slo.core import openslo, slo_math
from logistics_slo.core._deps import buckets

NOW = datetime.datetime(2026, 3, 10, 12, 34, 56)
EDGE = datetime.datetime(2026, 3, 10, 12, 35)
N_DUR = len(buckets.WORKFLOW_DURATION) + 1
N_DELAY = len(buckets.START_DELAY) + 1


def row(minutes_before_edge, workflow, outcome, count, dur=None, delay=None):
    return {
        "minute": EDGE - datetime.timedelta(minutes=minutes_before_edge),
        "workflow": workflow,
        "outcome": outcome,
        "count": count,
        "duration_buckets": dur or [count] + [0] * (N_DUR - 1),
        "start_delay_buckets": delay or [0] * N_DELAY,
    }


def rollup(rows):
    """(minute ledger, hourly rollup of the hours before the current one) as the cron keeps them."""
    current_hour = slo_math.floor_hour(EDGE - datetime.timedelta(seconds=1))
    hourly, minute = {}, []
    for r in rows:
        minute.append(r)
        if r["minute"] >= current_hour:
            continue
        key = (slo_math.floor_hour(r["minute"]), r["workflow"], r["outcome"])
        acc = hourly.setdefault(key, slo_math.Counts())
        acc.add(r["workflow"], r["outcome"], r["count"], r["duration_buckets"], r["start_delay_buckets"])
    out = []
    for (hour, wf, oc), counts in hourly.items():
        count, dur, delay = counts.data[(wf, oc)]
        out.append(
            {
                "hour": hour,
                "workflow": wf,
                "outcome": oc,
                "count": count,
                "duration_buckets": dur,
                "start_delay_buckets": delay,
            }
        )
    return minute, out


def evaluate(defn, rows):
    minute, hourly = rollup(rows)
    return slo_math.evaluate_rows(defn, minute, hourly, NOW)


LEDGER = [
    row(1, "dispatch", "success", 99),
    row(1, "dispatch", "failure", 1),
    row(50, "dispatch", "success", 1),
    row(50, "dispatch", "failure", 9),  # 1h: one busy, one bad minute
    row(100, "dispatch", "success", 400),
    row(26 * 60, "dispatch", "success", 10000),
    row(26 * 60, "dispatch", "failure", 10),
    row(27 * 24 * 60, "dispatch", "success", 500),
    row(29 * 24 * 60, "dispatch", "failure", 10000),  # outside the 28-day window
    row(1, "invoicing", "failure", 1000),
]


def test_success_ratio_is_a_ratio_of_sums():
    st = evaluate({"workflow": "dispatch", "sli_type": "success_ratio", "objective": 0.99}, LEDGER)
    w = st["windows"]
    assert (w["5m"]["good"], w["5m"]["total"]) == (99, 100)
    # ratio of sums: 100/110, not the mean of 0.99 and 0.1
    assert (w["1h"]["good"], w["1h"]["total"]) == (100, 110)
    assert w["1h"]["sli"] == pytest.approx(100 / 110, abs=1e-15)
    assert w["1h"]["burn_rate"] == pytest.approx((10 / 110) / 0.01, rel=1e-12)
    assert (w["2h"]["good"], w["2h"]["total"]) == (500, 510)
    assert (w["1d"]["good"], w["1d"]["total"]) == (500, 510)
    assert (w["3d"]["good"], w["3d"]["total"]) == (10500, 10520)
    assert (st["good"], st["total"]) == (11000, 11020)
    assert st["budget_remaining"] == pytest.approx(1 - 20 / (0.01 * 11020), rel=1e-12)
    # at the 1h burn rate, what is left of the budget lasts remaining * window / burn
    assert st["time_to_exhaustion_hours"] == pytest.approx(
        st["budget_remaining"] * 28 * 24 / ((10 / 110) / 0.01), rel=1e-12
    )
    # 1h burn 9.1 is under 13.44 and the 5m burn is 1: nothing pages, most budget left
    assert st["firing"] == [] and st["status"] == "ok"


def test_status_and_tiers():
    factors = slo_math.tier_factors(28)
    assert factors == {"page_fast": 13.44, "page_slow": 5.6, "ticket_fast": 2.8, "ticket_slow": 0.933333}
    assert slo_math.tier_factors(30) == {
        "page_fast": 14.4,
        "page_slow": 6.0,
        "ticket_fast": 3.0,
        "ticket_slow": 1.0,
    }
    healthy = [row(m, "dispatch", "success", 100) for m in range(1, 200, 7)]
    st = evaluate({"workflow": "dispatch", "sli_type": "success_ratio", "objective": 0.99}, healthy)
    assert st["status"] == "ok" and st["budget_remaining"] == 1.0 and st["time_to_exhaustion_hours"] is None
    few = [row(1, "dispatch", "failure", 3)]
    st = evaluate({"workflow": "dispatch", "sli_type": "success_ratio", "objective": 0.99}, few)
    assert st["status"] == "insufficient" and st["firing"] == []
    st = evaluate({"workflow": "dispatch", "sli_type": "success_ratio", "objective": 0.99}, [])
    assert st["status"] == "no_data" and st["sli"] is None


def test_page_fires_on_fast_burn():
    rows = [row(m, "dispatch", "success", 100) for m in range(1, 60)]
    rows += [row(m, "dispatch", "failure", 100) for m in range(1, 11)]
    st = evaluate({"workflow": "dispatch", "sli_type": "success_ratio", "objective": 0.995}, rows)
    assert "page_fast" in st["firing"] and st["status"] in ("critical", "exhausted")


def test_latency_and_cron_on_time_use_bucket_grid():
    i10 = buckets.WORKFLOW_DURATION.index(10.0)
    dur = [0] * N_DUR
    dur[i10] = 7  # exactly at the threshold: good
    dur[i10 + 1] = 3  # just above: bad
    rows = [row(2, "dispatch", "success", 10, dur=dur)]
    st = evaluate({"workflow": "dispatch", "sli_type": "latency", "threshold": 10, "objective": 0.99}, rows)
    assert (st["windows"]["5m"]["good"], st["windows"]["5m"]["total"]) == (7, 10)
    delay = [0] * N_DELAY
    delay[buckets.START_DELAY.index(300.0)] = 9
    delay[-1] = 1
    rows = [row(2, "cron", "success", 10, delay=delay)]
    st = evaluate({"workflow": "cron", "sli_type": "cron_on_time", "threshold": 300, "objective": 0.99}, rows)
    assert (st["good"], st["total"]) == (9, 10)


@pytest.mark.parametrize(
    "defn, message",
    [
        (
            {"workflow": "dispatch", "sli_type": "latency", "threshold": 7, "objective": 0.99},
            "not a histogram bucket bound",
        ),
        (
            {"workflow": "cron", "sli_type": "cron_on_time", "threshold": 45, "objective": 0.99},
            "grace 45 s of a cron_on_time SLO is not a histogram bucket bound",
        ),
        (
            {"workflow": "dispatch", "sli_type": "success_ratio", "objective": 0.9},
            "can never fire the page_fast alert",
        ),
        (
            {"workflow": "dispatch", "sli_type": "success_ratio", "objective": 0.975, "window_days": 90},
            "can never fire",
        ),
        ({"workflow": "dispatch", "sli_type": "success_ratio", "objective": 1.0}, "strictly between 0 and 1"),
        ({"workflow": "Dispatch!", "sli_type": "success_ratio", "objective": 0.99}, "workflow"),
        ({"workflow": "dispatch", "sli_type": "apdex", "objective": 0.99}, "sli_type"),
    ],
)
def test_bad_definitions_are_refused(defn, message):
    with pytest.raises(slo_math.SloDefinitionError, match=message):
        slo_math.normalize(defn)


def test_segments_cover_windows_exactly():
    windows = dict(slo_math.BURN_WINDOWS, slo=28 * 86400)
    segments, membership = slo_math.plan_segments(EDGE, windows)
    for name, seconds in windows.items():
        segs = [segments[i] for i in membership[name]]
        assert segs[0][0] == EDGE - datetime.timedelta(seconds=seconds)
        assert segs[-1][1] == EDGE
        assert all(a[1] == b[0] for a, b in pairwise(segs))
    minute_span = sum(((b - a).total_seconds() for a, b, src in segments if src == "minute"))
    assert minute_span <= 6 * 3600  # the minute ledger is only read near the window edges
    assert sum(1 for s in segments if s[2] == "hourly") < 20


def test_month_bounds_and_report():
    assert slo_math.month_bounds(2026, 12) == (datetime.datetime(2026, 12, 1), datetime.datetime(2027, 1, 1))
    defn = slo_math.normalize({"workflow": "dispatch", "sli_type": "success_ratio", "objective": 0.99})
    counts = slo_math.Counts()
    counts.add("dispatch", "success", 990)
    counts.add("dispatch", "failure", 10)
    r = slo_math.month_report_row(defn, counts, *slo_math.month_bounds(2026, 2))
    assert r["met"] is True and r["budget_consumed"] == pytest.approx(1.0) and r["month"] == "2026-02"


def test_openslo_documents():
    docs = openslo.slo_documents(
        "acme",
        {
            "workflow": "dispatch",
            "sli_type": "latency",
            "threshold": 10,
            "objective": 0.99,
            "runbook_url": "https://runbooks/x",
        },
    )
    slo = docs[0]
    assert slo["apiVersion"] == "openslo/v1" and slo["kind"] == "SLO"
    assert slo["spec"]["objectives"][0]["target"] == 0.99
    assert slo["spec"]["timeWindow"] == [{"duration": "28d", "isRolling": True}]
    ratio = slo["spec"]["indicator"]["spec"]["ratioMetric"]
    assert 'tenant="acme"' in ratio["good"]["metricSource"]["spec"]["query"]
    assert 'le=~"10(\\\\.0)?"' in ratio["good"]["metricSource"]["spec"]["query"]
    conds = slo["spec"]["alertPolicies"][0]["spec"]["conditions"]
    assert [c["spec"]["condition"]["threshold"] for c in conds] == [13.44, 5.6, 2.8, 0.933333]
