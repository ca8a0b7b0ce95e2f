"""Odoo 18 hooks for the security signals (:mod:`..core.security`).

Authentication attempts are counted where Odoo 18 decides them:

- ``res.users._login`` (a classmethod in 18): web login (``interactive`` user agent) and RPC
  ``common.authenticate`` / ``login`` (password or API key, non-interactive);
- ``res.users.check``, which every RPC call (``object.execute_kw``, XML-RPC or JSON-RPC) makes
  with its uid and password: a refused check is a failed attempt (``rpc_password`` or
  ``api_key`` by the secret's shape); accepted checks are not counted, one per call;
- ``res.users.apikeys._check_credentials`` called outside a login: a bearer API key on an
  HTTP route (``auth="bearer"``, e.g. the suite's ingest endpoints). The nested checks Odoo
  makes inside ``_login`` and ``res.users.check`` are not attempts of their own.

Privilege changes (administrative group membership, API keys) are stored as
``logistics.audit.event`` rows in the same transaction, and counted and logged once it commits.
The client IP is the request's ``remote_addr``, which Odoo rewrites from forwarded headers only
in ``proxy_mode``.
"""

import contextvars
import logging

from odoo import api, models
from odoo.exceptions import AccessDenied
from odoo.http import request

from ...core import security

_logger = logging.getLogger(__name__)

_nested = contextvars.ContextVar("logistics_observability_auth_nested", default=False)

# Odoo 18 fields through which a user's groups change (the user form writes reified fields).
_USER_GROUP_FIELDS = ("groups_id",)
_USER_GROUP_PREFIXES = ("in_group_", "sel_groups_")
_GROUP_MEMBER_FIELDS = ("users", "implied_ids")

_ENDPOINTS = {"/logistics_observability/events": "events", "/logistics_observability/backups": "backups"}


def client_ip():
    try:
        return request.httprequest.remote_addr if request else None
    except Exception:  # no request bound in this thread
        return None


def _ledger(pool, method, outcome):
    """Add the attempt to the tenant's per-minute auth ledger, in its own short transaction
    (a failed login's transaction is rolled back)."""
    try:
        with pool.cursor() as cr:
            cr.execute(security.AUTH_LEDGER_EXISTS)
            if cr.fetchone()[0]:
                cr.execute(security.AUTH_LEDGER_UPSERT, (method, outcome))
    except Exception as exc:
        _logger.debug("auth ledger write failed: %s", exc)


def _login_of(pool, uid):
    """The login of ``uid`` for the attempt's log event (None when there is no such user)."""
    if not isinstance(uid, int):
        return None
    with pool.cursor() as cr:
        cr.execute("SELECT login FROM res_users WHERE id = %s", (uid,))
        row = cr.fetchone()
    return row[0] if row else None


def _record(pool, db, method, outcome, login):
    security.record_auth(db, method, outcome, login=login, client_ip=client_ip())
    _ledger(pool, method, outcome)


class ResUsers(models.Model):
    _inherit = "res.users"

    @classmethod
    def _login(cls, db, credential, user_agent_env):
        credential = credential or {}
        interactive = bool((user_agent_env or {}).get("interactive", True))
        token = _nested.set(True)
        try:
            auth_info = super()._login(db, credential, user_agent_env)
        except AccessDenied:
            method = security.WEB_LOGIN if interactive else security.rpc_method(credential.get("password"))
            _record(cls.pool, db, method, security.FAILURE, credential.get("login"))
            raise
        finally:
            _nested.reset(token)
        try:
            method = (
                security.WEB_LOGIN
                if interactive
                else security.rpc_method(
                    credential.get("password"), (auth_info or {}).get("auth_method") or "password"
                )
            )
            _record(cls.pool, db, method, security.SUCCESS, credential.get("login"))
        except Exception:
            _logger.debug("counting a login failed", exc_info=True)
        return auth_info

    @classmethod
    def check(cls, db, uid, passwd):
        # every RPC call (``execute_kw``) checks its uid and password: a refused one is an attempt
        # (a brute force needs no ``authenticate``); accepted ones are not counted per call
        token = _nested.set(True)
        try:
            return super().check(db, uid, passwd)
        except AccessDenied:
            try:
                _record(cls.pool, db, security.rpc_method(passwd), security.FAILURE, _login_of(cls.pool, uid))
            except Exception:
                _logger.debug("counting a refused RPC call failed", exc_info=True)
            raise
        finally:
            _nested.reset(token)

    # -- administrative groups -------------------------------------------------
    def _lo_admin_snapshot(self):
        """``{group xml id: set(user ids)}`` of the watched groups (Odoo 18 stores implied
        groups in the relation table, so membership is one query)."""
        snapshot = {}
        try:
            self.env.flush_all()
            for xmlid in security.ADMIN_GROUPS:
                group = self.env.ref(xmlid, raise_if_not_found=False)
                if group:
                    self.env.cr.execute("SELECT uid FROM res_groups_users_rel WHERE gid = %s", (group.id,))
                    snapshot[xmlid] = {row[0] for row in self.env.cr.fetchall()}
        except Exception as exc:
            _logger.debug("admin group snapshot failed: %s", exc)
            return None
        return snapshot

    @api.model
    def _lo_touches_groups(self, vals):
        return any(k in _USER_GROUP_FIELDS or k.startswith(_USER_GROUP_PREFIXES) for k in vals)

    def _lo_audit_groups(self, before):
        after = self._lo_admin_snapshot()
        if before is None or after is None:
            return
        try:
            changes = security.membership_changes(before, after)
            if changes:
                self.env["logistics.audit.event"].sudo()._lo_privilege_changes(changes, client_ip())
        except Exception:
            _logger.debug("auditing group changes failed", exc_info=True)

    @api.model_create_multi
    def create(self, vals_list):
        before = self._lo_admin_snapshot()
        users = super().create(vals_list)
        self._lo_audit_groups(before)
        return users

    def write(self, vals):
        if not self._lo_touches_groups(vals):
            return super().write(vals)
        before = self._lo_admin_snapshot()
        result = super().write(vals)
        self._lo_audit_groups(before)
        return result


class ResGroups(models.Model):
    _inherit = "res.groups"

    def write(self, vals):
        if not any(k in _GROUP_MEMBER_FIELDS for k in vals):
            return super().write(vals)
        users = self.env["res.users"]
        before = users._lo_admin_snapshot()
        result = super().write(vals)
        users._lo_audit_groups(before)
        return result


class ResUsersApikeys(models.Model):
    _inherit = "res.users.apikeys"

    def _check_credentials(self, *, scope, key):
        uid = super()._check_credentials(scope=scope, key=key)
        if not _nested.get() and request:
            try:
                db = self.env.cr.dbname
                login = self.env["res.users"].sudo().browse(uid).login if uid else None
                _record(
                    self.env.registry,
                    db,
                    security.API_KEY,
                    security.SUCCESS if uid else security.FAILURE,
                    login,
                )
                endpoint = _ENDPOINTS.get(request.httprequest.path)
                if endpoint and not uid:
                    security.record_endpoint_auth_failure(endpoint, 401)
            except Exception:
                _logger.debug("counting an API key check failed", exc_info=True)
        return uid

    def _generate(self, scope, name, expiration_date):
        key = super()._generate(scope, name, expiration_date)
        try:
            self.env["logistics.audit.event"].sudo()._lo_api_key_event(
                security.API_KEY_CREATED, self.env.user, name, scope, client_ip()
            )
        except Exception:
            _logger.debug("auditing an API key creation failed", exc_info=True)
        return key

    def unlink(self):
        try:
            events = [(rec.sudo().user_id, rec.sudo().name, rec.sudo().scope) for rec in self]
        except Exception:
            events = []
        result = super().unlink()
        try:
            for user, name, scope in events:
                self.env["logistics.audit.event"].sudo()._lo_api_key_event(
                    security.API_KEY_REVOKED, user, name, scope, client_ip()
                )
        except Exception:
            _logger.debug("auditing an API key revocation failed", exc_info=True)
        return result
