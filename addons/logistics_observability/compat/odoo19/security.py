"""Odoo 19.0 parts of the security-signal hooks (the rest: :mod:`..security_common`).

Authentication attempts are counted where Odoo 19 decides them: ``res.users._login`` (a model
method in 19, the database is the environment's): web login (``interactive`` user agent) and
RPC ``common.authenticate`` / ``login``. The per-call RPC check is ``_check_uid_passwd`` (18's
``check``): a refused one is a failed attempt, accepted ones are not counted; the key checks
nested in it are not attempts of their own.

Groups: a user's explicit groups are ``group_ids`` (18: ``groups_id``), a group's explicit
members ``user_ids`` (18: ``users``), implied memberships are no longer stored (``all_user_ids``),
and a group's place in the user form is a ``res.groups.privilege`` (18: ``category_id``).
"""

import logging

from odoo import api, models
from odoo.exceptions import AccessDenied

from ...core import security
from .. import security_common as common

_logger = logging.getLogger(__name__)


class ResUsers(models.Model):
    _inherit = "res.users"  # pylint: disable=consider-merging-classes-inherited

    _lo_user_group_fields = ("group_ids",)
    _lo_user_group_prefixes = ()

    def _login(self, credential, user_agent_env):
        credential = credential or {}
        interactive = bool((user_agent_env or {}).get("interactive", True))
        db, pool = self.env.cr.dbname, self.env.registry
        token = common.nested.set(True)
        try:
            auth_info = super()._login(credential, user_agent_env)
        except AccessDenied:
            method = security.WEB_LOGIN if interactive else security.rpc_method(credential.get("password"))
            common.record(pool, db, method, security.FAILURE, credential.get("login"))
            raise
        finally:
            common.nested.reset(token)
        try:
            method = common.login_method(interactive, credential, auth_info)
            common.record(pool, db, method, security.SUCCESS, credential.get("login"))
        except Exception:
            _logger.debug("counting a login failed", exc_info=True)
        return auth_info

    @api.model
    def _check_uid_passwd(self, uid, passwd):
        token = common.nested.set(True)
        try:
            return super()._check_uid_passwd(uid, passwd)
        except AccessDenied:
            common.record_refused_call(self.env.registry, self.env.cr.dbname, uid, passwd)
            raise
        finally:
            common.nested.reset(token)

    def _lo_group_members(self, group):
        return set(group.sudo().with_context(active_test=False).all_user_ids.ids)


class ResGroups(models.Model):
    _inherit = "res.groups"  # pylint: disable=consider-merging-classes-inherited

    _lo_group_member_fields = ("user_ids", "implied_ids")

    @api.model
    def _lo_setup_groups(self):
        self = self.with_context(lo_setup_groups=True)
        category = self.env.ref("logistics_observability.module_category_observability")
        privilege = self.env.ref("logistics_observability.privilege_observability", raise_if_not_found=False)
        values = {"name": category.name, "category_id": category.id}
        if privilege:
            privilege.write(values)
        else:
            privilege = self.env["res.groups.privilege"]._load_records(
                [{"xml_id": "logistics_observability.privilege_observability", "values": values}]
            )
        groups = self.env["res.groups"]
        for name in ("viewer", "admin", "integration"):
            groups |= self.env.ref("logistics_observability.group_observability_%s" % name)
        groups.write({"privilege_id": privilege.id})
        # viewers only may run the actions that compute the Queue Depth and Workflows lists
        viewer = self.env.ref("logistics_observability.group_observability_viewer")
        for action in ("action_queue_depth", "action_workflow_summary"):
            self.env.ref("logistics_observability." + action).write({"group_ids": [(4, viewer.id)]})
        admins = [self.env.ref("base.user_root").id, self.env.ref("base.user_admin").id]
        self.env.ref("logistics_observability.group_observability_admin").write(
            {"user_ids": [(4, uid) for uid in admins]}
        )
