from odoo.tests import new_test_user, tagged
from odoo.tests.common import TransactionCase

from . import series


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    """The suite installs with base/web only and exposes its groups and menu."""

    def test_groups_and_menu(self):
        viewer = self.env.ref("logistics_observability.group_observability_viewer")
        admin = self.env.ref("logistics_observability.group_observability_admin")
        self.assertIn(viewer, admin.implied_ids, "an administrator is also a viewer")
        root = self.env.ref("logistics_observability.menu_platform_health_root")
        self.assertEqual(root.name, "Platform Health")
        self.assertFalse(root.parent_id, "Platform Health is a top-level menu")

    def test_menu_visible_to_viewers_only(self):
        root = self.env.ref("logistics_observability.menu_platform_health_root")
        viewer = new_test_user(
            self.env,
            login="lo_viewer",
            groups="base.group_user,logistics_observability.group_observability_viewer",
        )
        plain = new_test_user(self.env, login="lo_plain", groups="base.group_user")
        viewers = self.env.ref("logistics_observability.group_observability_viewer")
        self.assertEqual(root[series.user_groups(self.env)], viewers)
        self.assertIn(root.id, self.env["ir.ui.menu"].with_user(viewer)._visible_menu_ids())
        self.assertNotIn(root.id, self.env["ir.ui.menu"].with_user(plain)._visible_menu_ids())
