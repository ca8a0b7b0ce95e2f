#!/usr/bin/env python3
"""Benchmark of the multi-process metric store; prints its figures.

1. cost of one update (counter inc and histogram observe, with labels) against
   plain prometheus_client in the same run, of the per-request group update
   (7 series, one lock) per series, and of one request's whole recording
   (``core/server_metrics.py``) against the previous seven separate updates;
2. ``/metrics`` render latency with 500 tenants and every HTTP series populated
   by 4 worker processes, alone and with 3 concurrent scrapers, before and
   after 1000 worker recycles;
3. CPU time of a real Odoo's server processes (prefork, 2 workers) per HTTP
   request with the module loaded server-wide minus without it (this machine
   is noisy: CPU time, interleaved rounds, one run), and requests per second.

Targets: update <= 1 us; scrape p95 <= 50 ms (also with 3 concurrent scrapers)
and <= 1.2x after the recycles; the suite's CPU time per request <= 50 us. Targets are
judged on CPU time (of the process, or of the scraping thread); wall times are printed
beside them, but on a shared machine they mostly measure the neighbours.

    .venv/bin/python benchmarks/bench_metrics.py [--skip-odoo] [--rounds 6]
"""

import argparse
import http.client
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import core_packages  # noqa: E402, F401
import prometheus_client  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from logistics_observability.core import buckets, exemplars, exposition, metrics, server_metrics  # noqa: E402

RESULTS = []


def report(name, value, unit, target=None, ok=None):
    line = "%-58s %12.3f %s" % (name, value, unit)
    if target:
        line += "   target %s -> %s" % (target, "met" if ok else "MISSED")
    RESULTS.append((name, ok))
    print(line, flush=True)


def bench_updates(n=200000):
    print("== per-update cost (%d updates, best of 5) ==" % n)
    c = metrics.counter("odoo_bench_requests_total", "Bench.", ("tenant", "route", "method", "status"))
    h = metrics.histogram(
        "odoo_bench_duration_seconds", "Bench.", ("route", "method"), buckets=buckets.HTTP_DURATION
    )
    reg = prometheus_client.CollectorRegistry()
    pc = prometheus_client.Counter(
        "bench_requests", "Bench.", ("tenant", "route", "method", "status"), registry=reg
    )
    ph = prometheus_client.Histogram(
        "bench_duration_seconds", "Bench.", ("route", "method"), buckets=buckets.HTTP_DURATION, registry=reg
    )
    cases = [
        (
            "ours: counter.labels(4 labels).inc()",
            lambda: c.labels(tenant="db1", route="/web/login", method="GET", status="2xx").inc(),
        ),
        (
            "prometheus_client: counter.labels(4 labels).inc()",
            lambda: pc.labels(tenant="db1", route="/web/login", method="GET", status="2xx").inc(),
        ),
        (
            "ours: histogram.labels(2 labels).observe()",
            lambda: h.labels(route="/web/login", method="GET").observe(0.042),
        ),
        (
            "prometheus_client: histogram.labels(2 labels).observe()",
            lambda: ph.labels(route="/web/login", method="GET").observe(0.042),
        ),
    ]
    child = c.labels(tenant="db1", route="/web/login", method="GET", status="2xx")
    cases.append(("ours: bound child .inc()", child.inc))
    hchild = h.labels(route="/web/login", method="GET")
    grp = metrics.group([child, hchild, hchild, hchild, child, child, child])
    values = (1.0, 0.042, 12.0, 0.004, 0.042, 0.004, 12.0)
    cases.append(("ours: request group of 7 series, per series (/7)", lambda: grp.record(values)))
    sm = server_metrics

    def seven_updates():
        # the HTTP hook before core/server_metrics.py: one label lookup, lock and check per series
        sm.IN_FLIGHT.inc()
        tenant = metrics.tenant_label("db1")
        route = metrics.route_label("/web/login")
        sm.REQUESTS.labels(tenant, route, "GET", "2xx").inc()
        sm.DURATION.labels(route, "GET").observe(0.042)
        exemplars.observe(sm.DURATION, (route, "GET"), 0.042)
        sm.SQL_QUERIES.labels(route).observe(12)
        sm.SQL_SECONDS.labels(route).observe(0.004)
        sm.TENANT_SECONDS.labels(tenant).inc(0.042)
        sm.TENANT_SQL_SECONDS.labels(tenant).inc(0.004)
        sm.TENANT_SQL_QUERIES.labels(tenant).inc(12)
        sm.IN_FLIGHT.dec()

    def one_request():
        # what the HTTP hook records per request today: the calls compat makes into core
        sm.request_started()
        sm.request_finished("db1", "/web/login", "GET", "200 OK", 0.042, 12, 0.004)

    cases.append(("before: one request as 7 separate updates (old hook)", seven_updates))
    cases.append(("ours: one request's metric recording (whole hook)", one_request))
    pchild = pc.labels(tenant="db1", route="/web/login", method="GET", status="2xx")
    cases.append(("prometheus_client: bound child .inc()", pchild.inc))
    for name, fn in cases:
        fn()
        # CPU time of this process: on a shared machine wall time mostly measures the neighbours
        best = min(timeit.repeat(fn, number=n, repeat=5, timer=time.process_time)) / n * 1e6
        if "(/7)" in name:
            best /= 7
        ours = name.startswith("ours")
        if "old hook" in name:
            before_hook = best
        limit = 50.0 if "whole hook" in name else 1.0
        report(name, best, "us", "<= %g us" % limit if ours else None, best <= limit if ours else None)
        if "whole hook" in name:
            report("  per-request recording, old hook / grouped (same run)", before_hook / best, "x")


def _populate(tenants=500, routes=10, processes=4):
    """Every HTTP series of the instance, written by ``processes`` forked workers."""
    from logistics_observability.core import store

    sm = server_metrics
    req, dur, sqlq, sqls = sm.REQUESTS, sm.DURATION, sm.SQL_QUERIES, sm.SQL_SECONDS
    tsec, tsql, tq = sm.TENANT_SECONDS, sm.TENANT_SQL_SECONDS, sm.TENANT_SQL_QUERIES
    route_names = ["/bench/route/%d" % i for i in range(routes)]
    tenant_names = ["tenant_%03d" % i for i in range(tenants)]

    def work():
        for t in tenant_names:
            for r in route_names:
                for m in ("GET", "POST"):
                    for s in ("2xx", "4xx"):
                        req.labels(t, r, m, s).inc()
            tsec.labels(t).inc(0.1)
            tsql.labels(t).inc(0.01)
            tq.labels(t).inc(10)
        for r in route_names:
            for m in ("GET", "POST"):
                dur.labels(r, m).observe(0.05)
            sqlq.labels(r).observe(12)
            sqls.labels(r).observe(0.004)

    pids = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:
            work()
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    return store, req


def _scrape_latency(n=40, scrapers=1, clock=time.perf_counter):
    """(p50 ms, p95 ms, body size, last body) of ``n`` scrapes by each of ``scrapers`` threads at once
    (the dedicated listener is a threading server; HA Prometheus pairs scrape concurrently).
    ``clock``: wall time, or ``time.thread_time`` for the CPU time each scrape cost its thread."""
    times = []
    bodies = []
    lock = threading.Lock()

    def run():
        for _ in range(n):
            start = clock()
            body = exposition.generate()
            took = (clock() - start) * 1000
            with lock:
                times.append(took)
                bodies[:] = [body]

    threads = [threading.Thread(target=run) for _ in range(scrapers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], len(bodies[0]), bodies[0]


def bench_scrape(recycles=1000):
    print("== /metrics render latency: 500 tenants, all HTTP series ==")
    tmp = tempfile.mkdtemp(prefix="bench-metrics-")
    try:
        metrics.configure(directory=tmp, max_tenants=500, max_routes=200)
        _store, req = _populate()
        # a scraper is a separate process (a worker or the master's listener): cold first scrape
        start = time.perf_counter()
        body = exposition.generate()
        report("first scrape (cold cache)", (time.perf_counter() - start) * 1000, "ms")
        series = body.count(b"\n") - body.count(b"\n#")
        report("series exposed", series, "lines")
        p50, p95, size, _ = _scrape_latency()
        report("scrape p50 before recycles (wall)", p50, "ms")
        report("scrape p95 before recycles (wall)", p95, "ms")
        report("body size", size / 1024, "KiB")
        t50, t95, _size, _body = _scrape_latency(clock=time.thread_time)
        report("scrape CPU time p50", t50, "ms")
        report("scrape CPU time p95", t95, "ms", "<= 50 ms", t95 <= 50)
        c50, c95, _size, _body = _scrape_latency(n=20, scrapers=3)
        report("scrape p50, 3 concurrent scrapers (wall)", c50, "ms")
        report("scrape p95, 3 concurrent scrapers (wall)", c95, "ms")
        c50, c95, _size, _body = _scrape_latency(n=20, scrapers=3, clock=time.thread_time)
        report("scrape CPU time p95, 3 concurrent scrapers", c95, "ms", "<= 50 ms", c95 <= 50)
        start = time.perf_counter()
        for i in range(recycles):
            pid = os.fork()
            if pid == 0:  # a recycled worker: serves a few requests, then exits
                req.labels("tenant_%03d" % (i % 500), "/bench/route/%d" % (i % 10), "GET", "2xx").inc()
                os._exit(0)
            os.waitpid(pid, 0)
        report("%d worker recycles took" % recycles, time.perf_counter() - start, "s")
        slots = len(metrics.get_store().slot_numbers())
        report("slot files after recycles", slots, "slots")
        p50b, p95b, _size, body = _scrape_latency()
        report("scrape p50 after recycles (wall)", p50b, "ms")
        report("scrape p95 after recycles (wall)", p95b, "ms")
        t50b, t95b, _size, _body = _scrape_latency(clock=time.thread_time)
        report("scrape CPU time p95 after recycles", t95b, "ms", "<= 50 ms", t95b <= 50)
        report("CPU time p95 after / before", t95b / t95, "x", "<= 1.2x", t95b / t95 <= 1.2)
        expected = 4 + sum(1 for i in range(recycles) if i % 500 == 0 and i % 10 == 0)
        wanted = {"tenant": "tenant_000", "route": "/bench/route/0", "method": "GET", "status": "2xx"}
        got = next(
            s.value
            for fam in text_string_to_metric_families(body.decode())
            for s in fam.samples
            if s.name == "odoo_http_requests_total" and s.labels == wanted
        )
        report(
            "tenant_000 /bench/route/0 counter (expect %.0f)" % expected, got, "", "exact", got == expected
        )
    finally:
        metrics.configure(directory=tempfile.mkdtemp(prefix="bench-unused-"))
        shutil.rmtree(tmp, ignore_errors=True)


def _hammer(port, seconds, path, threads=4):
    count = [0]
    errors = [0]
    stop = time.time() + seconds

    def loop():
        while time.time() < stop:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    count[0] += 1
                else:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
            finally:
                conn.close()

    ts = [threading.Thread(target=loop) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return count[0] / seconds, errors[0]


def _server_cpu(srv):
    """CPU seconds (user + system) used so far by the server's master and live children."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in [srv.proc.pid] + [p for p, _args in srv.children()]:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def bench_odoo(rounds, seconds, path="/web/health"):
    import odoo_harness

    found, detail = odoo_harness.odoo_status()
    if not found:
        print("== Odoo throughput: SKIPPED (%s) ==" % detail)
        return
    print("== Odoo throughput on %s (prefork, 2 workers, no database), interleaved ==" % path)
    opts = {"dbfilter": "^lotest_bench_nomatch$", "limit_request": 100000, "log_level": "warn"}
    with_mod = odoo_harness.OdooServer(
        workers=2, max_cron_threads=0, options=dict(opts), load="base,web,logistics_observability"
    )
    without = odoo_harness.OdooServer(workers=2, max_cron_threads=0, options=dict(opts), load="base,web")
    try:
        with_mod.start(wait_path="/web/health")
        without.start(wait_path="/web/health")
        for srv in (with_mod, without):  # warm up
            _hammer(srv.http_port, 2, path)
        rates = {"with": [], "without": []}
        cpu = {"with": [], "without": []}
        for i in range(rounds):
            order = [("with", with_mod), ("without", without)]
            if i % 2:
                order.reverse()
            for name, srv in order:
                before = _server_cpu(srv)
                rps, errors = _hammer(srv.http_port, seconds, path)
                used = _server_cpu(srv) - before
                rates[name].append(rps)
                cpu[name].append(used / max(1.0, rps * seconds) * 1e6)
                if errors:
                    print("  %s: %d errors" % (name, errors))
        w = statistics.median(rates["with"])
        wo = statistics.median(rates["without"])
        cw = statistics.median(cpu["with"])
        cwo = statistics.median(cpu["without"])
        report("server CPU per request with module (median of %d)" % rounds, cw, "us")
        report("server CPU per request without module (median of %d)" % rounds, cwo, "us")
        report(
            "the suite's CPU time per HTTP request (with - without)",
            cw - cwo,
            "us",
            "<= 50 us",
            cw - cwo <= 50,
        )
        report("req/s with module loaded (median of %d)" % rounds, w, "req/s")
        report("req/s without module (median of %d)" % rounds, wo, "req/s")
        report("throughput ratio with/without", w / wo, "")
        print("  CPU us/request with:    %s" % ", ".join("%.0f" % r for r in cpu["with"]))
        print("  CPU us/request without: %s" % ", ".join("%.0f" % r for r in cpu["without"]))
    finally:
        for srv in (with_mod, without):
            srv.stop()
            srv.cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-odoo", action="store_true", help="skip the Odoo throughput comparison")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--recycles", type=int, default=1000)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-updates-")
    metrics.configure(directory=tmp)
    try:
        bench_updates()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    bench_scrape(args.recycles)
    if not args.skip_odoo:
        bench_odoo(args.rounds, args.seconds)
    missed = [name for name, ok in RESULTS if ok is False]
    print("== targets missed: %s" % (", ".join(missed) if missed else "none"))


if __name__ == "__main__":
    main()
