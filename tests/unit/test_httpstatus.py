"""The HTTP status class (core/httpstatus.py): one answer for a bad code, for both families that
have a ``status`` class label (the server's requests and the carriers' outbound requests)."""

import http.server
import threading

import pytest
import requests

from logistics_observability.core import carrier, httpstatus, metrics, server_metrics


@pytest.fixture(autouse=True)
def mdir(tmp_path):
    metrics.configure(directory=str(tmp_path / "metrics"))
    server_metrics._groups.clear()
    yield
    metrics.configure(directory=str(tmp_path / "unused"))


def value(name, **labels):
    for fam in metrics.collect(run_collectors=False):
        for labelvalues, val in fam.samples:
            if fam.name == name and dict(zip(fam.labelnames, labelvalues, strict=False)) == labels:
                return val
    return 0.0


@pytest.mark.parametrize(
    "status, expected",
    [
        (200, ("2xx", 200)),
        ("404 NOT FOUND", ("4xx", 404)),
        (101, ("1xx", 101)),
        (599, ("5xx", 599)),
        (999, ("5xx", 999)),  # no HTTP status: a server error, never a sixth label value
        (42, ("5xx", 42)),
        (0, ("5xx", 0)),
        (None, ("5xx", 500)),
        ("garbage", ("5xx", 500)),
        ("", ("5xx", 500)),
    ],
)
def test_status_class(status, expected):
    assert httpstatus.status_class(status) == expected


def test_the_server_metrics_use_the_one_rule():
    assert server_metrics.status_class is httpstatus.status_class
    server_metrics.request_finished("db1", "/web", "GET", "999 WHATEVER", 0.01, 0, 0.0, in_flight=False)
    # route and method are left empty at the default detail level (the series budget)
    got = value("odoo_http_requests_total", tenant="db1", route="", method="", status="5xx")
    assert got == 1


def test_a_carrier_answer_with_a_bad_code_is_5xx():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(999 if self.path == "/odd" else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%s" % server.server_address[1]
    carrier.install_requests_hook()
    try:
        with carrier.carrier_call("demo_http", "rate", tenant="t5"):
            assert requests.get(base + "/odd", timeout=5).status_code == 999
            requests.get(base + "/ok", timeout=5)
    finally:
        server.shutdown()
    # per carrier, not per tenant, at the default detail level
    labels = {"tenant": "", "carrier": "demo_http", "operation": "rate"}
    assert value("odoo_carrier_http_requests_total", status="5xx", **labels) == 1
    assert value("odoo_carrier_http_requests_total", status="2xx", **labels) == 1
    assert value("odoo_carrier_http_requests_total", status="other", **labels) == 0
