from odoo import _, api, models


class LogisticsPlatformHealth(models.AbstractModel):
    _inherit = "logistics.platform.health"

    @api.model
    def get_cards(self):
        cards = super().get_cards()
        try:
            with self.env.cr.savepoint():
                state, reason, action, details = self.env["logistics.slo"].get_dashboard_card()
        except Exception as exc:  # the SLO card must not break the dashboard
            state, reason, action, details = (
                "fail",
                _("Check failed: %s") % type(exc).__name__,
                _("Read the Odoo server log for the error."),
                [],
            )
        cards.append(
            self._card(
                "slo",
                _("SLOs"),
                state,
                reason,
                action,
                details,
                sequence=70,
                menu="logistics_slo.action_logistics_slo",
            )
        )
        return sorted(cards, key=lambda c: (c["sequence"], c["key"]))
