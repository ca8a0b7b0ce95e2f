"""What changed: system parameters (secrets masked), suite settings, scheduled actions, module
operations found at registry load; the Recent changes card. Real module upgrades through
``odoo-bin -u`` are tested in tests/test_changes_modules.py."""

import logging

from odoo.tests import TransactionCase, new_test_user, tagged

LOGGER = "odoo.addons.logistics_observability.core.changes"


@tagged("post_install", "-at_install")
class TestChanges(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = new_test_user(cls.env, login="lo_change_admin", groups="base.group_system")
        cls.Audit = cls.env["logistics.audit.event"].sudo()

    def setUp(self):
        super().setUp()
        self.env.cr.postcommit.clear()

    def change_logs(self):
        # an int: Odoo names its level 25 "INFO" too, so level="INFO" would hide real INFO records
        return self.assertLogs(LOGGER, level=logging.INFO)

    def changes(self, target):
        return self.Audit.search([("category", "=", "change"), ("target", "=", target)], order="id")

    def count(self, kind, operation):
        self.env.cr.execute(
            "SELECT count FROM logistics_change_count WHERE kind = %s AND operation = %s", (kind, operation)
        )
        row = self.env.cr.fetchone()
        return row[0] if row else 0

    def test_parameter_changes_with_user_and_before_after(self):
        params = self.env["ir.config_parameter"].with_user(self.admin)
        updates = self.count("parameter", "update")
        with self.change_logs() as logs:
            params.set_param("lo_test.carrier_url", "https://carrier.example.com/v1")
            params.set_param("lo_test.carrier_url", "https://carrier.example.com/v2")
            params.set_param("lo_test.carrier_url", "https://carrier.example.com/v2")  # no change
            params.set_param("lo_test.carrier_url", False)  # deletes it
            self.env.cr.postcommit.run()
        rows = self.changes("lo_test.carrier_url")
        self.assertEqual(rows.mapped("operation"), ["create", "update", "delete"])
        self.assertEqual(rows[1].before_value, "https://carrier.example.com/v1")
        self.assertEqual(rows[1].after_value, "https://carrier.example.com/v2")
        self.assertEqual(rows.mapped("actor_id"), self.admin)
        self.assertEqual(set(rows.mapped("kind")), {"parameter"})
        self.assertEqual(self.count("parameter", "update"), updates + 1)
        events = [r for r in logs.records if getattr(r, "event", None) == "change"]
        self.assertEqual([r.change for r in events], ["create", "update", "delete"])
        self.assertEqual(events[1].__dict__["change.from"], "https://carrier.example.com/v1")
        self.assertEqual(events[1].__dict__["user.login"], "lo_change_admin")

    def test_secrets_are_masked_everywhere(self):
        secret = "sk_live_0123456789abcdef"
        with self.change_logs() as logs:
            for key in (
                "lo_test.carrier_api_key",
                "lo_test.webhook_secret",
                "lo_test.smtp_password",
                "lo_test.token",
            ):
                self.env["ir.config_parameter"].set_param(key, secret)
                self.env["ir.config_parameter"].set_param(key, secret + "2")
            self.env.cr.postcommit.run()
        rows = self.Audit.search([("category", "=", "change"), ("target", "like", "lo_test.")])
        self.assertEqual(len(rows), 8)
        self.assertEqual(set(rows.mapped("after_value")), {"********"})
        self.assertNotIn(secret, "\n".join(logs.output))
        self.assertFalse(
            self.Audit.search_count(
                ["|", ("before_value", "ilike", secret), ("after_value", "ilike", secret)]
            )
        )

    def test_suite_settings_are_their_own_kind(self):
        self.env["ir.config_parameter"].set_param("logistics_observability.backup_rpo_hours", "12")
        self.assertEqual(self.changes("logistics_observability.backup_rpo_hours").kind, "setting")

    def test_scheduled_action_changes(self):
        cron = self.env.ref("base.autovacuum_job").with_user(self.admin)
        cron.write({"interval_number": cron.interval_number + 1})
        cron.write({"active": False})
        cron.write({"active": True})
        cron.write({"nextcall": "2030-01-01 00:00:00"})  # not a change of the schedule's shape
        rows = self.changes(cron.cron_name)
        self.assertEqual(rows.mapped("operation"), ["reschedule", "deactivate", "activate"])
        self.assertIn("inactive", rows[1].after_value)
        self.assertEqual(rows.mapped("actor_id"), self.admin)

    def test_module_operations_found_at_registry_load(self):
        """A module marked for upgrade by a user and loaded with a new version, one installed
        along, one gone: what the next registry load records."""
        cr = self.env.cr
        self.env["logistics.audit.event"]._lo_module_changes()  # the current state is the baseline
        module = self.env["ir.module.module"].search([("name", "=", "web")])
        module.with_user(self.admin)._lo_intent("upgrade")
        cr.execute("UPDATE ir_module_module SET latest_version = '18.0.9.9' WHERE name = 'web'")
        cr.execute("INSERT INTO logistics_module_snapshot (name, version) VALUES ('lo_gone', '18.0.1.0')")
        cr.execute("DELETE FROM logistics_module_snapshot WHERE name = 'base'")
        upgrades = self.count("module", "upgrade")
        found = self.env["logistics.audit.event"]._lo_module_changes()
        by_module = {op["module"]: op for op in found}
        self.assertEqual(by_module["web"]["operation"], "upgrade")
        self.assertEqual(by_module["web"]["to"], "18.0.9.9")
        self.assertEqual(by_module["lo_gone"]["operation"], "uninstall")
        self.assertEqual(by_module["base"]["operation"], "install")
        web = self.changes("web")
        self.assertEqual(web.actor_id, self.admin, "who asked for the upgrade")
        self.assertEqual(web.after_value, "18.0.9.9")
        self.assertEqual(self.count("module", "upgrade"), upgrades + 1)
        self.assertFalse(self.env["logistics.audit.event"]._lo_module_changes(), "recorded once")

    def test_recent_changes_card(self):
        health = self.env["logistics.platform.health"].with_user(self.env.ref("base.user_admin"))
        self.env["ir.config_parameter"].with_user(self.admin).set_param("lo_test.feature", "on")
        card = {c["key"]: c for c in health.get_cards()}["changes"]
        self.assertEqual(card["state"], "warn", card)
        self.assertIn("parameter create lo_test.feature", card["reason"])
        self.assertIn(self.admin.name, card["reason"])
        self.assertTrue(card["action"])
        self.assertEqual(card["menu"], "logistics_observability.action_change_event")
