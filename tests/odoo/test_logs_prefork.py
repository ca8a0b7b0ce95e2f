"""JSON logs on a real prefork Odoo under hostile requests.

- a 64 KiB request line costs the server less than 50 ms more CPU than a short one (redaction used to be
  quadratic and ran before truncation: a 16 KiB path stalled a worker for more than 30 s);
- every line written by the workers for those requests is one JSON object;
- started the supported way (``odoo-bin observability_server``), a fresh prefork start logs JSON
  from its very first line: the master's and the gevent process's version banners included.
"""

import json
import os
import socket
import time

import odoo_harness
import pytest
import requests

pytestmark = [pytest.mark.odoo, pytest.mark.timeout(600)]


def raw_get(srv, path, timeout=30.0):
    """Seconds until the whole answer of ``GET path`` arrived, and its status line."""
    host, port = "127.0.0.1", srv.http_port
    request = ("GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n" % (path, host, port)).encode()
    t0 = time.perf_counter()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    elapsed = time.perf_counter() - t0
    return elapsed, b"".join(chunks).split(b"\r\n", 1)[0].decode("latin-1")


@pytest.fixture(scope="module")
def server(odoo_available):
    srv = odoo_harness.OdooServer(options={"observability_log_format": "json"}, workers=2, max_cron_threads=0)
    with srv:
        yield srv


def server_cpu(srv):
    """CPU seconds used so far by every process of the server (master, workers, gevent)."""
    total = 0
    for pid in [srv.proc.pid] + [pid for pid, _args in srv.children()]:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that just ended
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def test_64k_request_line_costs_under_50ms_more(server):
    # the request line is just under http.server's 65536-byte limit
    long_path = "/lo/" + "password=a" * 6540
    assert 64 * 1024 - 512 < len(long_path) < 65536 - 32
    hostile = ["/lo/" + "a" * 65400, long_path, "/lo/" + "token%3D" * 8170]
    short = "/lo/short-path"
    for path in (short, *hostile):
        raw_get(server, path)  # warm both workers' code paths
    # CPU time the server spends per request, not wall time: on a shared machine the wall time of
    # one request varies by tens of ms, while a stall in the formatter (the bug: seconds of CPU
    # per request) shows in every round
    rounds, n = [], 10
    for _round in range(3):
        cpu0 = server_cpu(server)
        for _ in range(n * len(hostile)):
            raw_get(server, short)
        cpu1 = server_cpu(server)
        slowest = 0.0
        for _ in range(n):
            for path in hostile:
                elapsed, status = raw_get(server, path)
                assert status.split()[1] == "404", status
                slowest = max(slowest, elapsed)
        cpu2 = server_cpu(server)
        extra = ((cpu2 - cpu1) - (cpu1 - cpu0)) / (n * len(hostile))
        rounds.append((extra, (cpu1 - cpu0) / (n * len(hostile)), slowest))
        if extra < 0.050:
            break
    extra, short_cpu, slowest = min(rounds)
    assert extra < 0.050, "a 64 KiB request line costs %.1f ms more CPU (short: %.1f ms)" % (
        extra * 1000,
        short_cpu * 1000,
    )
    assert slowest < 2.0, rounds

    time.sleep(0.5)
    records = [json.loads(line) for line in server.log_file.read_text().splitlines() if line.startswith("{")]
    access = [r for r in records if r["logger"] == "werkzeug" and r.get("http.status") == 404]
    assert len(access) >= 20
    assert all(
        len(r["msg"]) <= 4096 and "password=a" not in r.get("http.path", "")[:200]
        for r in access
        if "password" in r["msg"]
    ), access[-1]


def test_first_line_of_a_fresh_prefork_start_is_json(server):
    deadline = time.time() + 90  # the gevent process starts last, and slowly on a busy machine
    while "Evented Service" not in server.log_file.read_text() and time.time() < deadline:
        time.sleep(0.5)
    lines = server.log_file.read_text().splitlines()
    first = json.loads(lines[0])
    assert first["level"] == "INFO" and first["pid"] == server.proc.pid
    records = [json.loads(line) for line in lines]  # every line, not only the first
    banners = {r["pid"] for r in records if r["msg"].startswith("Odoo version ")}
    assert server.proc.pid in banners and len(banners) >= 2, banners  # master and gevent process
    # the addon's hooks are installed too (Odoo skips post_load of an already imported addon)
    assert any(r["msg"].startswith("logistics_observability: metrics directory ") for r in records)
    assert requests.get(server.url + "/metrics", timeout=30).text.count("odoo_worker_processes{") >= 1
    for start_line in ("Using configuration file at ", "addons paths: ", "database: "):
        assert any(r["msg"].startswith(start_line) and r["logger"] == "odoo" for r in records), start_line
