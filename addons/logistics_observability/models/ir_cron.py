from odoo import models

from ..compat import odoo18_cron


class IrCron(models.Model):
    _inherit = "ir.cron"

    def _callback(self, cron_name, server_action_id):
        return odoo18_cron.observed_callback(self, super()._callback, cron_name, server_action_id)
