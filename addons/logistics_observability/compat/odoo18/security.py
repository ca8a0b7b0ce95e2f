"""Odoo 18.0 parts of the security-signal hooks (the rest: :mod:`..security_common`).

Authentication attempts are counted where Odoo 18 decides them: ``res.users._login`` (a
classmethod taking the database in 18): web login (``interactive`` user agent) and RPC
``common.authenticate`` / ``login`` (password or API key, non-interactive); and
``res.users.check``, which every RPC call (``object.execute_kw``, XML-RPC or JSON-RPC) makes with
its uid and password: a refused check is a failed attempt (``rpc_password`` or ``api_key`` by the
secret's shape); accepted checks are not counted, one per call. The nested checks inside
``_login`` and ``res.users.check`` are not attempts of their own.
"""

import logging

from odoo import api, models
from odoo.exceptions import AccessDenied

from ...core import security
from .. import security_common as common

_logger = logging.getLogger(__name__)


class ResUsers(models.Model):
    _inherit = "res.users"  # pylint: disable=consider-merging-classes-inherited

    _lo_user_group_fields = ("groups_id",)
    _lo_user_group_prefixes = ("in_group_", "sel_groups_")

    @classmethod
    def _login(cls, db, credential, user_agent_env):
        credential = credential or {}
        interactive = bool((user_agent_env or {}).get("interactive", True))
        token = common.nested.set(True)
        try:
            auth_info = super()._login(db, credential, user_agent_env)
        except AccessDenied:
            method = security.WEB_LOGIN if interactive else security.rpc_method(credential.get("password"))
            common.record(cls.pool, db, method, security.FAILURE, credential.get("login"))
            raise
        finally:
            common.nested.reset(token)
        try:
            method = common.login_method(interactive, credential, auth_info)
            common.record(cls.pool, db, method, security.SUCCESS, credential.get("login"))
        except Exception:
            _logger.debug("counting a login failed", exc_info=True)
        return auth_info

    @classmethod
    def check(cls, db, uid, passwd):
        # every RPC call (``execute_kw``) checks its uid and password: a refused one is an attempt
        # (a brute force needs no ``authenticate``); accepted ones are not counted per call
        token = common.nested.set(True)
        try:
            return super().check(db, uid, passwd)
        except AccessDenied:
            common.record_refused_call(cls.pool, db, uid, passwd)
            raise
        finally:
            common.nested.reset(token)

    def _lo_group_members(self, group):
        # Odoo 18 stores implied memberships in the relation table too: one query
        self.env.cr.execute("SELECT uid FROM res_groups_users_rel WHERE gid = %s", (group.id,))
        return {row[0] for row in self.env.cr.fetchall()}


class ResGroups(models.Model):
    _inherit = "res.groups"  # pylint: disable=consider-merging-classes-inherited

    _lo_group_member_fields = ("users", "implied_ids")

    @api.model
    def _lo_setup_groups(self):
        self = self.with_context(lo_setup_groups=True)
        category = self.env.ref("logistics_observability.module_category_observability")
        groups = self.env["res.groups"]
        for name in ("viewer", "admin", "integration"):
            groups |= self.env.ref("logistics_observability.group_observability_%s" % name)
        groups.write({"category_id": category.id})
        # viewers only may run the actions that compute the Queue Depth and Workflows lists
        viewer = self.env.ref("logistics_observability.group_observability_viewer")
        for action in ("action_queue_depth", "action_workflow_summary"):
            self.env.ref("logistics_observability." + action).write({"groups_id": [(4, viewer.id)]})
        admins = [self.env.ref("base.user_root").id, self.env.ref("base.user_admin").id]
        self.env.ref("logistics_observability.group_observability_admin").write(
            {"users": [(4, uid) for uid in admins]}
        )
