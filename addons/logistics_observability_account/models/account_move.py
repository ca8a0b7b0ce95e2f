from odoo import models
from odoo.addons.logistics_observability import observe

CUSTOMER_TYPES = ("out_invoice", "out_refund")


class AccountMove(models.Model):
    _inherit = "account.move"

    def _post(self, soft=True):
        customer = self.filtered(lambda m: m.move_type in CUSTOMER_TYPES)
        if not customer:
            return super()._post(soft=soft)
        with observe.run(self, "invoicing", reference=customer):
            return super()._post(soft=soft)
