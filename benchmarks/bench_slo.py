"""Cost of the SLO refresh and of the SLO collector.

- ``rollup first``: the first hourly rollup of 28 days of minute ledger
  (6 workflows x 2 outcomes, one row per minute: ~480k rows);
- ``rollup step``: the every-minute rollup (re-aggregates the last hour);
- ``refresh``: SLIs, budgets and burn rates of 8 SLOs over every window
  (7 burn windows + 28 days), as the cron computes them;
- ``collect 200``: the scrape-time collector reading 200 tenant snapshots.

Usage: .venv/bin/python benchmarks/bench_slo.py [--keep]
"""

import argparse
import contextlib
import datetime
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import core_packages  # noqa: E402, F401
import odoo_harness  # noqa: E402

from logistics_observability.core import metrics  # noqa: E402
from logistics_slo import metrics_export, snapshot  # noqa: E402
from logistics_slo.core import ledger_sql, slo_math  # noqa: E402

DB = "lotest_slobench"
WORKFLOWS = ("order_release", "dispatch", "pod_sync", "invoicing", "carrier_call", "cron")
SLOS = [
    {"workflow": "order_release", "sli_type": "success_ratio", "objective": 0.995},
    {"workflow": "order_release", "sli_type": "latency", "threshold": 5, "objective": 0.99},
    {"workflow": "dispatch", "sli_type": "success_ratio", "objective": 0.995},
    {"workflow": "dispatch", "sli_type": "latency", "threshold": 10, "objective": 0.99},
    {"workflow": "pod_sync", "sli_type": "freshness", "threshold": 14400, "objective": 0.95},
    {"workflow": "invoicing", "sli_type": "success_ratio", "objective": 0.995},
    {"workflow": "carrier_call", "sli_type": "success_ratio", "objective": 0.99},
    {"workflow": "cron", "sli_type": "cron_on_time", "threshold": 300, "objective": 0.99},
]


def timed(fn, repeat=1):
    runs = []
    for _i in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return runs


def refresh(cr, now, cache=None):
    defs = [slo_math.normalize(d) for d in SLOS]
    windows = dict(slo_math.BURN_WINDOWS, slo_28=28 * 86400)
    segments, membership = slo_math.plan_segments(slo_math.window_edge(now), windows)
    settled = slo_math.floor_hour(now) - datetime.timedelta(hours=1)
    per_seg = ledger_sql.segment_counts(cr, DB, segments, settled, cache=cache)
    out = []
    for defn in defs:
        wc = {}
        for name, idxs in membership.items():
            acc = slo_math.Counts()
            for i in idxs:
                acc.merge(per_seg[i])
            wc["slo" if name == "slo_28" else name] = acc
        out.append(slo_math.evaluate(defn, wc))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    odoo_harness.drop_db(DB)
    with contextlib.closing(odoo_harness.pg_connect()) as conn, conn.cursor() as cr:
        cr.execute('CREATE DATABASE "%s"' % DB)
    try:
        with contextlib.closing(odoo_harness.pg_connect(DB)) as conn, conn.cursor() as cr:
            cr.execute(ledger_sql.LEDGER_DDL)
            cr.execute(ledger_sql.HOURLY_DDL)
            cr.execute(
                """
                INSERT INTO logistics_workflow_ledger (minute, workflow, outcome, count, duration_buckets,
                                                       start_delay_buckets)
                SELECT m, w, o, CASE o WHEN 'success' THEN 20 ELSE 1 END,
                       array_fill(1::bigint, ARRAY[21]), array_fill(1::bigint, ARRAY[11])
                  FROM generate_series(date_trunc('minute', now() at time zone 'UTC') - interval '28 days',
                                       date_trunc('minute', now() at time zone 'UTC'), interval '1 minute') m,
                       unnest(%s::varchar[]) w, unnest(ARRAY['success', 'failure']) o""",
                (list(WORKFLOWS),),
            )
            cr.execute("ANALYZE")
            cr.execute("SELECT count(*) FROM logistics_workflow_ledger")
            rows = cr.fetchone()[0]
            now = datetime.datetime.utcnow()
            end = slo_math.floor_hour(now)
            first = timed(
                lambda: cr.execute(
                    ledger_sql.ROLLUP_SQL, {"start": end - datetime.timedelta(days=29), "end": end}
                )
            )
            step = timed(
                lambda: cr.execute(
                    ledger_sql.ROLLUP_SQL, {"start": end - datetime.timedelta(hours=1), "end": end}
                ),
                10,
            )
            cold = timed(lambda: refresh(cr, now), 10)
            cache = ledger_sql.SegmentCache()
            ref = timed(lambda: refresh(cr, now, cache), 10)
            states = refresh(cr, now)
        tmp = Path(tempfile.mkdtemp(prefix="lo-slo-bench-"))
        snapshot.directory = lambda: str(tmp)
        metrics_export.metrics = metrics
        for i in range(200):
            (tmp / ("tenant_%03d.json" % i)).write_text(
                json.dumps(
                    {
                        "tenant": "tenant_%03d" % i,
                        "written_at": time.time(),
                        "slos": [
                            {
                                "slo": s["key"],
                                "objective": s["objective"],
                                "min_events": 20,
                                "budget_remaining": s["budget_remaining"],
                                "sli_window": s["sli"],
                                "window": "28d",
                                "sli": {w: v["sli"] for w, v in s["windows"].items()},
                                "burn_rate": {w: v["burn_rate"] for w, v in s["windows"].items()},
                            }
                            for s in states
                        ],
                    }
                )
            )
        coll = timed(metrics_export.collect, 20)
        samples = sum(len(f.samples) for f in metrics_export.collect())
        print("ledger rows            %d" % rows)
        print("rollup first (28 d)    %.0f ms" % (first[0] * 1000))
        print("rollup step (1 h)      p50 %.1f ms" % (statistics.median(step) * 1000))
        print("refresh 8 SLOs, cold   p50 %.1f ms" % (statistics.median(cold) * 1000))
        print(
            "refresh 8 SLOs, cached p50 %.1f ms  max %.1f ms"
            % (statistics.median(ref) * 1000, max(ref) * 1000)
        )
        print(
            "collect 200 tenants    p50 %.1f ms  max %.1f ms  (%d samples)"
            % (statistics.median(coll) * 1000, max(coll) * 1000, samples)
        )
    finally:
        if not args.keep:
            odoo_harness.drop_db(DB)


if __name__ == "__main__":
    main()
