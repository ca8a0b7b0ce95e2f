#!/usr/bin/env python3
"""Benchmark of ``/metrics`` exposition with 500 tenants; prints its figures.

The store is filled by 4 forked workers: every HTTP series (bench_metrics' shape: tenants x routes
x 2 methods x 2 statuses, tenant counters, HTTP histograms) plus workflow runs and duration
histograms for 4 workflows per tenant. Then, over the same families:

1. p50/p95 of prometheus_client's encoders (text 0.0.4, OpenMetrics) vs the fast writer that
   ``tests/unit/test_exposition_library.py`` proves byte-identical to them;
2. p50/p95 of a whole answer (store merge + collectors + encoding) and of gzip on top;
3. answer sizes with and without gzip.

Target: a whole answer p95 <= 50 ms. ``--generate-only`` measures just ``exposition.generate()``
(the API older versions also have, for before/after figures).

    .venv/bin/python benchmarks/bench_exposition.py [--tenants 500] [--routes 10] [--runs 30]
"""

import argparse
import gzip
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_metrics  # noqa: E402
import core_packages  # noqa: E402, F401

from logistics_observability.core import buckets, exposition, metrics  # noqa: E402

WORKFLOWS = ("order_release", "dispatch", "pod_sync", "invoicing")


def populate(tenants, routes):
    bench_metrics._populate(tenants=tenants, routes=routes)
    runs = metrics.counter("odoo_workflow_runs_total", "Runs.", ("tenant", "workflow", "outcome"))
    dur = metrics.histogram(
        "odoo_workflow_duration_seconds",
        "Duration.",
        ("tenant", "workflow"),
        buckets=buckets.WORKFLOW_DURATION,
    )
    pid = os.fork()
    if pid == 0:
        for t in range(tenants):
            for w in WORKFLOWS:
                runs.labels("tenant_%03d" % t, w, "success").inc(40)
                runs.labels("tenant_%03d" % t, w, "failure").inc(1)
                dur.labels("tenant_%03d" % t, w).observe(1.5)
        os._exit(0)
    os.waitpid(pid, 0)


def timed(fn, runs):
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], result


def line(name, p50, p95, target=None):
    text = "%-52s p50 %8.1f ms   p95 %8.1f ms" % (name, p50, p95)
    if target:
        text += "   target p95 <= %d ms -> %s" % (target, "met" if p95 <= target else "MISSED")
    print(text, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--routes", type=int, default=10)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-exposition-")
    try:
        metrics.configure(directory=tmp, max_tenants=args.tenants + 10, max_routes=200)
        populate(args.tenants, args.routes)
        body = exposition.generate()
        print(
            "== %d tenants, %d routes: %d lines, %d families =="
            % (args.tenants, args.routes, body.count(b"\n"), body.count(b"# TYPE "))
        )
        if args.generate_only:
            for om in (False, True):
                p50, p95, body = timed(lambda om=om: exposition.generate(om), args.runs)
                line("whole answer, %s" % ("OpenMetrics" if om else "text"), p50, p95, 50)
                print(
                    "%-52s %8.0f KiB, gzip %6.0f KiB"
                    % ("size", len(body) / 1024, len(gzip.compress(body, 6)) / 1024)
                )
            return
        p50, p95, families = timed(exposition.COLLECTOR.families, args.runs)
        line("store merge + collectors (no encoding)", p50, p95)
        for om, kind in ((False, "text 0.0.4"), (True, "OpenMetrics")):
            p50, p95, lib = timed(
                lambda om=om: exposition.library_encode(families, om), max(3, args.runs // 4)
            )
            line("prometheus_client encoder, %s" % kind, p50, p95, 50)
            p50, p95, fast = timed(lambda om=om: exposition.encode(families, om), args.runs)
            line("fast writer, %s" % kind, p50, p95, 50)
            print("%-52s %s" % ("fast writer == library bytes", fast == lib))
        for om, kind in ((False, "text 0.0.4"), (True, "OpenMetrics")):
            p50, p95, body = timed(lambda om=om: exposition.generate(om), args.runs)
            line("whole answer, %s" % kind, p50, p95, 50)
            p50, p95, packed = timed(lambda body=body: gzip.compress(body, exposition.GZIP_LEVEL), args.runs)
            line("  + gzip (level %d)" % exposition.GZIP_LEVEL, p50, p95)
            print(
                "%-52s %8.0f KiB, gzip %6.0f KiB (%.1f%%)"
                % ("  size", len(body) / 1024, len(packed) / 1024, 100.0 * len(packed) / len(body))
            )
    finally:
        metrics.configure(directory=tempfile.mkdtemp(prefix="bench-unused-"))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
