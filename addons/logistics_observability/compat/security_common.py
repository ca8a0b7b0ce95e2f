"""Security-signal hooks that are the same on every supported series (:mod:`..core.security`).

The series modules (``odoo18/security.py``, ``odoo19/security.py``) add what differs: how a login
is decided (``res.users._login``), the fields through which groups change, how a group's members
(implied ones included) are read, and how the suite's groups get their category and members.

- ``res.users.apikeys._check_credentials`` called outside a login: a bearer API key on an
  HTTP route (``auth="bearer"``, e.g. the suite's ingest endpoints). The nested checks Odoo
  makes inside a login or an RPC call's credential check are not attempts of their own.

Privilege changes (administrative group membership, API keys) are stored as
``logistics.audit.event`` rows in the same transaction, and counted and logged once it commits.
The client IP is the request's ``remote_addr``, which Odoo rewrites from forwarded headers only
in ``proxy_mode``.
"""

import contextvars
import logging

from odoo import api, models
from odoo.http import request

from ..core import security, tables

_logger = logging.getLogger(__name__)

nested = contextvars.ContextVar("logistics_observability_auth_nested", default=False)

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
            if tables.table_exists(cr, security.AUTH_LEDGER):
                cr.execute(security.AUTH_LEDGER_UPSERT, (method, outcome))
    except Exception as exc:
        _logger.debug("auth ledger write failed: %s", exc)


def record(pool, db, method, outcome, login):
    security.record_auth(db, method, outcome, login=login, client_ip=client_ip())
    _ledger(pool, method, outcome)


def _login_of(pool, uid):
    """The login of ``uid`` for the attempt's log event (None when there is no such user)."""
    if not isinstance(uid, int):
        return None
    with pool.cursor() as cr:
        cr.execute("SELECT login FROM res_users WHERE id = %s", (uid,))
        row = cr.fetchone()
    return row[0] if row else None


def record_refused_call(pool, db, uid, passwd):
    """An RPC call whose per-call password check was refused: a failed attempt."""
    try:
        record(pool, db, security.rpc_method(passwd), security.FAILURE, _login_of(pool, uid))
    except Exception:
        _logger.debug("counting a refused RPC call failed", exc_info=True)


def login_method(interactive, credential, auth_info=None):
    if interactive:
        return security.WEB_LOGIN
    return security.rpc_method(credential.get("password"), (auth_info or {}).get("auth_method") or "password")


# One model extension in two parts: what holds on every series here, the rest in the series module.
class ResUsers(models.Model):
    _inherit = "res.users"  # pylint: disable=consider-merging-classes-inherited

    # set by the series module: fields through which a user's groups change (the user form
    # writes reified fields with these prefixes)
    _lo_user_group_fields = ()
    _lo_user_group_prefixes = ()

    def _lo_group_members(self, group):
        """Ids of the users in ``group``, implied membership included (series module)."""
        raise NotImplementedError

    # -- administrative groups -------------------------------------------------
    def _lo_admin_snapshot(self):
        """``{group xml id: set(user ids)}`` of the watched groups."""
        snapshot = {}
        try:
            self.env.flush_all()
            for xmlid in security.ADMIN_GROUPS:
                group = self.env.ref(xmlid, raise_if_not_found=False)
                if group:
                    snapshot[xmlid] = self._lo_group_members(group)
        except Exception as exc:
            _logger.debug("admin group snapshot failed: %s", exc)
            return None
        return snapshot

    @api.model
    def _lo_touches_groups(self, vals):
        prefixes = self._lo_user_group_prefixes
        return any(k in self._lo_user_group_fields or (prefixes and k.startswith(prefixes)) for k in vals)

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
    _inherit = "res.groups"  # pylint: disable=consider-merging-classes-inherited

    # set by the series module: fields through which a group's members change
    _lo_group_member_fields = ()

    @api.model
    def _lo_setup_groups(self):
        """Category (18.0) or privilege (19.0) and first members of the suite's groups, called
        from ``security/security.xml`` (series module)."""
        raise NotImplementedError

    def write(self, vals):
        # the suite's own set-up of its groups at install/upgrade is no privilege change
        setup = self.env.context.get("lo_setup_groups")
        if setup or not any(k in self._lo_group_member_fields for k in vals):
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
        if not nested.get() and request:
            try:
                db = self.env.cr.dbname
                login = self.env["res.users"].sudo().browse(uid).login if uid else None
                record(
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
