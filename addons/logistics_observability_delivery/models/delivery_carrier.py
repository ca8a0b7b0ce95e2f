import logging

from odoo import models
from odoo.addons.logistics_observability import observe

_logger = logging.getLogger(__name__)

# outbound ``requests`` calls made inside a carrier operation are timed by the main addon's
# version layer (installed once per process), not patched here; the demo carrier lives in
# logistics_observability_delivery_demo


class DeliveryCarrier(models.Model):
    _inherit = "delivery.carrier"

    # ------------------------------------------------------------------
    # carrier_call instrumentation

    def _lo_observed(self, operation, method, records, reference):
        carrier = (self[:1].delivery_type or "unknown") if self else "unknown"
        try:
            observed = observe.carrier_call(
                carrier,
                operation,
                tenant=self.env.cr.dbname,
                reference=reference,
                sql_counter=observe.sql_counter(self.env.cr),
                reference_kind=records._name,
            )
        except Exception:
            _logger.debug("cannot observe carrier call", exc_info=True)
            return method(records)
        with observed as run:
            res = method(records)
            if operation == "rate" and isinstance(res, dict) and not res.get("success"):
                run.fail(res.get("error_message") or "rate refused")
            return res

    def rate_shipment(self, order):
        return self._lo_observed("rate", super().rate_shipment, order, order.name)

    def send_shipping(self, pickings):
        return self._lo_observed("send", super().send_shipping, pickings, observe.references(pickings))

    def get_tracking_link(self, picking):
        return self._lo_observed("tracking", super().get_tracking_link, picking, picking.name)

    def cancel_shipment(self, pickings):
        return self._lo_observed("cancel", super().cancel_shipment, pickings, observe.references(pickings))
