"""Run the monitoring components from Debian's packages (Prometheus, Alertmanager, exporters) as
test daemons, configured from the shipped files by ``deploy/render_native.py``."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import odoo_harness
import requests

RENDERER = odoo_harness.ROOT / "deploy" / "render_native.py"
BINARIES = {
    "prometheus": "prometheus",
    "alertmanager": "prometheus-alertmanager",
    "postgres-exporter": "prometheus-postgres-exporter",
    "redis-exporter": "prometheus-redis-exporter",
    "blackbox-exporter": "prometheus-blackbox-exporter",
    "redis": "redis-server",
}


APIKEY = """
group = env.ref("logistics_observability.group_observability_integration")
user = env["res.users"].create({"name": "Integration", "login": "lo_integration",
                                USER_GROUPS_FIELD: [(6, 0, [env.ref("base.group_user").id, group.id])]})
key = env["res.users.apikeys"].with_user(user).sudo()._generate(None, "integration", None)
env.cr.commit()
print("APIKEY=" + key)
"""


def api_key(db):
    """An API key of a new user of ``db`` in the Observability Integration group."""
    proc = odoo_harness.run_shell(db, APIKEY)
    key = next((line[7:] for line in proc.stdout.splitlines() if line.startswith("APIKEY=")), None)
    assert key, proc.stdout[-2000:]
    return key


def missing_binaries(names=BINARIES):
    return [BINARIES[n] for n in names if not shutil.which(BINARIES[n])]


def render(out, *args):
    proc = subprocess.run(
        [sys.executable, str(RENDERER), "--out", str(out), *args], capture_output=True, text=True, timeout=60
    )
    return proc


class Daemon:
    """A process in its own session, ready when ``ready_url`` answers 200."""

    def __init__(self, name, cmd, log_dir, ready_url=None, env=None):
        self.name = name
        self.log = Path(log_dir) / ("%s.log" % name)
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "w"),
            env=dict(os.environ, **(env or {})),
            start_new_session=True,
        )
        self.ready_url = ready_url

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s:\n%s" % (self.name, self.proc.returncode, self.tail()))
            if self.ready_url is None:
                return self
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.ready_url, timeout=2).status_code == 200:
                    return self
            time.sleep(0.3)
        raise RuntimeError("%s not ready in %ss:\n%s" % (self.name, timeout, self.tail()))

    def tail(self, n=40):
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:]) if self.log.exists() else ""

    def stop(self):
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def redis_server(port, log_dir):
    return Daemon(
        "redis",
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        log_dir,
    )


def prometheus(config, port, data_dir, log_dir, extra=()):
    url = "http://127.0.0.1:%s" % port
    return Daemon(
        "prometheus",
        [
            "prometheus",
            "--config.file=%s" % config,
            "--storage.tsdb.path=%s" % data_dir,
            "--web.listen-address=127.0.0.1:%s" % port,
            *extra,
        ],
        log_dir,
        ready_url=url + "/-/ready",
    )


def alertmanager(config, port, data_dir, log_dir):
    # --cluster.listen-address= turns off the gossip port (9094 by default)
    return Daemon(
        "alertmanager",
        [
            "prometheus-alertmanager",
            "--config.file=%s" % config,
            "--storage.path=%s" % data_dir,
            "--web.listen-address=127.0.0.1:%s" % port,
            "--cluster.listen-address=",
        ],
        log_dir,
        ready_url="http://127.0.0.1:%s/-/ready" % port,
    )


def postgres_exporter(port, log_dir, dbname="postgres"):
    pg = odoo_harness.PG
    dsn = "postgresql://%s@%s:%s/%s?sslmode=disable" % (pg["user"], pg["host"], pg["port"], dbname)
    return Daemon(
        "postgres-exporter",
        ["prometheus-postgres-exporter", "--web.listen-address=127.0.0.1:%s" % port],
        log_dir,
        ready_url="http://127.0.0.1:%s/metrics" % port,
        env={"DATA_SOURCE_NAME": dsn},
    )


def redis_exporter(port, redis_port, log_dir):
    return Daemon(
        "redis-exporter",
        [
            "prometheus-redis-exporter",
            "--redis.addr=redis://127.0.0.1:%s" % redis_port,
            "--web.listen-address=127.0.0.1:%s" % port,
        ],
        log_dir,
        ready_url="http://127.0.0.1:%s/metrics" % port,
    )


def blackbox_exporter(config, port, log_dir):
    return Daemon(
        "blackbox-exporter",
        [
            "prometheus-blackbox-exporter",
            "--config.file=%s" % config,
            "--web.listen-address=127.0.0.1:%s" % port,
        ],
        log_dir,
        ready_url="http://127.0.0.1:%s/-/healthy" % port,
    )


class Webhook:
    """Alertmanager webhook receiver: keeps every notification (path, body)."""

    def __init__(self):
        self.received = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%s" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self, alertname, status="firing"):
        return [
            (path, alert)
            for path, body in list(self.received)
            for alert in body["alerts"]
            if alert["labels"].get("alertname") == alertname and alert["status"] == status
        ]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class PromAPI:
    def __init__(self, url):
        self.url = url

    def get(self, path, **params):
        data = requests.get(self.url + path, params=params, timeout=10).json()
        assert data["status"] == "success", data
        return data["data"]

    def query(self, expr):
        return self.get("/api/v1/query", query=expr)["result"]


def wait_for(check, timeout, what, interval=0.5):
    """Poll ``check()`` until it returns a truthy value; fail naming ``what`` and its last value."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
