"""End to end: a real prefork Odoo (2 HTTP workers, a cron worker, the gevent process).

- exact request counts per tenant survive worker recycling (tiny ``limit_request``)
  and a worker SIGKILLed in the middle of a request;
- the ``/metrics`` auth matrix on the main port and the dedicated metrics port;
- the dedicated port answers while every HTTP worker is held by slow clients;
- a broken metrics store never fails a request.
"""

import contextlib
import os
import signal
import socket
import threading
import time

import odoo_harness
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from logistics_observability.core import instance

pytestmark = [pytest.mark.odoo, pytest.mark.slow]
TAG = "lotest_m4e"


def parse(text):
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def sample(scraped, name, **labels):
    return scraped.get((name, tuple(sorted(labels.items()))))


def non_loopback_ip():
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # no packet is sent; picks the outgoing interface
        ip = s.getsockname()[0]
        if not ip.startswith("127."):
            return ip
    return None


@pytest.fixture(scope="module")
def tenants(two_tenants):
    return two_tenants


@pytest.fixture(scope="module")
def server(tenants):
    metrics_port = odoo_harness.free_port()
    srv = odoo_harness.OdooServer(
        workers=2,
        max_cron_threads=1,
        dbfilter="^%d$",
        options={
            "limit_request": 4,
            "http_interface": "0.0.0.0",
            "observability_metrics_port": metrics_port,
            "observability_metrics_interface": "0.0.0.0",
            # exact counts per tenant and route: the route of a tenant's requests is full-level detail
            "observability_metrics_detail": "full",
        },
        env={"ODOO_HTTP_SOCKET_TIMEOUT": "30"},
    )
    srv.metrics_url = "http://127.0.0.1:%s" % metrics_port
    srv.metrics_port = metrics_port
    with srv:
        yield srv


def tenant_get(srv, db, path, timeout=30):
    return requests.get(
        srv.url + path,
        headers={"Host": "%s.localhost:%s" % (db, srv.http_port)},
        timeout=timeout,
        allow_redirects=False,
    )


def test_auth_without_token(server):
    for base in (server.url, server.metrics_url):
        r = requests.get(base + "/metrics", timeout=10)
        assert r.status_code == 200, base
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert "odoo_build_info{" in r.text
        for header in ({"X-Forwarded-For": "127.0.0.1"}, {"Forwarded": "for=127.0.0.1"}):
            r = requests.get(base + "/metrics", headers=header, timeout=10)
            assert r.status_code == 403, (base, header)
        r = requests.get(
            base + "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}, timeout=10
        )
        assert r.headers["Content-Type"].startswith("application/openmetrics-text")
        assert r.text.endswith("# EOF\n")
    ip = non_loopback_ip()
    if ip:  # a direct client that is not on loopback
        for port in (server.http_port, server.metrics_port):
            r = requests.get("http://%s:%s/metrics" % (ip, port), timeout=10)
            assert r.status_code == 403, port


def test_dedicated_port_answers_while_every_worker_is_busy(server):
    slow = []
    try:
        for _ in range(4):  # 2 workers + 2 more waiting in the accept queue
            s = socket.create_connection(("127.0.0.1", server.http_port), timeout=5)
            s.sendall(b"GET /web/login HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
            slow.append(s)
        time.sleep(1.0)
        with pytest.raises(requests.Timeout):  # the worker pool is really saturated
            requests.get(server.url + "/metrics", timeout=1)
        for _ in range(3):
            start = time.perf_counter()
            r = requests.get(server.metrics_url + "/metrics", timeout=1)
            assert r.status_code == 200
            assert time.perf_counter() - start < 1.0
            assert "odoo_worker_processes" in r.text
        assert requests.get(server.metrics_url + "/health/live", timeout=1).json() == {"status": "pass"}
    finally:
        for s in slow:
            s.close()


def _lock_and_kill_worker(db):
    """Block a request of ``db`` inside a worker (PostgreSQL lock), then SIGKILL that worker."""
    conn = odoo_harness.pg_connect(db)
    conn.autocommit = False
    failures = []
    try:
        with conn.cursor() as cr:
            cr.execute("LOCK TABLE res_users IN ACCESS EXCLUSIVE MODE")
            client = threading.Thread(target=lambda: failures.append(_expect_failure(db)))
            client.start()
            pid = None
            deadline = time.time() + 30
            while pid is None and time.time() < deadline:
                with contextlib.closing(odoo_harness.pg_connect()) as mon, mon.cursor() as mcr:
                    mcr.execute(
                        "SELECT application_name FROM pg_stat_activity WHERE datname = %s "
                        "AND wait_event_type = 'Lock' AND application_name LIKE 'odoo-%%'",
                        (db,),
                    )
                    row = mcr.fetchone()
                if row:
                    pid = int(row[0].split("-")[1])
                else:
                    time.sleep(0.1)
            assert pid, "no worker blocked on the lock"
            os.kill(pid, signal.SIGKILL)
            client.join(30)
    finally:
        conn.rollback()
        conn.close()
    return pid, failures


def _expect_failure(db):
    try:
        return "answered %s" % tenant_get(_expect_failure.server, db, "/web/login").status_code
    except requests.RequestException as exc:
        return "failed: %s" % type(exc).__name__


def test_exact_counts_per_tenant_across_recycling_and_sigkill(server, tenants):
    a, b = tenants
    _expect_failure.server = server
    answered = {a: 0, b: 0}
    plan = [a, b, a, a, b, a, b, a, a, b, a, a, b, a, b, a, a, b, a]
    before = parse(requests.get(server.metrics_url + "/metrics", timeout=10).text)
    for i, db in enumerate(plan):
        r = tenant_get(server, db, "/web/login")
        assert r.status_code == 200, r.text[:500]
        answered[db] += 1
        if i == 8:
            killed, outcome = _lock_and_kill_worker(a)
            assert outcome and outcome[0].startswith("failed"), outcome
    deadline = time.time() + 20
    while True:
        scraped = parse(requests.get(server.metrics_url + "/metrics", timeout=10).text)
        if sample(scraped, "odoo_worker_processes", type="http") == 2 or time.time() > deadline:
            break
        time.sleep(0.5)
    for db in (a, b):
        got = sample(
            scraped, "odoo_http_requests_total", tenant=db, route="/web/login", method="GET", status="2xx"
        )
        assert got == answered[db], (db, got, answered)
        for status in ("3xx", "4xx", "5xx"):
            assert (
                sample(
                    scraped,
                    "odoo_http_requests_total",
                    tenant=db,
                    route="/web/login",
                    method="GET",
                    status=status,
                )
                is None
            )
        assert sample(scraped, "odoo_tenant_sql_queries_total", tenant=db) > 0
        assert sample(scraped, "odoo_tenant_request_seconds_total", tenant=db) > 0
    # histograms carry no tenant, and their counts are never lower than the counter
    # (the slow clients of another test also reached /web/login, without a tenant)
    hist = sample(scraped, "odoo_http_request_duration_seconds_count", route="/web/login", method="GET")
    counted = sum(
        v
        for (name, labels), v in scraped.items()
        if name == "odoo_http_requests_total"
        and ("route", "/web/login") in labels
        and ("method", "GET") in labels
    )
    assert hist == counted >= answered[a] + answered[b]
    assert sample(scraped, "odoo_http_request_sql_queries_count", route="/web/login") == hist
    # counters never went down
    for key, old in before.items():
        if key[0].endswith(("_total", "_count", "_bucket")) and key in scraped:
            assert scraped[key] >= old, key
    assert sample(scraped, "odoo_worker_processes", type="http") == 2
    assert sample(scraped, "odoo_worker_processes", type="cron") == 1
    assert sample(scraped, "odoo_worker_processes", type="gevent") == 1
    assert sample(scraped, "odoo_http_requests_in_flight") == 0  # the killed request is not in flight
    # the main port sees the same numbers (answered without a database in multi-db mode)
    main = parse(requests.get(server.url + "/metrics", timeout=10).text)
    assert (
        sample(main, "odoo_http_requests_total", tenant=a, route="/web/login", method="GET", status="2xx")
        == answered[a]
    )
    assert sample(main, "odoo_http_requests_in_flight") == 1  # this scrape
    # files stay bounded by concurrent processes, not by the ~10 workers that lived
    metrics_dir = instance.default_directory(server.http_port)  # local, per boot: not under data_dir
    slots = [n for n in os.listdir(metrics_dir) if n.endswith(".values")]
    assert len(slots) <= 6, slots
    assert killed


def test_token_and_broken_store(odoo_available, tmp_path):
    """Token configured (from the environment) and a metrics store that cannot work."""
    blocker = tmp_path / "file"
    blocker.write_text("a file where the metrics directory should be")
    metrics_port = odoo_harness.free_port()
    srv = odoo_harness.OdooServer(
        workers=2,
        max_cron_threads=0,
        options={
            "observability_metrics_port": metrics_port,
            "observability_metrics_dir": str(blocker / "metrics"),
        },
        env={"ODOO_OBSERVABILITY_METRICS_TOKEN": "Zq9-token"},
    )
    with srv:
        for base in (srv.url, "http://127.0.0.1:%s" % metrics_port):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Zq9-token"}):
                r = requests.get(base + "/metrics", headers=headers, timeout=10)
                assert r.status_code == 401, (base, headers)
                assert r.headers["WWW-Authenticate"].startswith("Bearer")
            r = requests.get(base + "/metrics", headers={"Authorization": "Bearer Zq9-token"}, timeout=10)
            assert r.status_code == 200
            assert "odoo_build_info{" in r.text
            r = requests.get(
                base + "/metrics",
                timeout=10,
                headers={"Authorization": "Bearer Zq9-token", "X-Forwarded-For": "1.2.3.4"},
            )
            assert r.status_code == 200
        # the store is broken: requests still succeed, untouched
        for _ in range(5):
            r = requests.get(srv.url + "/web/webclient/version_info", json={}, timeout=10)
            assert r.status_code == 200 and "server_version" in r.text
            assert r.headers.get("X-Request-Id")
            assert requests.get(srv.url + "/health/live", timeout=10).status_code == 200
        log = srv.log_file.read_text()
        assert "cannot update odoo_http_requests_total" in log or "Not a directory" in log
        assert "Zq9-token" not in log
