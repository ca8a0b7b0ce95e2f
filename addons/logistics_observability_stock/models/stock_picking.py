import logging

from odoo import fields, models
from odoo.addons.logistics_observability import observe

_logger = logging.getLogger(__name__)


class StockPicking(models.Model):
    _inherit = "stock.picking"

    def _lo_outgoing(self):
        return self.filtered(lambda p: p.picking_type_code == "outgoing")

    def button_validate(self):
        outgoing = self._lo_outgoing()
        if not outgoing:
            return super().button_validate()
        with observe.run(self, "dispatch", reference=outgoing) as run:
            res = super().button_validate()
            if any(p.state != "done" for p in outgoing):
                # a backorder / immediate-transfer wizard was opened: nothing dispatched yet
                run.discard()
            return res

    def _action_done(self):
        # direct calls (code, RPC); under button_validate the outer run is the one counted
        outgoing = self._lo_outgoing()
        if not outgoing:
            return super()._action_done()
        with observe.run(self, "dispatch", reference=outgoing):
            return super()._action_done()

    def write(self, vals):
        if not vals.get("signature"):
            return super().write(vals)
        signed = self._lo_outgoing().filtered(lambda p: not p.signature)
        try:
            res = super().write(vals)
        except Exception:
            self._lo_record_pod(signed, observe.FAILURE)
            raise
        self._lo_record_pod(signed, observe.SUCCESS)
        return res

    def _lo_record_pod(self, pickings, outcome):
        """pod_sync: proof of delivery (signature) reached Odoo; duration = lag since dispatch."""
        if not pickings:
            return
        try:
            now = fields.Datetime.now()
            for picking in pickings:
                lag = (now - picking.date_done).total_seconds() if picking.date_done else 0.0
                observe.record_run(
                    "pod_sync",
                    outcome,
                    lag,
                    tenant=self.env.cr.dbname,
                    reference=picking.name,
                    extra={"event": "signature"},
                )
        except Exception:
            _logger.debug("cannot record pod_sync", exc_info=True)
