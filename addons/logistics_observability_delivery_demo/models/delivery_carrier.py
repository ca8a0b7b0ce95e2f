import requests

from odoo import _, fields, models
from odoo.exceptions import UserError


class DeliveryCarrier(models.Model):
    _inherit = "delivery.carrier"

    delivery_type = fields.Selection(
        selection_add=[("demo_http", "Demo HTTP Carrier")],
        ondelete={"demo_http": lambda recs: recs.write({"delivery_type": "fixed", "fixed_price": 0})},
    )
    demo_http_url = fields.Char(
        string="Demo Carrier Endpoint",
        help="Base URL of the demo carrier API (POST /rate, /ship, /cancel), e.g. http://127.0.0.1:8099.",
    )
    demo_http_timeout = fields.Float(string="Demo Carrier Timeout (s)", default=5.0)

    # ------------------------------------------------------------------
    # demo_http: a minimal carrier API over HTTP (JSON in, JSON out)

    def _demo_http_post(self, path, payload):
        self.ensure_one()
        if not self.demo_http_url:
            raise UserError(_("The demo carrier %s has no endpoint URL.", self.name))
        url = self.demo_http_url.rstrip("/") + path
        try:
            response = requests.post(url, json=payload, timeout=self.demo_http_timeout or 5.0)
        except requests.Timeout as exc:
            raise UserError(_("The carrier did not answer in time (%s).", url)) from exc
        except requests.RequestException as exc:
            raise UserError(_("The carrier could not be reached: %s", exc)) from exc
        if response.status_code >= 400:
            raise UserError(_("The carrier refused the request (HTTP %s).", response.status_code))
        try:
            return response.json()
        except ValueError as exc:
            raise UserError(_("The carrier answered with invalid JSON.")) from exc

    def demo_http_rate_shipment(self, order):
        try:
            answer = self._demo_http_post(
                "/rate", {"order": order.name, "weight": sum(order.order_line.mapped("product_uom_qty"))}
            )
            return {
                "success": True,
                "price": float(answer.get("price", 0.0)),
                "error_message": False,
                "warning_message": False,
            }
        except UserError as exc:
            return {"success": False, "price": 0.0, "error_message": str(exc), "warning_message": False}

    def demo_http_send_shipping(self, pickings):
        results = []
        for picking in pickings:
            answer = self._demo_http_post(
                "/ship", {"picking": picking.name, "weight": picking.shipping_weight or picking.weight}
            )
            results.append(
                {
                    "exact_price": float(answer.get("price", 0.0)),
                    "tracking_number": str(answer.get("tracking_number") or ""),
                }
            )
        return results

    def demo_http_get_tracking_link(self, picking):
        return "%s/track/%s" % ((self.demo_http_url or "").rstrip("/"), picking.carrier_tracking_ref or "")

    def demo_http_cancel_shipment(self, pickings):
        for picking in pickings:
            self._demo_http_post("/cancel", {"tracking_number": picking.carrier_tracking_ref})
            picking.write({"carrier_tracking_ref": False, "carrier_price": 0.0})
