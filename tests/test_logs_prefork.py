"""JSON logs on a real prefork Odoo under hostile requests.

- a 64 KiB request line costs a worker less than 50 ms more than a short one (redaction used to be
  quadratic and ran before truncation: a 16 KiB path stalled a worker for more than 30 s);
- every line written by the workers for those requests is one JSON object;
- started the supported way (``odoo-bin observability-server``), a fresh prefork start logs JSON
  from its very first line: the master's and the gevent process's version banners included.
"""

import json
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


def test_64k_request_line_costs_under_50ms_more(server):
    # the request line is just under http.server's 65536-byte limit
    long_path = "/lo/" + "password=a" * 6540
    assert 64 * 1024 - 512 < len(long_path) < 65536 - 32
    hostile = ["/lo/" + "a" * 65400, long_path, "/lo/" + "token%3D" * 8170]
    short = "/lo/short-path"
    for path in (short, *hostile):
        raw_get(server, path)  # warm both workers' code paths
    # best of 7 of each, up to 3 rounds: on a shared machine Odoo's own handling of a long path
    # varies by tens of ms; a stall in the formatter (the bug: seconds) fails every round
    for _round in range(3):
        base, slow = [], {path: [] for path in hostile}
        for _ in range(7):
            base.append(raw_get(server, short)[0])
            for path in hostile:
                elapsed, status = raw_get(server, path)
                assert status.split()[1] == "404", status
                slow[path].append(elapsed)
        extra = max(min(times) for times in slow.values()) - min(base)
        if extra < 0.050:
            break
    assert extra < 0.050, "a 64 KiB request line costs %.1f ms more (short: %.1f ms)" % (
        extra * 1000,
        min(base) * 1000,
    )
    assert max(max(times) for times in slow.values()) < 2.0, slow

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
