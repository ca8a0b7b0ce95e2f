import datetime
import json
import logging

from odoo import _, api, fields, models
from odoo.addons.logistics_observability.models.sql_constraints import sql_constraints
from odoo.exceptions import ValidationError

from .. import snapshot
from ..core import ledger_sql, report_html, slo_math, windows
from ..core import rules as core_rules
from ..core.ledger_sql import HOURLY_DDL, LEDGER, ROLLUP_SQL

_logger = logging.getLogger(__name__)


STATUS = [
    ("ok", "OK"),
    ("warning", "Warning"),
    ("critical", "Critical"),
    ("exhausted", "Budget exhausted"),
    ("insufficient", "Too few events"),
    ("no_data", "No data"),
]

# Default SLOs, created on install for the workflows whose Odoo addon is installed.
DEFAULTS = [
    ("sale", "Order release success", "order_release", "success_ratio", None, 0.995),
    ("sale", "Order release within 5 s", "order_release", "latency", 5.0, 0.99),
    ("stock", "Dispatch success", "dispatch", "success_ratio", None, 0.995),
    ("stock", "Dispatch within 10 s", "dispatch", "latency", 10.0, 0.99),
    ("stock", "Proof of delivery within 4 h", "pod_sync", "freshness", 14400.0, 0.95),
    ("account", "Invoicing success", "invoicing", "success_ratio", None, 0.995),
    ("delivery", "Carrier calls success", "carrier_call", "success_ratio", None, 0.99),
    ("base", "Scheduled actions on time (5 min grace)", "cron", "cron_on_time", 300.0, 0.99),
]


class LogisticsSlo(models.Model):
    _name = "logistics.slo"
    _description = "Service Level Objective"
    _order = "active desc, budget_remaining, key"

    name = fields.Char(required=True)
    key = fields.Char(
        compute="_compute_key",
        store=True,
        index=True,
        readonly=True,
        help="Label `slo` of the metrics and alerts: the same SLO in several databases shares the "
        "generated Prometheus rules, each with its own objective.",
    )
    active = fields.Boolean(default=True)
    workflow = fields.Char(
        required=True,
        default="order_release",
        help="Workflow as recorded by the instrumentation: order_release, dispatch, pod_sync, "
        "invoicing, carrier_call, cron, or a custom workflow.",
    )
    sli_type = fields.Selection(
        [
            ("success_ratio", "Success ratio"),
            ("latency", "Latency"),
            ("freshness", "Freshness"),
            ("cron_on_time", "Cron on time"),
        ],
        string="SLI",
        required=True,
        default="success_ratio",
    )
    threshold = fields.Float(
        string="Threshold / grace (s)",
        help="Latency / freshness: longest good duration; cron on time: grace after the due time. "
        "Must be a bucket bound of the workflow histograms.",
    )
    objective = fields.Float(
        required=True,
        default=0.995,
        digits=(6, 5),
        help="Target share of good events, e.g. 0.995 for 99.5 %.",
    )
    window_days = fields.Integer(string="Rolling window (days)", required=True, default=28)
    min_events = fields.Integer(
        string="Minimum events",
        required=True,
        default=slo_math.DEFAULT_MIN_EVENTS,
        help="Fewer events than this in a window are not judged: no alert, status 'Too few events'.",
    )
    owner_id = fields.Many2one("res.users", string="Owner", default=lambda self: self.env.user)
    runbook_url = fields.Char(string="Runbook URL")
    first_action = fields.Text(help="What the person paged should do first (in the alert).")

    # state computed by the refresh cron from the ledger
    sli = fields.Float(string="SLI value", digits=(8, 6), readonly=True)
    events = fields.Integer(string="Events in window", readonly=True)
    bad_events = fields.Integer(string="Bad events in window", readonly=True)
    budget_remaining = fields.Float(string="Budget remaining", digits=(8, 4), readonly=True, default=1.0)
    burn_rate_1h = fields.Float(string="Burn rate (1h)", digits=(8, 2), readonly=True)
    time_to_exhaustion_hours = fields.Float(string="Time to exhaustion (h)", digits=(10, 1), readonly=True)
    status = fields.Selection(STATUS, default="no_data", readonly=True, index=True)
    state_json = fields.Text(readonly=True)
    computed_at = fields.Datetime(readonly=True)
    month_report_html = fields.Html(compute="_compute_month_report_html", sanitize=False)

    sql_constraints(
        locals(),
        [
            ("key_uniq", "unique(key)", "An SLO measuring the same thing already exists in this database."),
        ],
    )

    @api.depends("workflow", "sli_type", "threshold", "window_days")
    def _compute_key(self):
        for rec in self:
            rec.key = slo_math.slo_key(
                rec.workflow or "",
                rec.sli_type or "success_ratio",
                rec.threshold,
                rec.window_days or slo_math.DEFAULT_WINDOW_DAYS,
            )

    def _definition(self):
        self.ensure_one()
        return {
            "name": self.name,
            "workflow": self.workflow,
            "sli_type": self.sli_type,
            "threshold": self.threshold if self.sli_type != "success_ratio" else None,
            "objective": self.objective,
            "window_days": self.window_days,
            "min_events": self.min_events,
            "runbook_url": self.runbook_url or "",
            "first_action": self.first_action or "",
            "owner": self.owner_id.login or "",
        }

    @api.constrains("workflow", "sli_type", "threshold", "objective", "window_days", "min_events")
    def _check_definition(self):
        for rec in self:
            try:
                slo_math.normalize(rec._definition())
            except slo_math.SloDefinitionError as exc:
                raise ValidationError(
                    _("SLO %(name)s refused: %(reason)s", name=rec.name, reason=exc)
                ) from None

    def init(self):
        cr = self.env.cr
        cr.execute(HOURLY_DDL)

    # ------------------------------------------------------------------
    # defaults

    @api.model
    def _create_defaults(self):
        """Default SLOs for the workflows present (installed addons or ledger traffic)."""
        cr = self.env.cr
        cr.execute(ledger_sql.INSTALLED_MODULES_SQL)
        installed = {r[0] for r in cr.fetchall()}
        seen = set()
        if ledger_sql.table_exists(cr, LEDGER):
            cr.execute(ledger_sql.LEDGER_WORKFLOWS_SQL)
            seen = {r[0] for r in cr.fetchall()}
        existing = set(self.with_context(active_test=False).search([]).mapped("key"))
        vals = []
        for module, name, workflow, sli_type, threshold, objective in DEFAULTS:
            if module not in installed and workflow not in seen:
                continue
            key = slo_math.slo_key(workflow, sli_type, threshold)
            if key in existing:
                continue
            vals.append(
                {
                    "name": name,
                    "workflow": workflow,
                    "sli_type": sli_type,
                    "threshold": threshold or 0.0,
                    "objective": objective,
                }
            )
        return self.create(vals)

    # ------------------------------------------------------------------
    # computation

    @api.model
    def _refresh_rollup(self):
        """Re-aggregate the minute ledger into whole hours from the last rolled hour on."""
        cr = self.env.cr
        if not ledger_sql.table_exists(cr, LEDGER):
            return False
        cr.execute(HOURLY_DDL)
        cr.execute(ledger_sql.LAST_ROLLED_HOUR_SQL)
        last = cr.fetchone()[0]
        if last is None:
            cr.execute(ledger_sql.FIRST_LEDGER_HOUR_SQL)
            last = cr.fetchone()[0]
            if last is None:
                return True
            horizon = datetime.datetime.utcnow() - datetime.timedelta(days=400)
            last = max(last, horizon.replace(minute=0, second=0, microsecond=0))
        end = slo_math.floor_hour(datetime.datetime.utcnow())
        if last < end:
            cr.execute(ROLLUP_SQL, {"start": last, "end": end})
            if end - last > datetime.timedelta(hours=2):  # back-filled hours: drop memoised sums
                ledger_sql.CACHE.forget_all()
        return True

    @api.model
    def _segment_counts(self, segments):
        """Counts per segment: hourly segments from the rollup, the others from the minute ledger."""
        settled = windows.settled_before(datetime.datetime.utcnow())
        return ledger_sql.segment_counts(self.env.cr, self.env.cr.dbname, segments, settled)

    def _window_counts(self, now):
        """{slo id: {window name: Counts}} with one pair of queries for all SLOs."""
        segments, membership = windows.refresh_plan(now, self.mapped("window_days"))
        by_window = windows.window_counts(membership, self._segment_counts(segments))
        return {rec.id: windows.slo_counts(by_window, rec.window_days) for rec in self}

    def compute_state(self, now=None):
        """Evaluate these SLOs from the ledger; returns {id: state dict} without writing."""
        now = now or datetime.datetime.utcnow()
        window_counts = self._window_counts(now)
        result = {}
        for rec in self:
            defn = slo_math.normalize(rec._definition())
            result[rec.id] = slo_math.evaluate(defn, window_counts[rec.id])
        return result

    def _store_state(self, states, now):
        for rec in self:
            st = states[rec.id]
            rec.write(
                {
                    "sli": st["sli"] or 0.0,
                    "events": st["total"],
                    "bad_events": st["bad"],
                    "budget_remaining": st["budget_remaining"],
                    "burn_rate_1h": st["windows"]["1h"]["burn_rate"] or 0.0,
                    "time_to_exhaustion_hours": (
                        st["time_to_exhaustion_hours"] if st["time_to_exhaustion_hours"] is not None else -1.0
                    ),
                    "status": st["status"],
                    "state_json": json.dumps(st, default=str),
                    "computed_at": now,
                }
            )

    @api.model
    def _cron_refresh(self):
        """Every minute: roll the ledger up, evaluate every active SLO, publish the gauges."""
        now = datetime.datetime.utcnow()
        self._refresh_rollup()
        slos = self.search([])
        if slos:
            states = slos.compute_state(now)
            slos._store_state(states, now)
        self.publish_snapshot()
        return True

    def action_refresh(self):
        self._cron_refresh()
        return True

    @api.model
    def publish_snapshot(self):
        """Write this database's SLO gauges where the scrape-time collector reads them."""
        rows = []
        for rec in self.search([]):
            st = json.loads(rec.state_json) if rec.state_json else None
            rows.append(
                {
                    "slo": rec.key,
                    "objective": rec.objective,
                    "min_events": rec.min_events,
                    "budget_remaining": rec.budget_remaining if st else None,
                    "sli": ({w: v["sli"] for w, v in st["windows"].items()} if st else {}),
                    "sli_window": st["sli"] if st else None,
                    "window": "%dd" % rec.window_days,
                    "burn_rate": ({w: v["burn_rate"] for w, v in st["windows"].items()} if st else {}),
                }
            )
        snapshot.write(self.env.cr.dbname, rows)

    def write(self, vals):
        res = super().write(vals)
        if set(vals) & {
            "objective",
            "min_events",
            "active",
            "workflow",
            "sli_type",
            "threshold",
            "window_days",
        }:
            self.publish_snapshot()
        return res

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        records.publish_snapshot()
        return records

    def unlink(self):
        res = super().unlink()
        self.publish_snapshot()
        return res

    # ------------------------------------------------------------------
    # reports and charts

    def month_report(self, months=12, now=None):
        """Calendar-month rows (newest first) for this SLO."""
        self.ensure_one()
        now = now or datetime.datetime.utcnow()
        defn = slo_math.normalize(self._definition())
        bounds, segments = windows.month_plan(now, months)
        return windows.month_rows(defn, bounds, self._segment_counts(segments))

    @api.depends("objective", "state_json")
    def _compute_month_report_html(self):
        for rec in self:
            if not rec.id or not isinstance(rec.id, int):
                rec.month_report_html = False
                continue
            rec.month_report_html = report_html.month_table(self.env._, rec.month_report(months=6))

    def get_chart_data(self):
        """Data of the form's charts: daily SLI, budget burn-down and burn rates vs tiers."""
        self.ensure_one()
        self.check_access("read")
        now = datetime.datetime.utcnow()
        defn = slo_math.normalize(self._definition())
        segments = windows.daily_plan(now, defn["window_days"])
        daily = windows.daily_series(defn, segments, self._segment_counts(segments))
        state = json.loads(self.state_json) if self.state_json else {}
        factors = slo_math.tier_factors(defn["window_days"])
        burn = [
            {"window": name, "burn_rate": (state.get("windows", {}).get(name) or {}).get("burn_rate")}
            for name, _s in slo_math.BURN_WINDOWS
        ]
        tiers = [
            {"tier": name, "severity": sev, "long": long, "short": short, "factor": factors[name]}
            for name, sev, long, short, _share, _for in slo_math.TIERS
        ]
        return {
            "objective": defn["objective"],
            "daily": daily,
            "burn": burn,
            "tiers": tiers,
            "status": self.status,
            "budget_remaining": self.budget_remaining,
        }

    # ------------------------------------------------------------------
    # exports

    def _definitions_for_export(self):
        return [rec._definition() for rec in self]

    @api.model
    def export_rules(self):
        """(rules yaml, promtool tests yaml) for this database's active SLOs."""
        defs = self.search([])._definitions_for_export()
        from ..core import promtool_tests

        return (core_rules.render_rules(defs), promtool_tests.render_tests(defs, "logistics_slo_rules.yml"))

    @api.model
    def export_openslo(self):
        from ..core import openslo

        return openslo.render([(self.env.cr.dbname, rec._definition()) for rec in self.search([])])

    def action_download(self):
        kind = self.env.context.get("slo_download", "rules")
        return {"type": "ir.actions.act_url", "target": "self", "url": "/logistics_slo/download/%s" % kind}

    @api.model
    def get_dashboard_card(self):
        """Summary for the Platform Health dashboard: (state, reason, action, details)."""
        slos = self.search([])
        if not slos:
            return "pass", _("No SLO defined"), "", []
        worst = {"exhausted": 3, "critical": 3, "warning": 2}
        ranked = sorted(slos, key=lambda s: (-worst.get(s.status, 0), s.budget_remaining))
        top = ranked[0]
        level = worst.get(top.status, 0)
        state = "fail" if level == 3 else ("warn" if level == 2 else "pass")
        burning = slos.filtered(lambda s: s.status in ("critical", "exhausted", "warning"))
        if state == "pass":
            reason = _(
                "%(n)s SLOs within budget; lowest budget left %(pct)s %% (%(name)s)",
                n=len(slos),
                pct=round(top.budget_remaining * 100),
                name=top.name,
            )
            action = ""
        else:
            reason = _(
                "%(n)s SLO(s) burning budget; worst: %(name)s, %(pct)s %% left (%(status)s)",
                n=len(burning),
                name=top.name,
                pct=round(top.budget_remaining * 100),
                status=dict(STATUS)[top.status],
            )
            action = top.first_action or slo_math.DEFAULT_FIRST_ACTION.get(top.workflow, "")
        details = [
            (s.name, "%s, %d %% budget left" % (dict(STATUS)[s.status], round(s.budget_remaining * 100)))
            for s in ranked[:5]
        ]
        return state, reason, action, details
