from odoo import api, models


class LogisticsWorkflowEvent(models.Model):
    _inherit = "logistics.workflow.event"

    @api.model
    def _dispatch_time(self, reference):
        """A proof of delivery's lag is measured from the validation of its outgoing picking."""
        picking = (
            self.env["stock.picking"]
            .sudo()
            .search(
                [("name", "=", reference), ("picking_type_code", "=", "outgoing"), ("state", "=", "done")],
                limit=1,
            )
        )
        return picking.date_done or super()._dispatch_time(reference)
