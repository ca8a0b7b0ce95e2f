import datetime
import json
import logging

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.addons.logistics_observability.models.sql_constraints import sql_constraints
from odoo.exceptions import ValidationError

from .. import snapshot
from ..core import ledger_sql, slo_math
from ..core import rules as core_rules
from ..core.ledger_sql import FIRST_HOUR_SQL, HOURLY_DDL, LEDGER, ROLLUP_SQL, WORKFLOWS_SQL

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


def _table_exists(cr, name):
    cr.execute("SELECT to_regclass(%s)", (name,))
    return bool(cr.fetchone()[0])


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
        cr.execute(
            "SELECT name FROM ir_module_module " "WHERE state IN ('installed', 'to install', 'to upgrade')"
        )
        installed = {r[0] for r in cr.fetchall()}
        seen = set()
        if _table_exists(cr, LEDGER):
            cr.execute(WORKFLOWS_SQL)
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
        if not _table_exists(cr, LEDGER):
            return False
        cr.execute(HOURLY_DDL)
        cr.execute("SELECT max(hour) FROM logistics_slo_ledger_hourly")
        last = cr.fetchone()[0]
        if last is None:
            cr.execute(FIRST_HOUR_SQL)
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
        # the rollup re-aggregates its last hour on every run: older hours are settled
        settled = slo_math.floor_hour(datetime.datetime.utcnow()) - datetime.timedelta(hours=1)
        return ledger_sql.segment_counts(self.env.cr, self.env.cr.dbname, segments, settled)

    def _window_counts(self, now):
        """{slo id: {window name: Counts}} with one pair of queries for all SLOs."""
        edge = slo_math.window_edge(now)
        windows = dict(slo_math.BURN_WINDOWS)
        for days in set(self.mapped("window_days")):
            windows["slo_%d" % days] = days * 86400
        segments, membership = slo_math.plan_segments(edge, windows)
        per_segment = self._segment_counts(segments)
        by_window = {}
        for name, idxs in membership.items():
            acc = slo_math.Counts()
            for i in idxs:
                acc.merge(per_segment[i])
            by_window[name] = acc
        out = {}
        for rec in self:
            counts = {name: by_window[name] for name, _s in slo_math.BURN_WINDOWS}
            counts["slo"] = by_window["slo_%d" % rec.window_days]
            out[rec.id] = counts
        return out

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
        edge = slo_math.window_edge(now)
        current_hour = slo_math.floor_hour(edge - datetime.timedelta(seconds=1))
        year, month = now.year, now.month
        bounds = []
        for _i in range(months):
            bounds.append(slo_math.month_bounds(year, month))
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        segments = []
        for start, end in bounds:
            hourly_end = min(end, current_hour)
            segments.append((start, max(start, hourly_end), "hourly"))
            segments.append((max(start, current_hour), max(start, min(end, edge)), "minute"))
        counts = self._segment_counts(segments)
        rows = []
        for i, (start, end) in enumerate(bounds):
            merged = slo_math.Counts().merge(counts[2 * i]).merge(counts[2 * i + 1])
            rows.append(slo_math.month_report_row(defn, merged, start, end))
        return rows

    @api.depends("objective", "state_json")
    def _compute_month_report_html(self):
        for rec in self:
            if not rec.id or not isinstance(rec.id, int):
                rec.month_report_html = False
                continue
            rows = rec.month_report(months=6)
            body = []
            for row in rows:
                met = row["met"]
                badge = (
                    ("text-muted", _("no data"))
                    if met is None
                    else (("text-success", _("met")) if met else ("text-danger", _("missed")))
                )
                body.append(
                    Markup(
                        "<tr><td>%s</td><td class='text-end'>%s</td><td class='text-end'>%s</td>"
                        "<td class='text-end'>%s</td><td class='text-end'>%s</td><td class='%s'>%s</td></tr>"
                    )
                    % (
                        row["month"],
                        row["total"],
                        row["bad"],
                        "%.4f %%" % (row["sli"] * 100) if row["sli"] is not None else "-",
                        "%.0f %%" % (row["budget_consumed"] * 100),
                        badge[0],
                        badge[1],
                    )
                )
            rec.month_report_html = Markup(
                "<table class='table table-sm o_slo_month_report'><thead><tr><th>%s</th>"
                "<th class='text-end'>%s</th><th class='text-end'>%s</th><th class='text-end'>%s</th>"
                "<th class='text-end'>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>"
            ) % (
                _("Month"),
                _("Events"),
                _("Bad"),
                _("SLI"),
                _("Budget used"),
                _("Objective"),
                Markup("").join(body),
            )

    def get_chart_data(self):
        """Data of the form's charts: daily SLI, budget burn-down and burn rates vs tiers."""
        self.ensure_one()
        self.check_access("read")
        now = datetime.datetime.utcnow()
        defn = slo_math.normalize(self._definition())
        edge = slo_math.window_edge(now)
        current_hour = slo_math.floor_hour(edge - datetime.timedelta(seconds=1))
        start_day = (current_hour - datetime.timedelta(days=defn["window_days"] - 1)).replace(hour=0)
        segments = []
        day = start_day
        while day <= current_hour:
            end = min(day + datetime.timedelta(days=1), current_hour)
            segments.append((day, max(day, end), "hourly"))
            day += datetime.timedelta(days=1)
        segments.append((current_hour, edge, "minute"))
        counts = self._segment_counts(segments)
        counts[-2].merge(counts[-1])
        budget = 1.0 - defn["objective"]
        daily, cum_good, cum_total = [], 0, 0
        for (start, _end, _src), cnt in zip(segments[:-1], counts[:-1], strict=False):
            good, total = slo_math.good_total(defn, cnt)
            cum_good += good
            cum_total += total
            remaining = 1.0 - ((cum_total - cum_good) / (budget * cum_total)) if cum_total else 1.0
            daily.append(
                {
                    "day": start.strftime("%m-%d"),
                    "sli": slo_math.ratio(good, total),
                    "total": total,
                    "budget_remaining": remaining,
                }
            )
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
