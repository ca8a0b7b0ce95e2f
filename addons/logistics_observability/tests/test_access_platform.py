from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestAccessPlatform(TransactionCase):
    """Observability Viewer reads, Observability Administrator configures, others see nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.viewer = new_test_user(
            cls.env,
            login="lo_acc_viewer",
            groups="base.group_user,logistics_observability.group_observability_viewer",
        )
        cls.admin = new_test_user(
            cls.env,
            login="lo_acc_admin",
            groups="base.group_user,logistics_observability.group_observability_admin",
        )
        cls.plain = new_test_user(cls.env, login="lo_acc_plain", groups="base.group_user")
        cls.backup = cls.env["logistics.backup.run"].create(
            {
                "kind": "full",
                "status": "success",
                "started_at": "2025-01-01 00:00:00",
                "ended_at": "2025-01-01 00:10:00",
                "location": "acc",
            }
        )
        cls.policy = cls.env.ref("logistics_observability.backup_policy_default")

    def test_viewer_reads_only(self):
        Run = self.env["logistics.backup.run"].with_user(self.viewer)
        self.assertEqual(Run.search([("location", "=", "acc")]), self.backup)
        self.assertTrue(self.env["logistics.platform.health"].with_user(self.viewer).get_cards())
        self.assertEqual(self.policy.with_user(self.viewer).rpo_hours, self.policy.rpo_hours)
        with self.assertRaises(AccessError):
            self.backup.with_user(self.viewer).write({"status": "failed"})
        with self.assertRaises(AccessError):
            Run.create(
                {
                    "kind": "full",
                    "status": "success",
                    "started_at": "2025-01-02 00:00:00",
                    "ended_at": "2025-01-02 00:00:00",
                }
            )
        with self.assertRaises(AccessError):
            self.policy.with_user(self.viewer).write({"rpo_hours": 1})
        # the queue and workflow snapshots are per user
        self.env["logistics.queue.depth"].with_user(self.viewer).action_refresh()
        self.env["logistics.workflow.summary"].with_user(self.viewer).action_refresh()

    def test_admin_configures(self):
        self.policy.with_user(self.admin).write({"rpo_hours": 2})
        self.assertEqual(self.policy.rpo_hours, 2)
        self.backup.with_user(self.admin).write({"checksum_verified": True})
        self.assertTrue(self.backup.checksum_verified)

    def test_plain_user_sees_nothing(self):
        with self.assertRaises(AccessError):
            self.env["logistics.backup.run"].with_user(self.plain).search([])
        with self.assertRaises(AccessError):
            self.env["logistics.platform.health"].with_user(self.plain).get_cards()
        with self.assertRaises(AccessError):
            self.env["logistics.queue.depth"].with_user(self.plain).action_refresh()
        with self.assertRaises(AccessError):
            self.policy.with_user(self.plain).read(["rpo_hours"])
        menus = self.env["ir.ui.menu"].with_user(self.plain)._visible_menu_ids()
        self.assertNotIn(self.env.ref("logistics_observability.menu_backup_status").id, menus)
        viewer_menus = self.env["ir.ui.menu"].with_user(self.viewer)._visible_menu_ids()
        for xmlid in (
            "menu_platform_health_dashboard",
            "menu_backup_status",
            "menu_queue_depth",
            "menu_workflow_summary",
        ):
            self.assertIn(self.env.ref("logistics_observability." + xmlid).id, viewer_menus, xmlid)
        self.assertNotIn(self.env.ref("logistics_observability.menu_backup_policy").id, viewer_menus)
