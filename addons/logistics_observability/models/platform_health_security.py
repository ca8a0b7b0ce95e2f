"""Platform Health cards: Security (failed logins, new administrators, new API keys), Recent changes,
Synthetic checks."""

import datetime

from odoo import api, fields, models

from ..core import health_cards, security


class LogisticsPlatformHealth(models.AbstractModel):
    _inherit = "logistics.platform.health"

    @api.model
    def get_cards(self):
        cards = super().get_cards()
        _ = self.env._
        for key, title, method in (
            ("security", _("Security"), self._card_security),
            ("changes", _("Recent changes"), self._card_changes),
            ("synthetic", _("Synthetic checks"), self._card_synthetic),
        ):
            cards.append(self._safe_card(key, title, method))
        return self._sorted_cards(cards)

    def _card_synthetic(self):
        """Inside-out checks' last results; outside-in ones are probed by the blackbox exporter."""
        _ = self.env._
        Check = self.env["logistics.synthetic.check"].sudo()
        checks = Check.search([])
        if not checks:
            return self._card(
                "synthetic",
                _("Synthetic checks"),
                "warn",
                _("No synthetic check defined."),
                _("Add checks of the portal, the tracking endpoint and partner APIs."),
                [],
                sequence=75,
                menu="logistics_observability.action_synthetic_check",
            )
        failing = checks.filtered(lambda c: c.state == "fail").sorted(lambda c: c.failing_since or c.last_run)
        outside = checks.filtered(lambda c: c.mode == "outside_in")
        details = [
            (_("Inside-out checks"), len(checks) - len(outside)),
            (_("Outside-in checks (blackbox exporter)"), len(outside)),
        ]
        details += [
            (c.name, "%s: %s" % (dict(c._fields["state"].selection).get(c.state), c.last_reason or c.url))
            for c in checks.filtered(lambda c: c.mode == "inside_out")[:8]
        ]
        if not failing:
            return self._card(
                "synthetic",
                _("Synthetic checks"),
                "pass",
                _("Every inside-out check passed its last run."),
                "",
                details,
                sequence=75,
                menu="logistics_observability.action_synthetic_check",
            )
        first = failing[0]
        reason = "; ".join(
            _(
                "%(name)s: %(reason)s (since %(since)s)",
                name=c.name,
                reason=c.last_reason or "?",
                since=fields.Datetime.to_string(c.failing_since) if c.failing_since else "?",
            )
            for c in failing[:5]
        )
        action = first.first_action or _(
            "Open %(url)s yourself; if it fails too, check the service behind it "
            "(portal, carrier API, EDI gateway).",
            url=first.url,
        )
        return self._card(
            "synthetic",
            _("Synthetic checks"),
            "fail",
            reason,
            action,
            details,
            sequence=75,
            menu="logistics_observability.action_synthetic_check",
        )

    def _card_changes(self):
        """Module operations, parameter / setting / scheduled action changes of the last 7 days."""
        _ = self.env._
        Audit = self.env["logistics.audit.event"].sudo()
        week = fields.Datetime.now() - datetime.timedelta(days=7)
        recent = Audit.search([("category", "=", "change"), ("create_date", ">=", week)])
        if not recent:
            return self._card(
                "changes",
                _("Recent changes"),
                "pass",
                _("No change in 7 days."),
                "",
                [],
                sequence=85,
                menu="logistics_observability.action_change_event",
            )
        latest = recent[0]
        age = (fields.Datetime.now() - latest.create_date).total_seconds()
        state = health_cards.recent_change_state(age, self._thresholds())
        label = _(
            "%(kind)s %(operation)s %(target)s",
            kind=latest.kind,
            operation=latest.operation,
            target=latest.target,
        )
        reason = _(
            "Latest: %(change)s, %(ago)s ago by %(who)s",
            change=label,
            ago=_human(age),
            who=latest.actor_id.name or _("the system"),
        )
        counts = {}
        for row in recent:
            counts[row.kind] = counts.get(row.kind, 0) + 1
        details = [
            (_("Module operations (7 d)"), counts.get("module", 0)),
            (_("System parameters (7 d)"), counts.get("parameter", 0)),
            (_("Suite settings (7 d)"), counts.get("setting", 0)),
            (_("Scheduled actions (7 d)"), counts.get("cron", 0)),
        ]
        details += [
            (row.create_date.strftime("%Y-%m-%d %H:%M"), "%s %s %s" % (row.kind, row.operation, row.target))
            for row in recent[:5]
        ]
        return self._card(
            "changes",
            _("Recent changes"),
            state,
            reason,
            _(
                "If something broke since, suspect this change first: compare the error rate "
                "before and after it."
            ),
            details,
            sequence=85,
            menu="logistics_observability.action_change_event",
        )

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
        verdict = health_cards.security(_, failed, admins_day, admins_week, keys_week, self._thresholds())
        return self._card(
            "security",
            _("Security"),
            *verdict,
            sequence=80,
            menu="logistics_observability.action_audit_event",
        )


def _human(seconds):
    seconds = int(max(0, seconds))
    if seconds < 3600:
        return "%d min" % (seconds // 60)
    if seconds < 86400:
        return "%d h" % (seconds // 3600)
    return "%d d" % (seconds // 86400)
