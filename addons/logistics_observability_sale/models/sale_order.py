from odoo import models
from odoo.addons.logistics_observability import observe


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def action_confirm(self):
        with observe.run(self, "order_release", reference=self):
            return super().action_confirm()
