#!/usr/bin/env python3
"""Benchmark of the fleet's ingest (vmagent -> VictoriaMetrics) of 2,000-tenant instances; prints
its figures.

Debian's ``victoria-metrics`` (single node, the flags of ``deploy/fleet/victoria-metrics.args``,
dedup included) and one ``vmagent`` (the flags of ``deploy/fleet/vmagent.args``) run natively on
free local ports in a temporary directory. A local HTTP server answers ``/metrics/<i>`` for K fake
Odoo instances with the same body (gzip, as Odoo answers a scraper that accepts it); vmagent
scrapes them every ``--interval`` seconds, each target with its own ``instance`` label. For each
K, after one interval of warm-up, over ``--window`` seconds: samples per second ingested
(``vm_rows_inserted_total``), vmagent's CPU seconds per second and RSS, VictoriaMetrics' CPU, RSS
and disk bytes per million series (``/proc/<pid>``, the data directory).

The body: ``--body FILE`` (text format, e.g. written by ``bench_tenant_scale.py --save-body``),
else one is built like ``bench_tenant_scale.py --tenants 2000`` builds it.

    .venv/bin/python benchmarks/bench_fleet_ingest.py [--instances 10,100] [--interval 15]
        [--window 60] [--body FILE] [--json]
"""

import argparse
import contextlib
import gzip
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
import native_stack  # noqa: E402
import requests  # noqa: E402

FLEET = ROOT / "deploy" / "fleet"
BINARIES = ("victoria-metrics", "vmagent")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def flags(component, drop=()):
    """The deployment's flags for ``component``, without those the deployment sets per site."""
    out = []
    for line in (FLEET / ("%s.args" % component)).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and line.split("=")[0] not in drop:
            out.append(line)
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def dir_bytes(path):
    total = 0
    for dirpath, _dirs, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def vm_metric(port, name):
    text = requests.get("http://127.0.0.1:%d/metrics" % port, timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def series_count(port):
    resp = requests.get("http://127.0.0.1:%d/api/v1/series/count" % port, timeout=60)
    return int(resp.json()["data"][0])


def serve(body):
    packed = gzip.compress(body, 1)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if not self.path.startswith("/metrics/"):
                self.send_error(404)
                return
            gz = "gzip" in self.headers.get("Accept-Encoding", "")
            data = packed if gz else body
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            if gz:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def scrape_config(path, port, instances, interval):
    targets = "\n".join(
        "      - targets: ['127.0.0.1:%d']\n"
        "        labels: {__metrics_path__: '/metrics/%d', instance: 'odoo-%04d'}" % (port, i, i)
        for i in range(instances)
    )
    path.write_text(
        "global:\n  scrape_interval: %ds\n  scrape_timeout: %ds\n"
        "  external_labels: {environment: bench, region: local, cluster: bench}\n"
        "scrape_configs:\n  - job_name: odoo\n    static_configs:\n%s\n" % (interval, interval, targets)
    )


def series_in(body):
    return sum(1 for line in body.split(b"\n") if line and line[:1] != b"#")


def run(body, instances, interval, window, warmup, tmp):
    vm_port, agent_port = free_port(), free_port()
    server = serve(body)
    cfg = tmp / ("vmagent-%d.yml" % instances)
    scrape_config(cfg, server.server_address[1], instances, interval)
    vm_data = tmp / ("vm-%d" % instances)
    daemons = []
    try:
        vm = native_stack.Daemon(
            "victoria-metrics-%d" % instances,
            [
                "victoria-metrics",
                *flags("victoria-metrics"),
                "-httpListenAddr=127.0.0.1:%d" % vm_port,
                "-storageDataPath=%s" % vm_data,
            ],
            tmp,
            ready_url="http://127.0.0.1:%d/health" % vm_port,
        )
        daemons.append(vm)
        vm.wait_ready()
        agent = native_stack.Daemon(
            "vmagent-%d" % instances,
            [
                "vmagent",
                *flags("vmagent", drop=("-promscrape.config", "-remoteWrite.url")),
                "-promscrape.config=%s" % cfg,
                "-remoteWrite.url=http://127.0.0.1:%d/api/v1/write" % vm_port,
                "-httpListenAddr=127.0.0.1:%d" % agent_port,
                "-remoteWrite.tmpDataPath=%s" % (tmp / ("agent-%d" % instances)),
            ],
            tmp,
            ready_url="http://127.0.0.1:%d/health" % agent_port,
        )
        daemons.append(agent)
        agent.wait_ready()
        # steady state: every series of every target created (creating one costs far more than a
        # sample), measured only then; a machine too slow for K shows as "not steady"
        expected = instances * series_in(body)
        deadline = time.monotonic() + warmup
        created = 0.0
        while time.monotonic() < deadline:
            time.sleep(interval)
            created = vm_metric(vm_port, "vm_new_timeseries_created_total")
            if created >= 0.99 * expected:
                break
        warm_s = warmup - max(0.0, deadline - time.monotonic())
        rows0 = vm_metric(vm_port, "vm_rows_inserted_total")
        vm_cpu0, agent_cpu0, t0 = cpu_seconds(vm.proc.pid), cpu_seconds(agent.proc.pid), time.monotonic()
        vm_rss = agent_rss = 0.0
        while time.monotonic() - t0 < window:
            time.sleep(min(5.0, window))
            vm_rss, agent_rss = max(vm_rss, rss_mib(vm.proc.pid)), max(agent_rss, rss_mib(agent.proc.pid))
        elapsed = time.monotonic() - t0
        rows = vm_metric(vm_port, "vm_rows_inserted_total") - rows0
        vm_cpu = cpu_seconds(vm.proc.pid) - vm_cpu0
        agent_cpu = cpu_seconds(agent.proc.pid) - agent_cpu0
        requests.get("http://127.0.0.1:%d/internal/force_flush" % vm_port, timeout=60)
        series = series_count(vm_port)
        disk = dir_bytes(vm_data)
        return {
            "instances": instances,
            "interval_s": interval,
            "window_s": round(elapsed, 1),
            "series": series,
            "series_expected": expected,
            "steady": created >= 0.99 * expected,
            "warmup_s": round(warm_s, 1),
            "samples_per_s": rows / elapsed,
            "samples_per_s_at_15s": rows / elapsed * interval / 15.0,
            "vmagent_cpu_per_s": agent_cpu / elapsed,
            "vmagent_rss_mib": agent_rss,
            "vm_cpu_per_s": vm_cpu / elapsed,
            "vm_rss_mib": vm_rss,
            "vm_disk_bytes": disk,
            "vm_disk_bytes_per_million_series": disk / max(1, series) * 1e6,
        }
    finally:
        for daemon in reversed(daemons):
            daemon.stop()
        server.shutdown()
        server.server_close()
        shutil.rmtree(vm_data, ignore_errors=True)


def build_body():
    import bench_tenant_scale

    result, body = bench_tenant_scale.bench(2000, 4, 1, "default")
    return body


def show(r):
    print(
        "== %d instances, scraped every %d s, %.0f s window =="
        % (r["instances"], r["interval_s"], r["window_s"])
    )
    print(
        "%-44s %14d  (expected %d; %s after %.0f s)"
        % (
            "series in VictoriaMetrics",
            r["series"],
            r["series_expected"],
            "steady" if r["steady"] else "NOT STEADY: the machine could not keep up",
            r["warmup_s"],
        )
    )
    print(
        "%-44s %14.0f  (%.0f at a 15 s interval)"
        % ("samples/s ingested", r["samples_per_s"], r["samples_per_s_at_15s"])
    )
    print("%-44s %14.2f  RSS %.0f MiB" % ("vmagent CPU s/s", r["vmagent_cpu_per_s"], r["vmagent_rss_mib"]))
    print("%-44s %14.2f  RSS %.0f MiB" % ("VictoriaMetrics CPU s/s", r["vm_cpu_per_s"], r["vm_rss_mib"]))
    print(
        "%-44s %14.1f MiB  (%.1f MiB per million series)"
        % ("VictoriaMetrics disk", r["vm_disk_bytes"] / 2**20, r["vm_disk_bytes_per_million_series"] / 2**20),
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", default="10,100", help="comma-separated instance counts")
    parser.add_argument("--interval", type=int, default=15, help="scrape interval, seconds")
    parser.add_argument("--window", type=int, default=60, help="measuring window, seconds")
    parser.add_argument("--warmup", type=int, default=300, help="at most this long to create every series")
    parser.add_argument("--body", help="a metrics body (text format) to serve")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    missing = [name for name in BINARIES if not shutil.which(name)]
    if missing:
        print("skipped: %s not installed (Debian's victoria-metrics package)" % ", ".join(missing))
        return
    body = Path(args.body).read_bytes() if args.body else build_body()
    print(
        "body: %d series, %.1f MiB (gzip %.2f MiB)"
        % (
            series_in(body),
            len(body) / 2**20,
            len(gzip.compress(body, 1)) / 2**20,
        ),
        flush=True,
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-fleet-ingest-"))
    # Ctrl-C or SIGTERM: the finally blocks stop the daemons and remove the directory
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        for k in [int(x) for x in args.instances.split(",") if x.strip()]:
            result = run(body, k, args.interval, args.window, args.warmup, tmp)
            print(json.dumps(result, sort_keys=True), flush=True) if args.json else show(result)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
