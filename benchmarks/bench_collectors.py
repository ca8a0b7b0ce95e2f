"""Scrape time of the platform collectors with 1, 50 and 200 tenant databases.

Creates ``lotest_bench_<n>`` clones of a database with logistics_observability
installed (real Odoo schema: crons, module list, backup tables), then measures:

- ``refresh``: one full background refresh of every tenant database (what runs
  every ``ttl`` seconds in a thread, ``--workers`` connections at a time);
- ``first scrape``: the very first scrape (waits up to ``first_wait`` for that refresh);
- ``scrape p50/p95/max``: ``metrics.collect()`` with every collector registered
  (PostgreSQL server + cached tenants), as Prometheus would see it.

Usage: .venv/bin/python benchmarks/bench_collectors.py [--sizes 1,50,200] [--workers 4] [--keep]
"""

import argparse
import contextlib
import os
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
from logistics_observability.core.collectors import as_collector, pg, pgconn, tenant  # noqa: E402

PREFIX = "lotest_bench_"


def existing():
    with contextlib.closing(odoo_harness.pg_connect()) as conn, conn.cursor() as cr:
        cr.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",))
        return {r[0] for r in cr.fetchall()}


def ensure_clones(template, count):
    have = existing()
    start = time.monotonic()
    made = 0
    for i in range(count):
        name = "%s%03d" % (PREFIX, i)
        if name not in have:
            odoo_harness.clone_db(template, name)
            made += 1
    return made, time.monotonic() - start


def measure(count, workers, scrapes):
    params = pgconn.conn_params(
        host=odoo_harness.PG["host"], port=odoo_harness.PG["port"], user=odoo_harness.PG["user"]
    )
    wanted = {"%s%03d" % (PREFIX, i) for i in range(count)}
    coll = tenant.TenantCollector(
        params, lambda names: [n for n in names if n in wanted], ttl=3600, workers=workers
    )
    for name in metrics.collectors():
        metrics.unregister_collector(name)
    metrics.register_collector(
        "postgres", lambda: as_collector(pg.collect, params, coll.tenants())(), timeout=0.9
    )
    metrics.register_collector("tenants", as_collector(coll.collect), timeout=0.9)

    start = time.monotonic()
    metrics.collect()
    first = time.monotonic() - start
    coll._thread.join()
    refresh = coll.last_duration
    assert len(coll.data) == count, "found %d of %d tenants" % (len(coll.data), count)

    times = []
    for _ in range(scrapes):
        start = time.monotonic()
        families = metrics.collect()
        times.append(time.monotonic() - start)
    up = {lv[0]: v for f in families if f.name == "odoo_collector_up" for lv, v in f.samples}
    series = sum(len(f.samples) for f in families)
    times.sort()
    return {
        "tenants": count,
        "refresh": refresh,
        "first": first,
        "p50": statistics.median(times),
        "p95": times[int(0.95 * (len(times) - 1))],
        "max": times[-1],
        "series": series,
        "up": up,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,50,200")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--scrapes", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    metrics.configure(directory=tempfile.mkdtemp(prefix="lo-bench-metrics-"))
    template = odoo_harness.template_db(["base", "web", "logistics_observability"], demo=False)
    print("template %s; %d CPU(s); %d refresh worker(s)" % (template, os.cpu_count(), args.workers))
    rows = []
    try:
        for size in sizes:
            made, took = ensure_clones(template, size)
            if made:
                print("created %d databases in %.1fs" % (made, took))
            rows.append(measure(size, args.workers, args.scrapes))
    finally:
        if not args.keep:
            for name in sorted(existing()):
                odoo_harness.drop_db(name)
    print()
    print(
        "%8s %11s %13s %11s %11s %11s %8s  %s"
        % (
            "tenants",
            "refresh s",
            "1st scrape s",
            "scrape p50",
            "scrape p95",
            "scrape max",
            "series",
            "collector_up",
        )
    )
    for r in rows:
        print(
            "%8d %11.3f %13.3f %10.1fms %10.1fms %10.1fms %8d  %s"
            % (
                r["tenants"],
                r["refresh"],
                r["first"],
                r["p50"] * 1000,
                r["p95"] * 1000,
                r["max"] * 1000,
                r["series"],
                ",".join("%s=%d" % kv for kv in sorted(r["up"].items())),
            )
        )


if __name__ == "__main__":
    main()
