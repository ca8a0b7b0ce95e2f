#!/usr/bin/env python3
"""Benchmark of the per-tenant series budget at instance scale; prints its figures.

For each tenant count: a fresh metrics directory; ``--workers`` forked worker processes (as Odoo's
prefork workers) where every worker serves every tenant with the busy tenant's mix
(``tests/tenant_mix.py``, the mix of ``tests/unit/test_series_budget.py``), recorded through the
core API as Odoo's hooks record it; the scrape-time collectors a real tenant populates (the tenant
collector's families with the same per-tenant values, the SLO gauges of 8 SLOs); then
``--rounds`` scrapes through ``core/exposition.py``. Printed: series in total and per tenant
(parsed from the body; the PostgreSQL collector's 3 series per database are added, as in the unit
test), scrape CPU p50/p95 (process CPU of the scraping process, collector threads included),
body bytes plain and gzip, the store's drops (``odoo_metrics_dropped_series_total``), the slot
files in the metrics directory and a worker's RSS.

Targets (default level): per tenant <= 100 series, 0 drops, scrape CPU p95 <= 100 ms at 2,000
tenants.

    .venv/bin/python benchmarks/bench_tenant_scale.py [--tenants 500,2000] [--workers 4]
        [--rounds 20] [--level default|full] [--json]
"""

import argparse
import gzip
import json
import logging
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import core_packages  # noqa: E402, F401
import tenant_mix  # noqa: E402

from logistics_observability.core import detail, exposition, metrics, server_metrics  # noqa: E402

BUDGET = 100
CPU_TARGET_MS = 100
TENANT_RE = re.compile(rb'[{,]tenant="([^"]+)"')  # tenant="" is no label to Prometheus
DROP_RE = re.compile(rb"^odoo_metrics_dropped_series_total(\{[^}]*\})? (\S+)$", re.M)


def tenant_names(n):
    return ["tenant_%04d" % i for i in range(n)]


def rss_kib(pid="self"):
    with open("/proc/%s/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_workers(tenants, workers):
    """Fork the workers; each records every tenant and reports its CPU time and RSS."""
    pids = []
    for _ in range(workers):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            code = 0
            try:
                before = rss_kib()
                cpu = time.process_time()
                for tenant in tenants:
                    tenant_mix.busy_tenant(tenant)
                out = {"cpu": time.process_time() - cpu, "rss_kib": rss_kib(), "rss_before_kib": before}
                os.write(write, json.dumps(out).encode())
            except BaseException:
                code = 1
                import traceback

                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(write)
        pids.append((pid, read))
    results = []
    for pid, read in pids:
        data = b""
        while chunk := os.read(read, 65536):
            data += chunk
        os.close(read)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            raise SystemExit("a worker failed (status %d)" % status)
        results.append(json.loads(data))
    return results


def slot_files(directory):
    files = apparent = allocated = 0
    for dirpath, _dirs, names in os.walk(directory):
        for name in names:
            st = os.stat(os.path.join(dirpath, name))
            files += 1
            apparent += st.st_size
            allocated += st.st_blocks * 512
    return files, apparent, allocated


def parse(body, n):
    series = tenant_series = 0
    per_tenant = {}
    for line in body.split(b"\n"):
        if not line or line[0] == 35:  # '#'
            continue
        series += 1
        m = TENANT_RE.search(line)
        if m:
            tenant_series += 1
            per_tenant[m.group(1)] = per_tenant.get(m.group(1), 0) + 1
    drops = {}
    for labels, value in DROP_RE.findall(body):
        drops[labels.decode() or "{}"] = float(value)
    counts = sorted(per_tenant.values()) or [0]
    return {
        "series": series,
        "tenant_series": tenant_series,
        "other_series": series - tenant_series,
        "tenants_seen": len(per_tenant),
        "per_tenant_max": counts[-1] + tenant_mix.PG,
        "per_tenant_median": statistics.median(counts) + tenant_mix.PG,
        "drops": drops,
    }


def pct(values, q):
    values = sorted(values)
    return values[max(0, int(round(len(values) * q)) - 1)]


def bench(n, workers, rounds, level):
    tmp = tempfile.mkdtemp(prefix="bench-tenant-scale-")
    tenants = tenant_names(n)
    try:
        detail.configure(level)
        metrics.configure(directory=os.path.join(tmp, "metrics"), max_tenants=n + 10, hold=0)
        server_metrics._groups.clear()
        metrics.wipe()
        start = time.process_time()
        worker_stats = run_workers(tenants, workers)
        metrics.register_collector(
            "bench_tenants", lambda: tenant_mix.collector_families(tenants), timeout=60.0
        )
        metrics.register_collector("bench_slo", lambda: tenant_mix.slo_families(tenants), timeout=60.0)
        try:
            cpu, wall = [], []
            body = b""
            for _ in range(rounds + 1):  # the first scrape warms the caches; not counted
                c0, w0 = time.process_time(), time.perf_counter()
                body = exposition.generate(False)
                cpu.append((time.process_time() - c0) * 1000)
                wall.append((time.perf_counter() - w0) * 1000)
            cpu, wall = cpu[1:], wall[1:]
            c0 = time.process_time()
            packed = gzip.compress(body, exposition.GZIP_LEVEL)
            gzip_ms = (time.process_time() - c0) * 1000
        finally:
            metrics.unregister_collector("bench_tenants")
            metrics.unregister_collector("bench_slo")
        files, apparent, allocated = slot_files(os.path.join(tmp, "metrics"))
        out = {
            "tenants": n,
            "workers": workers,
            "level": level,
            "rounds": rounds,
            "record_cpu_s_per_worker": statistics.mean(w["cpu"] for w in worker_stats),
            "worker_rss_kib": max(w["rss_kib"] for w in worker_stats),
            "worker_rss_growth_kib": max(w["rss_kib"] - w["rss_before_kib"] for w in worker_stats),
            "scrape_cpu_ms_p50": statistics.median(cpu),
            "scrape_cpu_ms_p95": pct(cpu, 0.95),
            "scrape_wall_ms_p50": statistics.median(wall),
            "gzip_cpu_ms": gzip_ms,
            "body_bytes": len(body),
            "body_gzip_bytes": len(packed),
            "slot_files": files,
            "slot_bytes_apparent": apparent,
            "slot_bytes_allocated": allocated,
            "scraper_rss_kib": rss_kib(),
            "setup_cpu_s": time.process_time() - start,
        }
        out.update(parse(body, n))
        return out, body
    finally:
        detail.configure(detail.DEFAULT)
        metrics.configure(directory=tempfile.mkdtemp(prefix="bench-unused-"))
        shutil.rmtree(tmp, ignore_errors=True)


def verdict(ok):
    return "met" if ok else "MISSED"


def show(r):
    mib = 1024.0 * 1024.0
    print(
        "== %d tenants, %d workers, level %s, %d scrapes =="
        % (r["tenants"], r["workers"], r["level"], r["rounds"])
    )
    print("%-44s %12d" % ("series per scrape", r["series"]))
    print("%-44s %12d  (%d tenants seen)" % ("  with a tenant label", r["tenant_series"], r["tenants_seen"]))
    print("%-44s %12d" % ("  without", r["other_series"]))
    line = "%-44s %12d  (median %d; incl. %d PostgreSQL-collector series)" % (
        "series per tenant, max",
        r["per_tenant_max"],
        r["per_tenant_median"],
        tenant_mix.PG,
    )
    if r["level"] == detail.DEFAULT:
        line += "   target <= %d -> %s" % (BUDGET, verdict(r["per_tenant_max"] <= BUDGET))
    print(line)
    target = r["tenants"] >= 2000 and r["level"] == detail.DEFAULT
    line = "%-44s p50 %7.1f ms  p95 %7.1f ms  (wall p50 %.1f ms)" % (
        "scrape CPU (generate, collectors included)",
        r["scrape_cpu_ms_p50"],
        r["scrape_cpu_ms_p95"],
        r["scrape_wall_ms_p50"],
    )
    if target:
        line += "   target p95 <= %d ms -> %s" % (
            CPU_TARGET_MS,
            verdict(r["scrape_cpu_ms_p95"] <= CPU_TARGET_MS),
        )
    print(line)
    print("%-44s %9.1f ms" % ("  + gzip (level %d), CPU" % exposition.GZIP_LEVEL, r["gzip_cpu_ms"]))
    print("%-44s %9.2f MiB, gzip %.2f MiB" % ("body", r["body_bytes"] / mib, r["body_gzip_bytes"] / mib))
    dropped = sum(r["drops"].values())
    print(
        "%-44s %12d   target 0 -> %s  %s" % ("store drops", dropped, verdict(dropped == 0), r["drops"] or "")
    )
    print(
        "%-44s %9.1f MiB allocated (%.0f MiB address space) in %d files, %.1f MiB per worker"
        % (
            "slot files",
            r["slot_bytes_allocated"] / mib,
            r["slot_bytes_apparent"] / mib,
            r["slot_files"],
            r["slot_bytes_allocated"] / mib / max(1, r["workers"]),
        )
    )
    print(
        "%-44s %9.1f MiB (+%.1f MiB while recording; %.2f s CPU to record every tenant)"
        % (
            "worker RSS",
            r["worker_rss_kib"] / 1024.0,
            r["worker_rss_growth_kib"] / 1024.0,
            r["record_cpu_s_per_worker"],
        )
    )
    print("%-44s %9.1f MiB" % ("scraping process RSS", r["scraper_rss_kib"] / 1024.0), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", default="500,2000", help="comma-separated tenant counts")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--level", choices=detail.LEVELS, default=detail.DEFAULT)
    parser.add_argument("--json", action="store_true", help="one JSON object per tenant count")
    parser.add_argument("--save-body", help="write the last body (text format) to this file (%%d: tenants)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the mix's failing crons and logins log a line each
    for n in [int(x) for x in args.tenants.split(",") if x.strip()]:
        result, body = bench(n, args.workers, args.rounds, args.level)
        if args.save_body:
            path = args.save_body % n if "%d" in args.save_body else args.save_body
            Path(path).write_bytes(body)
        if args.json:
            print(json.dumps(result, sort_keys=True), flush=True)
        else:
            show(result)


if __name__ == "__main__":
    main()
