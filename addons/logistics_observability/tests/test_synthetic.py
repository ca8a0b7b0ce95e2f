"""Synthetic checks: refused definitions, defaults from the tenant's URL, inside-out runs recorded
as workflow ``synthetic_<name>`` (metrics, ledger, log event), the Synthetic checks card."""

import http.server
import logging
import socket
import threading

from prometheus_client.parser import text_string_to_metric_families

from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, common, tagged


def _own_address():
    """A non-loopback address of this machine (inside-out checks may not probe loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent for a UDP connect
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


class _Partner(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"tracking: delivered" if self.path == "/track" else b"nope"
        self.send_response(200 if self.path == "/track" else 500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@tagged("post_install", "-at_install")
class TestSyntheticChecks(HttpCase):
    _partner = None  # base URL of this test's partner endpoint

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # Odoo's tests block requests to anything but loopback; the partner endpoint of this test
        # runs on this machine's own address (inside-out checks may not probe loopback)
        if cls._partner and r.url.startswith(cls._partner):
            return common._super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    def check(self, **values):
        defaults = {"name": "lo_check", "url": "https://portal.example.com/web/login"}
        return self.env["logistics.synthetic.check"].create(dict(defaults, **values))

    def test_bad_definitions_are_refused_with_clear_messages(self):
        cases = [
            ({"url": "not a url"}, "expected an absolute http:// or https:// URL"),
            ({"url": "https://portal.example.com:99999/"}, "not a URL"),
            ({"url": "https://user:secret@portal.example.com/"}, "credentials in the URL are refused"),
            ({"timeout": 0.1}, "must be between 0.5 and 60.0 seconds"),
            ({"timeout": 90}, "must be between 0.5 and 60.0 seconds"),
            ({"interval": 20, "timeout": 30}, "must be shorter than the interval"),
            ({"expected_status": 999}, "between 100 and 599"),
            ({"name": "Bad Name"}, "lowercase letters"),
            ({"mode": "inside_out", "url": "http://127.0.0.1:8069/"}, "is a loopback address"),
            ({"mode": "inside_out", "url": "http://localhost/"}, "is a loopback address"),
            ({"mode": "inside_out", "url": "http://[::1]/"}, "is a loopback address"),
            ({"mode": "inside_out", "url": "http://169.254.169.254/latest/meta-data/"}, "metadata"),
            ({"mode": "inside_out", "url": "http://metadata.google.internal/"}, "metadata"),
            ({"mode": "inside_out", "url": "http://[fe80::1]/"}, "link-local"),
        ]
        for values, message in cases:
            with self.subTest(values=values), self.assertRaises(ValidationError) as caught:
                with self.env.cr.savepoint():
                    self.check(**values)
            self.assertIn(message, str(caught.exception))
        # the same URL is fine outside-in: the blackbox exporter probes through the ingress
        self.assertTrue(self.check(url="http://127.0.0.1:8069/web/login"))

    def test_defaults_from_the_tenant_url(self):
        Check = self.env["logistics.synthetic.check"].with_context(active_test=False)
        Check.search([]).unlink()
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", "https://acme.example.com")
        Check._create_defaults()
        urls = dict(Check.search([]).mapped(lambda c: (c.name, c.url)))
        self.assertEqual(urls["portal_login"], "https://acme.example.com/web/login")
        self.assertEqual(urls["health_ready"], "https://acme.example.com/health/ready")
        portal = self.env["ir.module.module"].search_count(
            [("name", "=", "portal"), ("state", "=", "installed")]
        )
        self.assertEqual(urls.get("portal_orders"), "https://acme.example.com/my/orders" if portal else None)
        Check._create_defaults()
        self.assertEqual(Check.search_count([]), len(urls), "idempotent")

    def test_inside_out_run_is_a_workflow_run(self):
        address = _own_address()
        if not address:
            self.skipTest("no non-loopback address to serve a partner endpoint on")
        server = http.server.ThreadingHTTPServer((address, 0), _Partner)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        base = "http://%s:%s" % (address, server.server_address[1])
        type(self)._partner = base + "/"
        self.addCleanup(setattr, type(self), "_partner", None)
        good = self.check(
            name="carrier_track",
            url=base + "/track",
            expected_text="delivered",
            mode="inside_out",
            timeout=2,
            interval=60,
        )
        bad = self.check(name="edi_gateway", url=base + "/edi", mode="inside_out", timeout=2, interval=60)

        def runs(workflow, outcome):
            text = self.url_open("/metrics").text
            return sum(
                s.value
                for f in text_string_to_metric_families(text)
                for s in f.samples
                if s.name == "odoo_workflow_runs_total"
                and s.labels.get("workflow") == workflow
                and s.labels.get("outcome") == outcome
                and s.labels.get("tenant") == self.env.cr.dbname
            )

        before_ok, before_fail = (
            runs("synthetic_carrier_track", "success"),
            runs("synthetic_edi_gateway", "failure"),
        )
        with self.assertLogs("odoo.addons.logistics_observability.workflow", level=logging.INFO) as logs:
            self.env["logistics.synthetic.check"]._run_due()
        self.assertEqual((good.state, bad.state), ("pass", "fail"))
        self.assertEqual(bad.last_reason, "HTTP 500, expected 200")
        self.assertTrue(bad.failing_since)
        self.assertEqual(runs("synthetic_carrier_track", "success"), before_ok + 1)
        self.assertEqual(runs("synthetic_edi_gateway", "failure"), before_fail + 1)
        self.assertTrue(
            any(
                getattr(r, "workflow", "") == "synthetic_edi_gateway" and r.outcome == "failure"
                for r in logs.records
            )
        )
        since = bad.failing_since
        self.env["logistics.synthetic.check"]._run_due()  # not due yet: nothing runs
        self.assertEqual(runs("synthetic_edi_gateway", "failure"), before_fail + 1)
        bad.last_run = False
        self.env["logistics.synthetic.check"]._run_due()
        self.assertEqual(bad.failing_since, since, "failing since the first failure")

        card = {c["key"]: c for c in self.env["logistics.platform.health"].get_cards()}["synthetic"]
        self.assertEqual(card["state"], "fail", card)
        self.assertIn("edi_gateway", card["reason"])
        self.assertIn("HTTP 500, expected 200", card["reason"])
        self.assertTrue(card["action"])
