"""The Security card of Platform Health: failed logins, new administrators, new API keys."""

import datetime
import logging

from odoo import api, fields, models

from ..core import security

_logger = logging.getLogger(__name__)


class LogisticsPlatformHealth(models.AbstractModel):
    _inherit = "logistics.platform.health"

    _failed_logins_warn = 20
    _failed_logins_fail = 200

    @api.model
    def get_cards(self):
        cards = super().get_cards()
        try:
            with self.env.cr.savepoint():
                cards.append(self._card_security())
        except Exception as exc:  # one broken check must not hide the other cards
            _logger.warning("platform health card security failed: %s", exc)
            cards.append(
                self._card(
                    "security",
                    self.env._("Security"),
                    "fail",
                    self.env._("Check failed: %s") % type(exc).__name__,
                    self.env._("Read the Odoo server log for the error."),
                )
            )
        return sorted(cards, key=lambda c: (c["sequence"], c["key"]))

    def _card_security(self):
        _ = self.env._
        Audit = self.env["logistics.audit.event"].sudo()
        failed = Audit._lo_failed_logins(24)
        day = fields.Datetime.now() - datetime.timedelta(hours=24)
        week = fields.Datetime.now() - datetime.timedelta(days=7)
        admins_day = Audit.search_count([("event", "=", security.ADMIN_GRANTED), ("create_date", ">=", day)])
        admins_week = Audit.search_count(
            [("event", "=", security.ADMIN_GRANTED), ("create_date", ">=", week)]
        )
        keys_week = Audit.search_count(
            [("event", "=", security.API_KEY_CREATED), ("create_date", ">=", week)]
        )
        states, reasons, action = [], [], ""
        if failed >= self._failed_logins_fail:
            states.append("fail")
            reasons.append(_("%d failed logins in 24 h") % failed)
            action = _("Find the source IPs in the auth_attempt log events and block them at the proxy.")
        elif failed >= self._failed_logins_warn:
            states.append("warn")
            reasons.append(_("%d failed logins in 24 h") % failed)
            action = _("Check the auth_attempt log events: one user mistyping, or someone guessing?")
        if admins_day:
            states.append("warn")
            reasons.append(_("%d administrator rights granted in 24 h") % admins_day)
            action = action or _("Confirm each new administrator in Security Audit with whoever granted it.")
        state = max(states, key=("pass", "warn", "fail").index) if states else "pass"
        details = [
            (_("Failed logins (24 h)"), failed),
            (_("New administrators (7 d)"), admins_week),
            (_("New API keys (7 d)"), keys_week),
        ]
        return self._card(
            "security",
            _("Security"),
            state,
            "; ".join(reasons) or _("No unusual login failures or privilege changes."),
            action,
            details,
            sequence=80,
            menu="logistics_observability.action_audit_event",
        )
