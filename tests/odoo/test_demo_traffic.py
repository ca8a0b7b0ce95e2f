"""The demo's traffic generator against a real prefork Odoo with sale, stock, delivery and account,
and the demo itself (``scripts/demo.sh``) with a browser session through its reverse proxy.

A newcomer opening the demo's Odoo log must not see errors the demo itself causes: the
generator speaks JSON-RPC (XML-RPC cannot marshal the ``None`` many Odoo methods return, and
Odoo logs a traceback for each), the workflows it drives are counted, and the web client's
websocket reaches Odoo's gevent port (an HTTP worker answering it logs a traceback every few
seconds).
"""

import base64
import contextlib
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import native_stack
import odoo_harness
import pytest
import requests
import websocket
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.odoo, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def logistics_db(odoo_available):
    template = odoo_harness.template_db(["sale_stock", "stock_delivery", "account"], with_addons=False)
    name = odoo_harness.clone_db(template, "lotest_demo_traffic")
    proc = odoo_harness.run_odoo(
        [
            "-d",
            name,
            "-i",
            "logistics_observability,logistics_observability_delivery_demo",
            "--stop-after-init",
            "--max-cron-threads=0",
            "--log-level=warn",
        ]
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stdout, proc.stdout[-4000:]
    yield name
    odoo_harness.drop_db(name)


def test_traffic_causes_no_error_in_the_odoo_log(logistics_db):
    # no cron worker: the demo's deliberately failing scheduled action is not what is tested here
    srv = odoo_harness.OdooServer(
        options={
            "observability_log_format": "json",
            "db_name": logistics_db,
            "dbfilter": "^%s$" % logistics_db,
        },
        workers=2,
        max_cron_threads=0,
    )
    with srv:
        proc = subprocess.run(
            [
                sys.executable,
                "scripts/demo_traffic.py",
                "--url",
                srv.url,
                "--db",
                logistics_db,
                "--duration",
                "45",
                "--rate",
                "4",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=odoo_harness.ROOT,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        text = requests.get(srv.url + "/metrics", timeout=10).text
        lines = srv.log_file.read_text(errors="replace").splitlines()
    runs = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "odoo_workflow_runs_total" and s.labels.get("tenant") == logistics_db:
                runs[s.labels["workflow"]] = runs.get(s.labels["workflow"], 0) + s.value
    assert runs.get("order_release", 0) >= 3, (runs, proc.stderr[-2000:])
    assert runs.get("carrier_call", 0) >= 1, runs
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records, "the JSON log is empty"
    errors = [r for r in records if r.get("level") in ("ERROR", "CRITICAL")]
    assert not errors, "the demo traffic caused errors in the Odoo log:\n%s" % "\n".join(
        "%s %s %s" % (r.get("logger"), r.get("msg", "")[:200], r.get("exc.message", "")) for r in errors[:10]
    )
    assert not any("cannot marshal" in line for line in lines)


# the demo's own tenant set-up, as scripts/demo.sh runs it
DEMO_TENANT = (
    "import os\nos.environ['DEMO_BASE_URL'] = %r\n"
    + (odoo_harness.ROOT / "scripts" / "demo_tenant.py").read_text()
)


def test_demo_wires_synthetic_checks_security_and_changes(base_template, make_db, tmp_path):
    """The demo's wiring with a host-based dbfilter: each tenant's default checks, made from its own
    URL, are probed by a real blackbox exporter through the Odoo port, and Prometheus sees the
    targets up; a failed login reaches Security and the URL change Recent changes."""
    missing = native_stack.missing_binaries(["prometheus", "blackbox-exporter"])
    if missing:
        pytest.skip("NOT INSTALLED: %s (scripts/bootstrap.sh installs them)" % ", ".join(missing))
    db = make_db(base_template, "lotest_demo_syn")
    srv = odoo_harness.OdooServer(
        options={"dbfilter": "^%d$", "list_db": False}, workers=2, max_cron_threads=0
    )
    host = "%s.localhost:%s" % (db, srv.http_port)
    with srv:
        proc = odoo_harness.run_shell(db, DEMO_TENANT % ("http://" + host))
        assert "Traceback" not in proc.stdout, proc.stdout[-3000:]
        key = re.search(r"^APIKEY=(\S+)$", proc.stdout, re.M)
        assert key, proc.stdout[-3000:]
        # the integration user's key posts events, as the demo's traffic generator does
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        event = {"workflow": "pod_sync", "outcome": "success", "reference": "DEMO/1", "occurred_at": now}
        r = requests.post(
            "http://127.0.0.1:%s/logistics_observability/events" % srv.http_port,
            json=event,
            headers={"Authorization": "Bearer " + key.group(1), "Host": host},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        mon = tmp_path / "mon"  # as deploy/render_native.py leaves it, other jobs aside
        mon.mkdir()
        shutil.copy(odoo_harness.ROOT / "deploy" / "blackbox" / "blackbox.yml", mon / "blackbox.yml")
        (mon / "prometheus.yml").write_text("global:\n  scrape_interval: 5s\n  scrape_timeout: 4s\n")
        targets, modules = mon / "synthetic-targets.json", mon / "synthetic-modules.yml"
        proc = subprocess.run(
            [
                *odoo_harness.odoo_cmd(),
                "--addons-path=" + odoo_harness.addons_path(),
                "synthetic_targets",
                "-c",
                str(srv.write_config()),
                "-d",
                db,
                "-o",
                str(targets),
                "--blackbox",
                str(modules),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=odoo_harness.ROOT,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        bb_port, prom_port = odoo_harness.free_port(), odoo_harness.free_port()
        proc = subprocess.run(
            [
                sys.executable,
                "scripts/demo_synthetic.py",
                "--targets",
                str(targets),
                "--modules",
                str(modules),
                "--blackbox-config",
                str(mon / "blackbox.yml"),
                "--prometheus",
                str(mon / "prometheus.yml"),
                "--blackbox-address",
                "127.0.0.1:%s" % bb_port,
                "--via",
                "127.0.0.1:%s" % srv.http_port,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=odoo_harness.ROOT,
        )
        assert proc.returncode == 0, proc.stderr
        groups = json.loads(targets.read_text())
        assert sorted(g["labels"]["check"] for g in groups) == ["health_ready", "portal_login"]
        assert all(g["targets"][0].startswith("http://127.0.0.1:%s/" % srv.http_port) for g in groups)
        # a mistyped password, as the demo's traffic generator does first (common.authenticate)
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {
                "service": "common",
                "method": "authenticate",
                "args": [db, "admin", "not-the-demo-password", {}],
            },
        }
        r = requests.post(srv.url + "/jsonrpc", json=body, headers={"Host": host}, timeout=30)
        assert r.json().get("result") is False, r.text
        daemons = [
            native_stack.blackbox_exporter(mon / "blackbox.yml", bb_port, tmp_path),
            native_stack.prometheus(mon / "prometheus.yml", prom_port, tmp_path / "data", tmp_path),
        ]
        try:
            for daemon in daemons:
                daemon.wait_ready()
            api = native_stack.PromAPI("http://127.0.0.1:%s" % prom_port)

            def probes():
                found = {
                    r["metric"]["check"]: r["value"][1] for r in api.query('probe_success{job="synthetic"}')
                }
                up = [r["value"][1] for r in api.query('up{job="synthetic"}')]
                return found if len(found) == 2 and up == ["1", "1"] else None

            found = native_stack.wait_for(probes, 120, "the synthetic targets up in Prometheus")
        finally:
            for daemon in daemons:
                daemon.stop()
        assert found["portal_login"] == "1", found
        lines = srv.log_file.read_text(errors="replace").splitlines()
    conn = odoo_harness.pg_connect(db)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT coalesce(sum(count), 0) FROM logistics_auth_ledger WHERE outcome = 'failure'")
            assert cr.fetchone()[0] >= 1, "the Security card has no failed login"
            cr.execute(
                "SELECT count(*) FROM logistics_audit_event"
                " WHERE category = 'change' AND target = 'web.base.url'"
            )
            assert cr.fetchone()[0] >= 1, "Recent changes has no change"
    finally:
        conn.close()
    assert not [line for line in lines if " ERROR " in line or '"level": "ERROR"' in line], lines[-20:]


# ---------------------------------------------------------------------------
# the demo itself, with a real browser


class Chromium:
    """Headless Chromium driven over the DevTools protocol (one page)."""

    def __init__(self, profile):
        port = odoo_harness.free_port()
        self.proc = subprocess.Popen(
            [
                shutil.which("chromium"),
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-port=%d" % port,
                "--user-data-dir=%s" % profile,
                # the demo's tenant host names, as a browser on the demo's machine resolves them
                "--host-resolver-rules=MAP *.localhost 127.0.0.1",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        page = None
        for _ in range(200):
            with contextlib.suppress(requests.RequestException, StopIteration):
                targets = requests.get("http://127.0.0.1:%d/json" % port, timeout=1).json()
                page = next(t for t in targets if t["type"] == "page")
                break
            time.sleep(0.1)
        assert page, "chromium did not start"
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.ids = iter(range(1, 1000000))

    def send(self, method, **params):
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                assert "error" not in msg, msg
                return msg.get("result", {})

    def evaluate(self, expression, timeout=30):
        result = self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, timeout=timeout * 1000
        )
        return result.get("result", {}).get("value")

    def wait_for(self, expression, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate(expression):
                return True
            time.sleep(0.5)
        return False

    def close(self):
        with contextlib.suppress(Exception):
            self.ws.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, 15)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(5)


def _port_pair():
    """A free port whose + 3 (the demo's gevent port) is free too."""
    for _ in range(100):
        port = odoo_harness.free_port()
        with socket.socket() as s, contextlib.suppress(OSError):
            s.bind(("127.0.0.1", port + 3))
            return port
    raise RuntimeError("no free port pair")


def _upgrade_status(address, host, path="/websocket"):
    """Status code of a websocket handshake sent to ``address`` for ``host``."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        "GET %s HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, host, host, key)
    )
    with socket.create_connection(address, timeout=30) as conn:
        conn.sendall(request.encode())
        status = conn.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
    return int(status.split()[1]), status


# the demo's deliberately failing scheduled action (scripts/demo_traffic.py): a cron failure the
# demo shows on purpose, logged by Odoo's cron runner
DEMO_CRON_FAILURE = re.compile(r"^Job '?Demo: carrier feed sync'? \(\d+\) server action #\d+ failed")


def test_demo_serves_a_browser_session_through_its_proxy(logistics_template, tmp_path):
    """``scripts/demo.sh`` on this series: a headless Chromium logs in at the tenant URL the demo
    prints and keeps the web client open; its websocket is upgraded (101) through the demo's
    reverse proxy to Odoo's gevent port, so Odoo logs no error (no "Couldn't bind the websocket");
    /metrics through the proxy asks for the token while Prometheus scrapes Odoo's metrics port
    directly, and the tenant's synthetic checks pass through the proxy."""
    missing = [
        name
        for name in ("chromium", "nginx")
        if not shutil.which(name, path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin")
    ]
    if missing:
        pytest.skip("NOT INSTALLED: %s (scripts/bootstrap.sh installs them)" % ", ".join(missing))
    series = odoo_harness.current_series()
    prefix = "lotest_demo%d_" % odoo_harness.series_major()
    tenant = "proxy"
    template, db = prefix + "template", prefix + tenant
    # the demo's template (its modules, demo data), from the suite's cached one: no minutes-long install
    odoo_harness.clone_db(logistics_template, template)
    proc = odoo_harness.run_odoo(
        [
            "-d",
            template,
            "-i",
            "logistics_observability_delivery_demo",
            "--stop-after-init",
            "--max-cron-threads=0",
            "--log-level=warn",
        ]
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stdout, proc.stdout[-4000:]
    state = tmp_path / "state"
    ports = {
        "DEMO_HTTP_PORT": _port_pair(),
        "DEMO_PROXY_PORT": odoo_harness.free_port(),
        "DEMO_METRICS_PORT": odoo_harness.free_port(),
        "DEMO_PROMETHEUS_PORT": odoo_harness.free_port(),
        "DEMO_ALERTMANAGER_PORT": odoo_harness.free_port(),
        "DEMO_PG_EXPORTER_PORT": odoo_harness.free_port(),
        "DEMO_REDIS_EXPORTER_PORT": odoo_harness.free_port(),
        "DEMO_BLACKBOX_PORT": odoo_harness.free_port(),
    }
    env = dict(
        os.environ,
        LO_VENV=str(odoo_harness.SERIES["18.0"]["venv"]),
        LO_VENV19=str(odoo_harness.SERIES["19.0"]["venv"]),
        DEMO_ODOO=series,
        DEMO_STATE=str(state),
        DEMO_TENANTS=tenant,
        DEMO_DB_PREFIX=prefix,
        **{k: str(v) for k, v in ports.items()},
    )

    def demo(*args):
        return subprocess.run(
            ["bash", "scripts/demo.sh", *args],
            cwd=odoo_harness.ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=1200,
        )

    browser = None
    try:
        proc = demo("--detach")
        assert proc.returncode == 0, proc.stdout[-5000:]
        printed = re.search(r"http://%s\.localhost:(\d+)" % tenant, proc.stdout)
        assert printed, proc.stdout[-3000:]
        url, port = printed.group(0), int(printed.group(1))
        host = "%s.localhost:%d" % (tenant, port)

        browser = Chromium(tmp_path / "chromium")
        browser.send("Page.navigate", url=url + "/web/login")
        assert browser.wait_for(
            "!!document.querySelector('form.oe_login_form input[name=login]')"
        ), browser.evaluate("document.documentElement.outerHTML.slice(0, 2000)")
        browser.evaluate(
            "(() => { const f = document.querySelector('form.oe_login_form');"
            " f.querySelector('input[name=login]').value = 'admin';"
            " f.querySelector('input[name=password]').value = 'admin'; f.submit(); return true; })()"
        )
        assert browser.wait_for(
            "!!document.querySelector('.o_web_client .o_main_navbar')", 90
        ), browser.evaluate("location.href + ' ' + document.title")
        # the web client stays open: its bus worker (one websocket for the browser) connects, and
        # would retry every few seconds if it could not
        time.sleep(15)
        browser.send("Page.navigate", url="about:blank")  # the last page gone, the worker closes it
        time.sleep(3)
        browser.close()
        browser = None
        # a websocket handshake to the printed URL's port, with the tenant's host (no session)
        status, status_line = _upgrade_status(("127.0.0.1", port), host, "/websocket?version=demo")
        time.sleep(2)  # Odoo and the proxy log a websocket when it closes
        lines = (state / "odoo.log").read_text(errors="replace").splitlines()
        lines += (state / "odoo.stdout").read_text(errors="replace").splitlines()
        unbound = [line for line in lines if "Couldn't bind the websocket" in line]
        assert not unbound, "the web client's websocket reached an HTTP worker:\n%s" % "\n".join(unbound[:3])
        records = [json.loads(line) for line in lines if line.startswith("{")]
        errors = [
            r
            for r in records
            if r.get("level") in ("ERROR", "CRITICAL") and not DEMO_CRON_FAILURE.match(r.get("msg", ""))
        ]
        assert not errors, "the browser session caused errors in the Odoo log:\n%s" % "\n".join(
            "%s %s %s" % (r.get("logger"), r.get("msg", "")[:300], r.get("exc.message", ""))
            for r in errors[:10]
        )
        assert status == 101, status_line
        # the web client's websocket was served by the gevent process, as the logged-in user
        served = [
            r
            for r in records
            if r.get("logger") == "longpolling"
            and '"GET /websocket?version=' in r.get("msg", "")
            and '" 101 ' in r.get("msg", "")
            and r.get("tenant") == db
            and r.get("uid")
        ]
        assert served, [r.get("msg") for r in records if "websocket" in r.get("msg", "")][-10:]
        # ... through the demo's proxy: the printed URL is the proxy's, whose access log holds the
        # browser's upgrade for the tenant's host
        assert port == ports["DEMO_PROXY_PORT"], (url, ports)
        access = [
            json.loads(line)
            for line in (state / "monitoring" / "nginx" / "access.log").read_text().splitlines()
        ]
        upgrades = [
            a
            for a in access
            if a["uri"].startswith("/websocket?") and a["status"] == 101 and "Chrome" in a["user_agent"]
        ]
        assert upgrades and all(a["host"] == host for a in upgrades), [
            a for a in access if "websocket" in a["uri"]
        ]
        # /metrics through the proxy: the token is asked for (a proxied client is never trusted);
        # Prometheus scrapes the dedicated port directly, and the tenant's synthetic checks
        # pass through the proxy
        metrics = "http://127.0.0.1:%d/metrics" % port
        r = requests.get(metrics, headers={"Host": host}, timeout=30)
        assert r.status_code == 401, r.status_code
        token = (state / "metrics_token").read_text().strip()
        r = requests.get(metrics, headers={"Host": host, "Authorization": "Bearer " + token}, timeout=30)
        assert r.status_code == 200 and "odoo_http_requests_total" in r.text, r.status_code
        # nor do the demo's own error figures count the websocket (or anything else) as a 5xx
        server_errors = [
            s
            for fam in text_string_to_metric_families(r.text)
            for s in fam.samples
            if s.name == "odoo_http_requests_total" and s.labels.get("status") == "5xx" and s.value
        ]
        assert not server_errors, server_errors
        api = native_stack.PromAPI("http://127.0.0.1:%d" % ports["DEMO_PROMETHEUS_PORT"])

        def scraped():
            up = {r["metric"]["job"]: r["value"][1] for r in api.query("up")}
            probes = api.query('probe_success{job="synthetic"}')
            ok = probes and all(r["value"][1] == "1" for r in probes)
            return (up, probes) if up.get("odoo") == "1" and ok else None

        _, probes = native_stack.wait_for(scraped, 120, "Odoo scraped and the synthetic checks passing")
        via = "http://127.0.0.1:%d/" % port
        assert all(r["metric"]["instance"].startswith(via) for r in probes), probes
    finally:
        if browser:
            browser.close()
        stopped = demo("stop")
        for name in (db, template):
            if odoo_harness.db_exists(name):
                with contextlib.closing(odoo_harness.pg_connect()) as conn, conn.cursor() as cr:
                    cr.execute('ALTER DATABASE "%s" IS_TEMPLATE false' % name)  # the demo marks its template
            odoo_harness.drop_db(name)
    assert stopped.returncode == 0, stopped.stdout
    with pytest.raises(OSError):  # the proxy stopped with the demo
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
