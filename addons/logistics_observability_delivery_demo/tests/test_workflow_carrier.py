import http.server
import json
import threading
import time

from odoo.addons.logistics_observability.core import detail, metrics
from odoo.addons.logistics_observability.tests.workflow_common import RunCounter, metric_value
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged
from odoo.tests.common import _super_send


class _CarrierAPI(http.server.BaseHTTPRequestHandler):
    """A tiny carrier API: /rate, /ship, /cancel; ``server.delay`` makes it slow."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        time.sleep(self.server.delay)
        self.server.seen.append((self.path, body))
        answers = {
            "/rate": {"price": 12.5},
            "/ship": {"price": 14.0, "tracking_number": "TRK%03d" % len(self.server.seen)},
            "/cancel": {"ok": True},
        }
        payload = json.dumps(answers.get(self.path, {})).encode()
        self.send_response(200 if self.path in answers else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@tagged("post_install", "-at_install")
class TestCarrierCalls(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CarrierAPI)
        cls.server.delay = 0.0
        cls.server.seen = []
        cls.server.daemon_threads = True
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.addClassCleanup(cls.server.server_close)
        cls.addClassCleanup(cls.server.shutdown)
        delivery_product = cls.env["product.product"].create({"name": "Demo Shipping", "type": "service"})
        cls.carrier = cls.env["delivery.carrier"].create(
            {
                "name": "Demo HTTP",
                "delivery_type": "demo_http",
                "product_id": delivery_product.id,
                "demo_http_url": "http://127.0.0.1:%s" % cls.server.server_address[1],
                "demo_http_timeout": 0.5,
                "integration_level": "rate_and_ship",
            }
        )
        cls.partner = cls.env["res.partner"].create({"name": "Carrier Customer"})
        cls.product = cls.env["product.product"].create(
            {"name": "Box", "type": "consu", "list_price": 20, "weight": 2.0}
        )
        cls.tenant = metrics.tenant_label(cls.env.cr.dbname)

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # only our loopback carrier is called; keep its short timeout (the runner raises it to 10 s)
        return _super_send(s, r, **kw)

    def setUp(self):
        super().setUp()
        self.server.delay = 0.0

    def _carrier_metric(self, name, operation, **labels):
        # per carrier without the tenant at the default detail level (a tenant's carrier calls are
        # its carrier_call workflow runs); per tenant at the full level
        tenant = self.tenant if detail.full() else ""
        return metric_value(name, tenant=tenant, carrier="demo_http", operation=operation, **labels)

    def _tenant_series(self):
        return metric_value(
            "odoo_carrier_http_requests_total",
            tenant=self.tenant,
            carrier="demo_http",
            operation="rate",
            status="2xx",
        )

    def _order(self):
        order = self.env["sale.order"].create(
            {
                "partner_id": self.partner.id,
                "order_line": [(0, 0, {"product_id": self.product.id, "product_uom_qty": 1})],
            }
        )
        return order

    def test_rate_success_and_timeout_over_real_http(self):
        order = self._order()
        runs = RunCounter(self.env, "carrier_call")
        ok_before = self._carrier_metric("odoo_carrier_http_requests_total", "rate", status="2xx")
        tenant_before = self._tenant_series()
        res = self.carrier.rate_shipment(order)
        self.assertTrue(res["success"])
        self.assertEqual(self.server.seen[-1][0], "/rate")
        self.assertEqual(runs.delta("success"), 1)
        self.assertEqual(
            self._carrier_metric("odoo_carrier_http_requests_total", "rate", status="2xx"), ok_before + 1
        )
        if not detail.full():
            self.assertEqual(self._tenant_series(), tenant_before, "no per-tenant carrier series by default")

        self.server.delay = 1.0  # slower than the carrier's 0.5 s timeout
        timeouts = self._carrier_metric("odoo_carrier_http_requests_total", "rate", status="timeout")
        failures = self._carrier_metric("odoo_carrier_requests_total", "rate", outcome="failure")
        res = self.carrier.rate_shipment(order)
        self.assertFalse(res["success"])
        self.assertEqual(runs.delta("failure"), 1)
        self.assertEqual(runs.ledger_delta("failure"), 1)
        self.assertEqual(
            self._carrier_metric("odoo_carrier_http_requests_total", "rate", status="timeout"), timeouts + 1
        )
        self.assertEqual(
            self._carrier_metric("odoo_carrier_requests_total", "rate", outcome="failure"), failures + 1
        )

    def _outgoing_picking(self):
        order = self._order()
        order.set_delivery_line(self.carrier, 12.5)
        order.action_confirm()
        picking = order.picking_ids.filtered(lambda p: p.picking_type_code == "outgoing")
        picking.move_ids.quantity = 1
        return picking

    def test_dispatch_sends_the_shipment_and_cancel(self):
        picking = self._outgoing_picking()
        dispatch = RunCounter(self.env, "dispatch")
        sends = self._carrier_metric("odoo_carrier_requests_total", "send", outcome="success")
        picking.button_validate()
        self.assertEqual(picking.state, "done")
        self.assertTrue(picking.carrier_tracking_ref.startswith("TRK"))
        self.assertEqual(dispatch.delta("success"), 1)
        self.assertEqual(
            self._carrier_metric("odoo_carrier_requests_total", "send", outcome="success"), sends + 1
        )
        tracking = self._carrier_metric("odoo_carrier_requests_total", "tracking", outcome="success")
        link = self.carrier.get_tracking_link(picking)
        self.assertIn(picking.carrier_tracking_ref, link)
        self.assertEqual(
            self._carrier_metric("odoo_carrier_requests_total", "tracking", outcome="success"), tracking + 1
        )
        cancels = self._carrier_metric("odoo_carrier_requests_total", "cancel", outcome="success")
        seen = len(self.server.seen)
        picking.cancel_shipment()
        # a late request of an earlier test (its client timed out) may land in between
        self.assertIn("/cancel", [path for path, _body in self.server.seen[seen:]])
        self.assertEqual(
            self._carrier_metric("odoo_carrier_requests_total", "cancel", outcome="success"), cancels + 1
        )

    def test_carrier_timeout_fails_the_dispatch_and_is_counted(self):
        picking = self._outgoing_picking()
        dispatch = RunCounter(self.env, "dispatch")
        carrier_runs = RunCounter(self.env, "carrier_call")
        self.server.delay = 1.0
        with self.assertRaises(UserError):
            picking.button_validate()
        self.assertEqual(dispatch.delta("failure"), 1)
        self.assertEqual(dispatch.ledger_delta("failure"), 1)
        self.assertEqual(carrier_runs.delta("failure"), 1)
        self.assertGreaterEqual(
            self._carrier_metric("odoo_carrier_http_requests_total", "send", status="timeout"), 1
        )
