"""Platform Health trends: 24 hourly points per workflow (runs, failure rate) from the ledger, and
the queue depth from this database's samples ending with the depth right now."""

import datetime

from odoo import release
from odoo.tests import TransactionCase, tagged

from ..core import tables
from ..core.ledger import TABLE as LEDGER

LEDGER_ROW = f"""
INSERT INTO {LEDGER} (minute, workflow, outcome, count, duration_sum,
                                       sql_queries_sum, duration_buckets, start_delay_buckets)
VALUES (%s, %s, %s, %s, 0, 0, %s, %s)
"""


@tagged("post_install", "-at_install")
class TestPlatformHealthTrends(TransactionCase):
    def ledger(self, minute, workflow, outcome, count):
        self.env.cr.execute(LEDGER_ROW, (minute, workflow, outcome, count, [count] + [0] * 20, [0] * 11))

    def test_workflow_and_queue_trends(self):
        if not tables.table_exists(self.env.cr, LEDGER):
            self.skipTest("no workflow ledger table")
        self.env.cr.execute(f"DELETE FROM {LEDGER}")
        now = datetime.datetime.utcnow().replace(second=0, microsecond=0)
        hour = now.replace(minute=0)
        three_ago = hour - datetime.timedelta(hours=3) + datetime.timedelta(minutes=10)
        self.ledger(three_ago, "lo_trend", "success", 30)
        self.ledger(three_ago, "lo_trend", "failure", 10)
        self.ledger(now, "lo_trend", "success", 5)
        self.ledger(hour - datetime.timedelta(hours=30), "lo_trend", "failure", 99)  # outside 24 h
        self.ledger(three_ago, "lo_other", "success", 2)

        Sample = self.env["logistics.queue.depth.sample"]
        Sample.search([]).unlink()
        Sample.create({"sampled_at": hour - datetime.timedelta(hours=2), "crons_due": 4})
        Sample.create({"sampled_at": hour - datetime.timedelta(hours=2, minutes=-20), "crons_due": 7})
        Sample.create({"sampled_at": hour - datetime.timedelta(days=2), "crons_due": 50})  # outside
        now_dt = datetime.datetime.utcnow()
        self.env["ir.cron"].search([]).write({"nextcall": now_dt + datetime.timedelta(hours=1)})
        self.env.ref("base.autovacuum_job").nextcall = now_dt - datetime.timedelta(hours=2)

        trends = self.env["logistics.platform.health"].get_dashboard()["trends"]
        self.assertEqual(len(trends["hours"]), 24)
        self.assertEqual(trends["hours"][-1], hour.strftime("%H:00"))
        by_name = {t["workflow"]: t for t in trends["workflows"]}
        self.assertEqual(
            [t["workflow"] for t in trends["workflows"]], ["lo_trend", "lo_other"], "busiest first"
        )
        flow = by_name["lo_trend"]
        self.assertEqual(len(flow["runs"]), 24)
        self.assertEqual(flow["runs"][20], 40)
        self.assertEqual(flow["runs"][23], 5)
        self.assertEqual(sum(flow["runs"]), 45, "the run 30 h ago is not in the trend")
        self.assertEqual(flow["failure_rate"][20], 0.25)
        self.assertEqual(flow["failure_rate"][23], 0.0)
        self.assertIsNone(flow["failure_rate"][0], "an hour without runs has no failure rate")
        self.assertEqual((flow["total_runs"], flow["total_failures"]), (45, 10))

        due = trends["queue"]["crons_due"]
        self.assertEqual(len(due), 24)
        self.assertEqual(due[21], 7, "the highest sample of the hour")
        self.assertIsNone(due[0])
        self.assertEqual(due[23], 1, "the hour in progress ends with the depth now")

    def test_sampling_cron_measures_and_forgets_old_samples(self):
        Sample = self.env["logistics.queue.depth.sample"]
        old = Sample.create({"sampled_at": datetime.datetime.utcnow() - datetime.timedelta(days=8)})
        now = datetime.datetime.utcnow()
        self.env["ir.cron"].search([]).write({"nextcall": now + datetime.timedelta(hours=1)})
        self.env.ref("base.autovacuum_job").nextcall = now - datetime.timedelta(hours=2)
        cron = self.env.ref("logistics_observability.cron_sample_queue_depth")
        if "ir_actions_server_id" in cron._fields and release.version_info[0] >= 19:
            # 19.0 runs a triggered job on a cursor of its own, which does not see this test's
            # rows: run the job's server action here
            cron.ir_actions_server_id.run()
        else:
            cron.method_direct_trigger()
        self.assertFalse(old.exists())
        latest = Sample.search([], limit=1)
        self.assertEqual(latest.crons_due, 1)
        self.assertGreaterEqual(latest.sampled_at, now.replace(microsecond=0))
