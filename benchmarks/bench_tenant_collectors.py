"""The tenant collector at 500 and 2,000 tenant databases; prints its figures.

Creates ``lobench_t0001``... on the local PostgreSQL, lightweight tenants cloned from one small
template (``tests/tenant_dbs.py``: only the tables and columns the collector reads, a few rows
each), then runs the collector as production does (``compat/collectors.py``: ttl 30 s, 4
workers, a scrape kicks the background refresh when the cache is older than the ttl) and prints:

- ``cycle``: one full refresh of every database (the background thread's work);
- ``peak conns``: the most collector connections open at once (``pg_stat_activity`` sampled
  every few milliseconds during the cycles);
- ``age after``: ``odoo_collector_cache_age_seconds`` right after a cycle, beside ``oldest``:
  how old the oldest value served then really is (read at the start of the cycle);
- ``series``: samples the tenant families hold; ``scrape``: ``/metrics`` with the tenant
  collector registered (formats the cache), p50 and max; ``up``: ``odoo_collector_up``.

The databases are dropped at the end unless ``--keep`` (a later run reuses them).
2,000 databases take about 15 GB and a few minutes to create.

    .venv/bin/python benchmarks/bench_tenant_collectors.py [--tenants 500,2000] [--workers 4]
                                                           [--cycles 3] [--keep] [--drop-only]
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import core_packages  # noqa: E402, F401
import odoo_harness  # noqa: E402
import tenant_dbs  # noqa: E402

from logistics_observability.core import exposition, metrics  # noqa: E402
from logistics_observability.core.collectors import as_collector, pgconn, tenant  # noqa: E402

PREFIX = "lobench_t"
TEMPLATE = "lobench_template"
TTL = 30.0  # compat/collectors.py TENANT_TTL
COLLECTOR_TIMEOUT = 0.9  # compat/collectors.py COLLECTOR_TIMEOUT


def sample(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    pattern = re.escape(name + ("{%s}" % want if want else "")) + r" (\S+)"
    found = re.search(r"(?m)^" + pattern + "$", text)
    return float(found.group(1)) if found else None


def measure(count, workers, cycles, scrapes):
    params = pgconn.conn_params(
        host=odoo_harness.PG["host"], port=odoo_harness.PG["port"], user=odoo_harness.PG["user"]
    )
    wanted = set(tenant_dbs.names(PREFIX, count))
    coll = tenant.TenantCollector(
        params, lambda names: [n for n in names if n in wanted], ttl=TTL, workers=workers
    )
    for name in metrics.collectors():
        metrics.unregister_collector(name)
    metrics.register_collector("tenants", as_collector(coll.collect), timeout=COLLECTOR_TIMEOUT)
    rows = []
    for n in range(cycles):
        if n:
            coll.refreshed_at -= TTL + 1  # stale: the next scrape starts a refresh
        with tenant_dbs.ConnectionSampler(PREFIX) as sampler:
            start = time.monotonic()
            exposition.generate()  # as Prometheus: the scrape kicks the refresh
            coll._thread.join()
            wall = time.monotonic() - start
        text = exposition.generate().decode()
        oldest = time.monotonic() - start
        rows.append(
            {
                "cycle": coll.last_duration,
                "wall": wall,
                "age": sample(text, "odoo_collector_cache_age_seconds", collector="tenants"),
                "oldest": oldest,
                "read": len(coll.data),
                "unread": coll.unread,
                "peak": sampler.peak,
                "samples": sampler.samples,
            }
        )
    if rows[-1]["read"] != count:
        print("  read %d of %d tenants" % (rows[-1]["read"], count))
    times = []
    builds = []
    for _ in range(scrapes):
        start = time.monotonic()
        coll.collect()
        builds.append(time.monotonic() - start)
        start = time.monotonic()
        text = exposition.generate().decode()
        times.append(time.monotonic() - start)
    series = sum(len(f.samples) for f in coll.families())
    return {
        "tenants": count,
        "cycles": rows,
        "peak": max(c["peak"] for c in rows),
        "series": series,
        "build_p50": statistics.median(builds),
        "scrape_p50": statistics.median(times),
        "scrape_max": max(times),
        "up": sample(text, "odoo_collector_up", collector="tenants"),
        "bytes": len(text),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", default="500,2000", help="comma-separated database counts")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--scrapes", type=int, default=10)
    parser.add_argument("--parallel", type=int, default=3, help="connections creating/dropping databases")
    parser.add_argument("--keep", action="store_true", help="keep the databases for a later run")
    parser.add_argument("--drop-only", action="store_true", help="drop the benchmark's databases and exit")
    args = parser.parse_args()
    if args.drop_only:
        dropped = tenant_dbs.drop([*sorted(tenant_dbs.existing(PREFIX)), TEMPLATE], args.parallel)
        print("dropped %d databases" % dropped)
        return
    sizes = [int(s) for s in args.tenants.split(",")]
    metrics.configure(directory=tempfile.mkdtemp(prefix="lo-bench-metrics-"), max_tenants=max([*sizes, 2000]))
    if TEMPLATE not in tenant_dbs.existing(TEMPLATE):
        tenant_dbs.make_template(TEMPLATE)
    print("%d CPU(s); %d refresh worker(s); ttl %.0f s" % (os.cpu_count(), args.workers, TTL))
    results = []
    try:
        for size in sizes:
            start = time.monotonic()
            _names, made = tenant_dbs.create(
                TEMPLATE, PREFIX, size, args.parallel, lambda n: print("  created %d" % n, flush=True)
            )
            if made:
                print("created %d databases in %.0f s" % (made, time.monotonic() - start), flush=True)
            results.append(measure(size, args.workers, args.cycles, args.scrapes))
    finally:
        if not args.keep:
            start = time.monotonic()
            dropped = tenant_dbs.drop([*sorted(tenant_dbs.existing(PREFIX)), TEMPLATE], args.parallel)
            print("dropped %d databases in %.0f s" % (dropped, time.monotonic() - start))
    print()
    head = ("tenants", "cycle s", "cycle max", "peak conns", "age after", "oldest", "series")
    head += ("build p50", "scrape p50", "scrape max", "MB", "up")
    print(("%8s" + " %10s" * (len(head) - 1)) % head)
    for r in results:
        cycles = [c["cycle"] for c in r["cycles"]]
        last = r["cycles"][-1]
        row = (r["tenants"], statistics.median(cycles), max(cycles), r["peak"], last["age"], last["oldest"])
        row += (r["series"], r["build_p50"], r["scrape_p50"], r["scrape_max"], r["bytes"] / 1e6, r["up"])
        print(("%8s" + " %10s" * (len(row) - 1)) % tuple(fmt(v) for v in row))
        for n, c in enumerate(r["cycles"]):
            print(
                "    cycle %d: %s s (scrape to done %s s), %d read, %d unread, age %s s, oldest %s s,"
                " peak %d connections (%d samples)"
                % (
                    n + 1,
                    fmt(c["cycle"]),
                    fmt(c["wall"]),
                    c["read"],
                    c["unread"],
                    fmt(c["age"]),
                    fmt(c["oldest"]),
                    c["peak"],
                    c["samples"],
                )
            )


def fmt(value):
    """A figure for the table: '-' when the scrape did not have it (the collector timed out)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return "%.3f" % value if value < 10 else "%.1f" % value
    return str(value)


if __name__ == "__main__":
    main()
