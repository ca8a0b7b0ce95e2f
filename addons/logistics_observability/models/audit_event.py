"""Audit events of this database (privilege changes, what changed), and the per-minute auth ledger.

Rows are written in the transaction that made the change (so a rolled-back change leaves
none); the counter and the log event follow once it commits. Never holds a secret.
"""

import datetime
import json
import logging

from odoo import api, fields, models

from .. import compat
from ..core import changes, security, tables

_logger = logging.getLogger(__name__)

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
            ("change", "Change"),
        ],
        required=True,
        readonly=True,
        index=True,
    )
    category = fields.Selection(
        [("security", "Security"), ("change", "Change")],
        required=True,
        default="security",
        readonly=True,
        index=True,
    )
    kind = fields.Selection([(k, k.title()) for k in changes.KINDS], readonly=True)
    operation = fields.Char(readonly=True)
    target = fields.Char(readonly=True, help="Module, parameter key or scheduled action")
    before_value = fields.Char(string="Before", readonly=True)
    after_value = fields.Char(string="After", readonly=True)
    actor_id = fields.Many2one("res.users", string="By", readonly=True, ondelete="set null")
    target_id = fields.Many2one("res.users", string="User", readonly=True, ondelete="set null")
    target_login = fields.Char(string="Login", readonly=True)
    group_xmlid = fields.Char(string="Group", readonly=True)
    client_ip = fields.Char(string="Client IP", readonly=True)
    detail = fields.Char(readonly=True)

    def init(self):
        self.env.cr.execute(security.AUTH_LEDGER_DDL)
        self.env.cr.execute(changes.DDL)

    # -- what changed ----------------------------------------------------------
    @api.model
    def _lo_change(self, kind, operation, target, before=None, after=None, actor=None):
        """One change: a row, a count (``logistics_change_count``), a log event once committed.
        ``before``/``after`` must already be masked (:func:`changes.shown`)."""
        actor = actor if actor is not None else self.env.user
        tenant = self.env.cr.dbname
        self.create(
            {
                "event": "change",
                "category": "change",
                "kind": kind,
                "operation": operation,
                "target": str(target)[:200],
                "before_value": before,
                "after_value": after,
                "actor_id": actor.id if actor else False,
            }
        )
        self.env.cr.execute(changes.COUNT_UPSERT, (kind, operation))
        login = actor.login if actor else None
        self.env.cr.postcommit.add(
            lambda: changes.log_change(tenant, kind, operation, target, login, before, after)
        )

    @api.model
    def _lo_module_changes(self):
        """Compare the installed modules with the last snapshot; record what changed. Runs at each
        registry load; one process does it (advisory lock), the others skip."""
        cr = self.env.cr
        cr.execute("SELECT pg_try_advisory_xact_lock(hashtext('logistics_module_snapshot'))")
        if not cr.fetchone()[0]:
            return []
        cr.execute(
            "SELECT name, coalesce(latest_version, '') FROM ir_module_module WHERE state = 'installed'"
        )
        current = dict(cr.fetchall())
        cr.execute("SELECT name, coalesce(version, '') FROM logistics_module_snapshot")
        snapshot = dict(cr.fetchall())
        found = []
        if snapshot:  # the first snapshot is the baseline, not a change
            cr.execute("SELECT name, operation, uid FROM logistics_module_intent")
            intents = {name: (op, uid) for name, op, uid in cr.fetchall()}
            # the version layer's -i/-u reader
            intents = {**compat.requested_operations(self.env.registry, snapshot), **intents}
            found, consumed = changes.module_operations(snapshot, current, intents)
            # dependencies installed along have no intent of their own: the user who asked
            fallback = max((i[1] or 0 for i in intents.values()), default=0) or None
            users = self.env["res.users"].sudo().with_context(active_test=False)
            for op in found:
                uid = op["uid"] or fallback
                self._lo_change(
                    "module",
                    op["operation"],
                    op["module"],
                    op["from"],
                    op["to"],
                    actor=users.browse(uid).exists() if uid else users,
                )
            if consumed:
                cr.execute("DELETE FROM logistics_module_intent WHERE name = ANY(%s)", (list(consumed),))
        if found or not snapshot:
            cr.execute("DELETE FROM logistics_module_snapshot")
            for name, version in sorted(current.items()):
                cr.execute(
                    "INSERT INTO logistics_module_snapshot (name, version) VALUES (%s, %s)", (name, version)
                )
        return found

    def _register_hook(self):
        super()._register_hook()
        try:
            with self.env.cr.savepoint():
                self._lo_module_changes()
        except Exception as exc:  # never break a registry load
            _logger.warning("logistics_observability: module change detection failed: %s", exc)

    # -- security --------------------------------------------------------------
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
    def _lo_privilege_changes(self, found, client_ip=None):
        users = self.env["res.users"].sudo().with_context(active_test=False)
        for change, group, uid in found:
            self._lo_add(change, users.browse(uid), group=group, client_ip=client_ip)

    @api.model
    def _lo_api_key_event(self, event, user, name, scope, client_ip=None):
        detail = json.dumps({"name": (name or "")[:80], "scope": scope or None}, sort_keys=True)
        self._lo_add(event, user, client_ip=client_ip, detail=detail)

    @api.model
    def _lo_failed_logins(self, hours=24):
        if not tables.table_exists(self.env.cr, security.AUTH_LEDGER):
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
