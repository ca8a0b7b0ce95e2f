import datetime
import json

from odoo.addons.logistics_observability.core import detail
from odoo.addons.logistics_observability.tests import series
from odoo.addons.logistics_slo import metrics_export, snapshot
from odoo.addons.logistics_slo.core import ledger_sql, slo_math
from odoo.addons.logistics_slo.core.ledger_sql import LEDGER, LEDGER_DDL
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import HttpCase, TransactionCase, tagged

from ..core._deps import buckets

N_DUR = len(buckets.WORKFLOW_DURATION) + 1
N_DELAY = len(buckets.START_DELAY) + 1
IDX_10S = buckets.WORKFLOW_DURATION.index(10.0)


def _dur(**at):
    """Duration bucket array with counts at bucket indexes: _dur(i3=80, i9=10)."""
    arr = [0] * N_DUR
    for key, value in at.items():
        arr[int(key[1:])] += value
    return arr


class SloLedgerCase(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cr = cls.env.cr
        cr.execute(LEDGER_DDL)
        cr.execute(f"DELETE FROM {LEDGER}")
        cr.execute("DELETE FROM logistics_slo_ledger_hourly")
        ledger_sql.CACHE.forget_all()  # rows of other test classes were rolled back
        cls.Slo = cls.env["logistics.slo"]
        cls.Slo.with_context(active_test=False).search([]).unlink()
        cls.now = datetime.datetime.utcnow()
        cls.edge = slo_math.window_edge(cls.now)

    @classmethod
    def _row(cls, minutes_before_edge, workflow, outcome, count, dur=None, delay=None):
        minute = cls.edge - datetime.timedelta(minutes=minutes_before_edge)
        cls.env.cr.execute(
            f"INSERT INTO {LEDGER} (minute, workflow, outcome, count, duration_buckets, "
            "start_delay_buckets) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (minute, workflow, outcome) "
            f"DO UPDATE SET count = {LEDGER}.count + EXCLUDED.count",
            (minute, workflow, outcome, count, dur or _dur(i0=count), delay or [0] * N_DELAY),
        )


@tagged("post_install", "-at_install")
class TestSloMath(SloLedgerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls._row
        # minutes before the window edge -> runs of "dispatch"
        r(3, "dispatch", "success", 90, _dur(i3=80, i9=10))  # 5m
        r(3, "dispatch", "failure", 10, _dur(i0=10))
        r(40, "dispatch", "success", 200, _dur(i2=200))  # 1h
        r(120, "dispatch", "success", 7, _dur(i8=7))  # first minute of 2h
        r(121, "dispatch", "failure", 3, _dur(i0=3))  # just outside 2h
        r(180, "dispatch", "success", 300, _dur(i5=300))  # 6h
        r(180, "dispatch", "failure", 50, _dur(i12=50))
        r(2 * 1440, "dispatch", "success", 1000, _dur(i4=1000))  # 3d
        r(2 * 1440, "dispatch", "failure", 5, _dur(i4=5))
        r(10 * 1440, "dispatch", "success", 5000, _dur(i4=5000))  # 28d
        r(10 * 1440, "dispatch", "failure", 20, _dur(i4=20))
        r(40 * 1440, "dispatch", "failure", 999, _dur(i0=999))  # outside 28d
        r(3, "order_release", "failure", 500)  # other workflow
        cls.success = cls.Slo.create(
            {
                "name": "Dispatch success",
                "workflow": "dispatch",
                "sli_type": "success_ratio",
                "objective": 0.995,
            }
        )
        cls.latency = cls.Slo.create(
            {
                "name": "Dispatch 10 s",
                "workflow": "dispatch",
                "sli_type": "latency",
                "threshold": 10.0,
                "objective": 0.99,
            }
        )
        cls.Slo._refresh_rollup()

    def test_windows_exact_counts(self):
        state = self.success.compute_state(self.now)[self.success.id]
        got = {w: (v["good"], v["total"]) for w, v in state["windows"].items()}
        self.assertEqual(
            got,
            {
                "5m": (90, 100),
                "30m": (90, 100),
                "1h": (290, 300),
                "2h": (297, 307),
                "6h": (597, 660),
                "1d": (597, 660),
                "3d": (1597, 1665),
            },
        )
        self.assertEqual((state["good"], state["total"]), (6597, 6685))
        self.assertAlmostEqual(state["sli"], 6597 / 6685, places=12)
        # ratio of sums, not the mean of per-window or per-minute ratios
        self.assertAlmostEqual(state["windows"]["1h"]["burn_rate"], (10 / 300) / 0.005, places=9)
        self.assertAlmostEqual(state["budget_remaining"], 1 - 88 / (0.005 * 6685), places=12)
        self.assertEqual(state["status"], "exhausted")
        self.assertEqual(state["time_to_exhaustion_hours"], 0.0)

    def test_latency_counts_duration_buckets(self):
        state = self.latency.compute_state(self.now)[self.latency.id]
        w = state["windows"]
        # bucket index 7 is 10 s: 80 (0.5 s) + 10 failures (0.05 s) good, 10 at 60 s bad
        self.assertEqual((w["5m"]["good"], w["5m"]["total"]), (90, 100))
        # 7 runs at 30 s and 50 failures at 600 s are bad; 3 fast failures are good
        self.assertEqual((w["6h"]["good"], w["6h"]["total"]), (593, 660))
        self.assertEqual((state["good"], state["total"]), (6618, 6685))

    def test_cron_refresh_stores_state_and_list_order(self):
        self.Slo._cron_refresh()
        self.assertEqual(self.success.events, 6685)
        self.assertEqual(self.success.bad_events, 88)
        self.assertEqual(self.success.status, "exhausted")
        self.assertLess(self.success.budget_remaining, 0)
        self.assertAlmostEqual(self.success.burn_rate_1h, (10 / 300) / 0.005, places=2)
        ordered = self.Slo.search([("id", "in", (self.success | self.latency).ids)])
        self.assertEqual(ordered[0], self.success, "list sorted by budget remaining, lowest first")

    def test_month_report_matches_ledger(self):
        rows = self.success.month_report(months=3, now=self.now)
        for row in rows:
            self.env.cr.execute(
                "SELECT coalesce(sum(count), 0), coalesce(sum(count) FILTER (WHERE outcome = 'success'), 0) "
                f"FROM {LEDGER} WHERE workflow = 'dispatch' AND minute >= %s AND minute < %s",
                (row["start"], min(row["end"], self.edge)),
            )
            total, good = self.env.cr.fetchone()
            self.assertEqual((row["good"], row["total"]), (good, total), row["month"])
        self.assertIn(rows[0]["month"], self.success.month_report_html)

    def test_snapshot_feeds_the_collector(self):
        self.Slo._cron_refresh()
        families = {f.name: f for f in metrics_export.collect()}
        mine = [s for s in families["odoo_slo_objective_ratio"].samples if s[0][0] == self.env.cr.dbname]
        self.assertIn(((self.env.cr.dbname, "dispatch_success_ratio"), 0.995), mine)
        left = dict(families["odoo_slo_error_budget_remaining_ratio"].samples)
        self.assertIn((self.env.cr.dbname, "dispatch_success_ratio"), left)
        # default level: no gauge per window (the recording rules compute them), no min_events at
        # its default
        self.assertEqual(families["odoo_slo_burn_rate"].samples, [])
        self.assertEqual(families["odoo_slo_sli_ratio"].samples, [])
        self.assertEqual(families["odoo_slo_min_events"].samples, [])
        detail.configure(detail.FULL)
        self.addCleanup(detail.configure, detail.DEFAULT)
        families = {f.name: f for f in metrics_export.collect()}
        min_events = dict(families["odoo_slo_min_events"].samples)
        self.assertEqual(min_events[(self.env.cr.dbname, "dispatch_success_ratio")], 20)
        burns = dict(families["odoo_slo_burn_rate"].samples)
        self.assertAlmostEqual(
            burns[(self.env.cr.dbname, "dispatch_success_ratio", "1h")], (10 / 300) / 0.005, places=6
        )
        with open(snapshot.directory() + "/%s.json" % self.env.cr.dbname) as fh:
            self.assertEqual(len(json.load(fh)["slos"]), 2)

    def test_dashboard_card(self):
        self.Slo._cron_refresh()
        cards = {c["key"]: c for c in self.env["logistics.platform.health"].get_cards()}
        self.assertEqual(cards["slo"]["state"], "fail")
        self.assertIn("Dispatch success", cards["slo"]["reason"])
        self.assertTrue(cards["slo"]["action"])

    def test_chart_data(self):
        self.Slo._cron_refresh()
        data = self.success.get_chart_data()
        self.assertEqual(sum(d["total"] for d in data["daily"]), 6685)
        self.assertEqual([t["factor"] for t in data["tiers"]], [13.44, 5.6, 2.8, 0.933333])
        self.assertEqual(len(data["burn"]), 7)


@tagged("post_install", "-at_install")
class TestSloDefinitions(TransactionCase):
    def test_refuses_threshold_off_the_bucket_grid(self):
        with self.assertRaisesRegex(ValidationError, "not a histogram bucket bound"):
            self.env["logistics.slo"].create(
                {
                    "name": "x",
                    "workflow": "dispatch",
                    "sli_type": "latency",
                    "threshold": 7.0,
                    "objective": 0.99,
                }
            )

    def test_refuses_threshold_off_the_slo_grid(self):
        # 30 s is a bound of the fine grid only: the default level's histograms have no such bucket
        with self.assertRaisesRegex(ValidationError, "not a histogram bucket bound"):
            self.env["logistics.slo"].create(
                {
                    "name": "x",
                    "workflow": "dispatch",
                    "sli_type": "latency",
                    "threshold": 30.0,
                    "objective": 0.99,
                }
            )

    def test_refuses_latency_of_cron_and_carrier_calls(self):
        for workflow in ("cron", "carrier_call"):
            with (
                self.subTest(workflow=workflow),
                self.assertRaisesRegex(ValidationError, "not kept per tenant"),
            ):
                self.env["logistics.slo"].create(
                    {
                        "name": "x",
                        "workflow": workflow,
                        "sli_type": "latency",
                        "threshold": 10.0,
                        "objective": 0.99,
                    }
                )

    def test_refuses_objective_that_can_never_page(self):
        with self.assertRaisesRegex(ValidationError, "can never fire the page_fast alert"):
            self.env["logistics.slo"].create(
                {"name": "x", "workflow": "invoicing", "sli_type": "success_ratio", "objective": 0.9}
            )

    def test_changing_objective_keeps_the_rules(self):
        slo = self.env["logistics.slo"].search([("key", "=", "cron_cron_on_time_300s")])
        self.assertTrue(slo, "default cron SLO created on install")
        before = self.env["logistics.slo"].export_rules()[0]
        slo.objective = 0.999
        self.assertEqual(self.env["logistics.slo"].export_rules()[0], before)

    def test_viewer_cannot_write(self):
        viewer = self.env["res.users"].create(
            {
                "name": "Viewer",
                "login": "slo_viewer",
                series.user_groups(self.env): [
                    (
                        6,
                        0,
                        [
                            self.env.ref("base.group_user").id,
                            self.env.ref("logistics_observability.group_observability_viewer").id,
                        ],
                    )
                ],
            }
        )
        slo = self.env["logistics.slo"].search([], limit=1).with_user(viewer)
        self.assertTrue(slo.read(["objective"]))
        with self.assertRaises(AccessError):
            slo.write({"objective": 0.9999})


@tagged("post_install", "-at_install")
class TestSloDownload(HttpCase):
    def test_download_rules_and_openslo(self):
        self.authenticate("admin", "admin")
        resp = self.url_open("/logistics_slo/download/rules")
        self.assertEqual(resp.status_code, 200)
        self.assertIn("LogisticsSLOErrorBudgetBurn", resp.text)
        self.assertIn("attachment", resp.headers["Content-Disposition"])
        resp = self.url_open("/logistics_slo/download/openslo")
        self.assertIn("apiVersion: openslo/v1", resp.text)
        self.assertIn("service: %s" % self.env.cr.dbname, resp.text)
        self.assertEqual(self.url_open("/logistics_slo/download/nope").status_code, 404)


@tagged("post_install", "-at_install")
class TestSloTour(HttpCase):
    def test_slo_form_charts_and_report(self):
        self.env.cr.execute(LEDGER_DDL)
        edge = slo_math.window_edge(datetime.datetime.utcnow())
        for minutes, outcome, count in ((2, "success", 50), (2, "failure", 50), (90, "success", 100)):
            self.env.cr.execute(
                f"INSERT INTO {LEDGER} (minute, workflow, outcome, count, duration_buckets, "
                "start_delay_buckets) VALUES (%s, 'tourwf', %s, %s, %s, %s)",
                (edge - datetime.timedelta(minutes=minutes), outcome, count, _dur(i0=count), [0] * N_DELAY),
            )
        self.env["logistics.slo"].create(
            {"name": "Tour dispatch", "workflow": "tourwf", "sli_type": "success_ratio", "objective": 0.995}
        )
        self.env["logistics.slo"]._cron_refresh()
        self.start_tour(
            "/odoo/action-logistics_slo.action_logistics_slo", "logistics_slo_form", login="admin"
        )
