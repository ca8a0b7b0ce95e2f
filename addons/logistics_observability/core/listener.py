"""Dedicated metrics listener (``observability_metrics_port``).

A small threaded HTTP server in the Odoo master process (or the threaded
server), outside the HTTP worker pool, so ``/metrics`` and ``/health/*`` answer
even while every HTTP worker is busy. It serves exactly what the controllers
serve (same handlers, same auth). Forked children close their copy of the
listening socket.
"""

import contextlib
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import exposition, health
from .atfork import at_fork_in_child

_logger = logging.getLogger(__name__)

REQUEST_TIMEOUT = 10.0
_server = None


class _Handler(BaseHTTPRequestHandler):
    server_version = "odoo-metrics"
    protocol_version = "HTTP/1.1"
    timeout = REQUEST_TIMEOUT

    def log_message(self, format, *args):
        return

    def _send(self, status, headers, body, head=False):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_GET(self, head=False):
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        cfg = self.server.cfg_getter()
        try:
            if path == "/metrics":
                result = exposition.metrics_response(self.headers, self.client_address[0], cfg)
            elif path == "/health/live":
                result = health.live_response()
            elif path == "/health/ready":
                result = health.ready_response(cfg)
            else:
                result = 404, [("Content-Type", "text/plain; charset=utf-8")], b"not found\n"
        except Exception:
            _logger.exception("metrics listener: %s failed", path)
            result = 500, [("Content-Type", "text/plain; charset=utf-8")], b"internal error\n"
        self._send(*result, head=head)

    def do_HEAD(self):
        self.do_GET(head=True)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, cfg_getter):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.cfg_getter = cfg_getter
        super().__init__(address, _Handler)


def start(interface, port, cfg_getter):
    """Bind and serve in a daemon thread; returns the server or None (logged) on failure."""
    global _server
    if _server is not None:
        return _server
    try:
        server = _Server((interface or "127.0.0.1", int(port)), cfg_getter)
    except OSError as exc:
        _logger.error(
            "logistics_observability: cannot listen on %s:%s for metrics (%s); "
            "the dedicated metrics listener is disabled",
            interface,
            port,
            exc,
        )
        return None
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.5},
        name="observability-metrics-listener",
        daemon=True,
    )
    thread.start()
    _server = server
    _logger.info("logistics_observability: metrics listener on http://%s:%s/metrics", interface, port)
    return server


def stop():
    global _server
    server, _server = _server, None
    if server is not None:
        server.shutdown()
        server.server_close()


def _close_in_child():
    # the listener belongs to the process that started it; a forked child must
    # not keep the port open (nor answer on it: its thread is gone anyway)
    global _server
    server, _server = _server, None
    if server is not None:
        with contextlib.suppress(OSError):
            server.socket.close()


at_fork_in_child(_close_in_child)
