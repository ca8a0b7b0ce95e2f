import datetime
import warnings

import psycopg2.errors

from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger


@tagged("post_install", "-at_install")
class TestBackupStatus(TransactionCase):
    """RPO, drill interval and verification warnings, as the backend shows them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Run = cls.env["logistics.backup.run"]
        cls.Run.search([]).unlink()
        cls.policy = cls.env.ref("logistics_observability.backup_policy_default")
        cls.policy.write({"rpo_hours": 6, "drill_interval_days": 7})

    def run_at(self, hours_ago, **kw):
        end = datetime.datetime.utcnow().replace(microsecond=0) - datetime.timedelta(hours=hours_ago)
        values = {
            "kind": "full",
            "status": "success",
            "started_at": end - datetime.timedelta(minutes=5),
            "ended_at": end,
            "size_bytes": 10,
            "location": "loc-%s-%s" % (hours_ago, kw),
            "checksum_verified": True,
        }
        values.update(kw)
        return self.Run._ingest([values], source="cli")

    def card(self):
        cards = self.env["logistics.platform.health"].get_cards()
        return next(c for c in cards if c["key"] == "backups")

    def test_no_backup_fails(self):
        status = self.Run.get_status()
        self.assertIn("stale", status["warnings"])
        self.assertEqual(self.card()["state"], "fail")

    def test_all_good_passes(self):
        self.run_at(1)
        self.run_at(24, kind="restore_drill", restore_verified=True, checksum_verified=False)
        self.assertEqual(self.Run.get_status()["warnings"], {})
        card = self.card()
        self.assertEqual(card["state"], "pass", card)
        self.assertEqual(card["action"], "")

    def test_stale_backup_warns(self):
        self.run_at(8)
        self.run_at(1, kind="restore_drill", restore_verified=True)
        card = self.card()
        self.assertEqual(card["state"], "warn")
        self.assertIn("RPO", card["reason"])
        self.assertTrue(card["action"])
        self.policy.rpo_hours = 12
        self.assertEqual(self.card()["state"], "pass", "the RPO target is per tenant and configurable")

    def test_overdue_drill_and_unverified_warn(self):
        self.run_at(1, checksum_verified=False)
        self.run_at(24 * 10, kind="restore_drill", restore_verified=True)
        status = self.Run.get_status()
        self.assertEqual(set(status["warnings"]), {"unverified", "drill_overdue"})
        self.assertEqual(self.card()["state"], "warn")

    def test_failed_latest_run_fails(self):
        self.run_at(3)
        self.run_at(1, status="failed", checksum_verified=False)
        self.run_at(1, kind="restore_drill", restore_verified=True)
        self.assertIn("failed", self.Run.get_status()["warnings"])
        self.assertEqual(self.card()["state"], "fail")

    def test_init_folds_duplicates_into_a_unique_natural_key(self):
        """An upgrade from a version without the index: duplicates folded, then a unique index that
        treats runs without a location as one key, created without Odoo's deprecated helpers."""
        index = "logistics_backup_run_natural_key_idx"
        cr = self.env.cr
        cr.execute('DROP INDEX "%s"' % index)
        started = datetime.datetime(2026, 1, 2, 3, 4, 5)
        for status in ("running", "success"):
            cr.execute(
                "INSERT INTO logistics_backup_run (kind, status, started_at, source)"
                " VALUES ('full', %s, %s, 'cli')",
                (status, started),
            )
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            self.Run.init()
        cr.execute("SELECT status FROM logistics_backup_run WHERE started_at = %s", (started,))
        self.assertEqual(cr.fetchall(), [("success",)], "the latest report of the run is kept")
        cr.execute("SELECT indisunique FROM pg_index WHERE indexrelid = %s::regclass", (index,))
        self.assertEqual(cr.fetchall(), [(True,)])
        with self.assertRaises(psycopg2.errors.UniqueViolation), mute_logger("odoo.sql_db"), cr.savepoint():
            cr.execute(
                "INSERT INTO logistics_backup_run (kind, status, started_at, source)"
                " VALUES ('full', 'failed', %s, 'cli')",
                (started,),
            )
