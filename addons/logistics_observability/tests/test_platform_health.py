import datetime
import socket

from odoo.tests import TransactionCase, tagged

from ..core import config as obs_config
from ..core import tables
from ..core.ledger import TABLE as LEDGER

KEYS = {"postgres", "redis", "queue", "crons", "backups", "workflows"}


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@tagged("post_install", "-at_install")
class TestPlatformHealth(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Health = cls.env["logistics.platform.health"]
        cls.cron = cls.env.ref("base.autovacuum_job")

    def cards(self):
        return {c["key"]: c for c in self.Health.get_cards()}

    def test_cards_shape(self):
        cards = self.cards()
        self.assertLessEqual(KEYS, set(cards))
        for card in cards.values():
            self.assertIn(card["state"], ("pass", "warn", "fail"))
            self.assertTrue(card["reason"], card)
            if card["state"] != "pass":
                self.assertTrue(card["action"], "every warning says what to do first: %s" % card)
        dashboard = self.Health.get_dashboard()
        self.assertEqual(dashboard["database"], self.env.cr.dbname)

    def test_postgres_card_shows_this_database_only(self):
        card = self.cards()["postgres"]
        labels = [label for label, _value in card["details"]]
        self.assertIn("Connections (this database)", labels)
        self.assertIn("Server connections", labels)
        self.env.cr.execute("SELECT datname FROM pg_database WHERE datname <> current_database()")
        others = [r[0] for r in self.env.cr.fetchall()]
        text = card["reason"] + repr(card["details"])
        for name in others:
            self.assertNotIn(name, text, "another tenant's name leaked into the PostgreSQL card")

    def db_now(self):
        # the card measures lateness on the database's clock (the transaction's start), not Python's
        self.env.cr.execute("SELECT now() AT TIME ZONE 'UTC'")
        return self.env.cr.fetchone()[0].replace(microsecond=0)

    def test_late_cron_fails_and_failing_cron_warns(self):
        now = self.db_now()
        crons = self.env["ir.cron"].search([])
        crons.write({"nextcall": now + datetime.timedelta(hours=1), "failure_count": 0})
        self.assertEqual(self.cards()["crons"]["state"], "pass")
        self.cron.write({"nextcall": now - datetime.timedelta(hours=2)})
        card = self.cards()["crons"]
        self.assertEqual(card["state"], "fail")
        self.assertIn("base.autovacuum_job", card["reason"])
        self.cron.write({"nextcall": now + datetime.timedelta(hours=1), "failure_count": 2})
        card = self.cards()["crons"]
        self.assertEqual(card["state"], "warn")
        self.assertIn("failed 2 times", card["reason"])

    def test_queue_depth_snapshot(self):
        now = self.db_now()
        self.cron.write({"nextcall": now - datetime.timedelta(minutes=30), "failure_count": 1})
        action = self.env["logistics.queue.depth"].action_refresh()
        self.assertEqual(action["res_model"], "logistics.queue.depth")
        row = self.env["logistics.queue.depth"].search([("name", "=", "base.autovacuum_job")])
        self.assertEqual((row.category, row.failures), ("cron", 1))
        self.assertGreaterEqual(row.age, 1790)

    def test_redis_card(self):
        saved = obs_config.current()
        try:
            obs_config.set_current(obs_config.load({}, environ={}))
            self.assertEqual(self.cards()["redis"]["state"], "pass")
            obs_config.set_current(
                obs_config.load(
                    {"observability_redis_url": "redis://127.0.0.1:%d/0" % _closed_port()}, environ={}
                )
            )
            card = self.cards()["redis"]
            self.assertEqual(card["state"], "fail")
            self.assertTrue(card["action"])
        finally:
            obs_config.set_current(saved)

    def test_workflows_card_from_ledger(self):
        if not tables.table_exists(self.env.cr, LEDGER):
            self.skipTest("no workflow ledger table")
        minute = datetime.datetime.utcnow().replace(second=0, microsecond=0)
        self.env.cr.execute(
            f"""
            INSERT INTO {LEDGER} (minute, workflow, outcome, count, duration_sum,
                                                   sql_queries_sum, duration_buckets, start_delay_buckets)
            VALUES (%s, 'lo_test_flow', 'success', 90, 45, 0, %s, %s),
                   (%s, 'lo_test_flow', 'failure', 10, 5, 0, %s, %s)""",
            (minute, [0, 0, 0, 90] + [0] * 17, [0] * 11, minute, [0, 0, 0, 10] + [0] * 17, [0] * 11),
        )
        card = self.cards()["workflows"]
        self.assertEqual(card["state"], "fail", card)
        self.assertIn("lo_test_flow fails 10.0% of 100 runs", card["reason"])
        self.env["logistics.workflow.summary"].action_refresh()
        row = self.env["logistics.workflow.summary"].search(
            [("workflow", "=", "lo_test_flow"), ("window", "=", "24h")]
        )
        self.assertEqual((row.runs, row.failures), (100, 10))
        self.assertAlmostEqual(row.failure_rate, 10.0)
        # all runs in the (0.25, 0.5] bucket: p95 interpolates inside it
        self.assertTrue(0.25 < row.p95_seconds <= 0.5, row.p95_seconds)
