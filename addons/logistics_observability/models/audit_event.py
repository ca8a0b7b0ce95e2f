"""Audit events of this database (privilege changes), and the per-minute auth ledger.

Rows are written in the transaction that made the change (so a rolled-back change leaves
none); the counter and the log event follow once it commits. Never holds a secret.
"""

import datetime
import json

from odoo import api, fields, models

from ..core import security

KEEP_DAYS = 90


class LogisticsAuditEvent(models.Model):
    _name = "logistics.audit.event"
    _description = "Audit event"
    _order = "create_date desc, id desc"

    event = fields.Selection(
        [
            (security.ADMIN_GRANTED, "Administrator added"),
            (security.ADMIN_REVOKED, "Administrator removed"),
            (security.API_KEY_CREATED, "API key created"),
            (security.API_KEY_REVOKED, "API key revoked"),
        ],
        required=True,
        readonly=True,
        index=True,
    )
    actor_id = fields.Many2one("res.users", string="By", readonly=True, ondelete="set null")
    target_id = fields.Many2one("res.users", string="User", readonly=True, ondelete="set null")
    target_login = fields.Char(string="Login", readonly=True)
    group_xmlid = fields.Char(string="Group", readonly=True)
    client_ip = fields.Char(string="Client IP", readonly=True)
    detail = fields.Char(readonly=True)

    def init(self):
        self.env.cr.execute(security.AUTH_LEDGER_DDL)

    @api.model
    def _lo_add(self, event, target, group=None, client_ip=None, detail=None):
        actor = self.env.user  # the sudo() caller keeps its user
        tenant = self.env.cr.dbname
        self.create(
            {
                "event": event,
                "actor_id": actor.id,
                "target_id": target.id if target else False,
                "target_login": target.login if target else False,
                "group_xmlid": group,
                "client_ip": client_ip,
                "detail": (detail or "")[:200] or False,
            }
        )
        actor_login, target_login = actor.login, target.login if target else None
        self.env.cr.postcommit.add(
            lambda: security.record_privilege_change(
                tenant,
                event,
                actor=actor_login,
                target=target_login,
                group=group,
                client_ip=client_ip,
                detail=detail,
            )
        )

    @api.model
    def _lo_privilege_changes(self, changes, client_ip=None):
        users = self.env["res.users"].sudo().with_context(active_test=False)
        for change, group, uid in changes:
            self._lo_add(change, users.browse(uid), group=group, client_ip=client_ip)

    @api.model
    def _lo_api_key_event(self, event, user, name, scope, client_ip=None):
        detail = json.dumps({"name": (name or "")[:80], "scope": scope or None}, sort_keys=True)
        self._lo_add(event, user, client_ip=client_ip, detail=detail)

    @api.model
    def _lo_failed_logins(self, hours=24):
        self.env.cr.execute(security.AUTH_LEDGER_EXISTS)
        if not self.env.cr.fetchone()[0]:
            return 0
        self.env.cr.execute(
            "SELECT coalesce(sum(count), 0) FROM logistics_auth_ledger WHERE outcome = %s "
            "AND minute >= (now() AT TIME ZONE 'UTC') - make_interval(hours => %s)",
            (security.FAILURE, hours),
        )
        return int(self.env.cr.fetchone()[0])

    @api.autovacuum
    def _gc_audit(self):
        limit = fields.Datetime.now() - datetime.timedelta(days=KEEP_DAYS)
        self.sudo().search([("create_date", "<", limit)]).unlink()
        self.env.cr.execute("DELETE FROM logistics_auth_ledger WHERE minute < %s", (limit,))
