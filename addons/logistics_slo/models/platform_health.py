from odoo import api, models


class LogisticsPlatformHealth(models.AbstractModel):
    _inherit = "logistics.platform.health"

    @api.model
    def get_cards(self):
        cards = super().get_cards()
        _ = self.env._
        menu = "logistics_slo.action_logistics_slo"

        def card():
            state, reason, action, details = self.env["logistics.slo"].get_dashboard_card()
            return self._card("slo", _("SLOs"), state, reason, action, details, sequence=70, menu=menu)

        cards.append(self._safe_card("slo", _("SLOs"), card, sequence=70, menu=menu))
        return self._sorted_cards(cards)
