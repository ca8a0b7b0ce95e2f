"""Workflows: runs, failure rate and p95 per workflow over 24 h and 7 d, from the ledger."""

import datetime

from odoo import api, fields, models

from ..core import ledger as core_ledger
from ..core import tables, workflow_stats

WINDOWS = (("24h", datetime.timedelta(hours=24)), ("7d", datetime.timedelta(days=7)))


class LogisticsWorkflowSummary(models.TransientModel):
    _name = "logistics.workflow.summary"
    _description = "Workflow Summary"
    _order = "window, workflow"
    _transient_max_hours = 1.0

    window = fields.Selection([("24h", "Last 24 hours"), ("7d", "Last 7 days")], required=True, readonly=True)
    workflow = fields.Char(required=True, readonly=True)
    runs = fields.Integer(readonly=True, aggregator="sum")
    failures = fields.Integer(readonly=True, aggregator="sum")
    failure_rate = fields.Float(string="Failure rate (%)", readonly=True, aggregator="max", digits=(6, 2))
    p95_seconds = fields.Float(string="p95 (s)", readonly=True, aggregator="max", digits=(12, 3))
    avg_seconds = fields.Float(string="Average (s)", readonly=True, aggregator="max", digits=(12, 3))

    @api.model
    def _summary(self, since):
        """``workflow_stats.summarize`` rows since a naive UTC datetime; ``None`` without a ledger."""
        if not tables.table_exists(self.env.cr, core_ledger.TABLE):
            return None
        self.env.cr.execute(workflow_stats.SUMMARY_SQL, (since,))
        return workflow_stats.summarize(self.env.cr.fetchall())

    @api.model
    def action_refresh(self):
        self.search([("create_uid", "=", self.env.uid)]).unlink()
        now = fields.Datetime.now()
        rows = []
        for window, delta in WINDOWS:
            for row in self._summary(now - delta) or []:
                rows.append(
                    {
                        "window": window,
                        "workflow": row["workflow"],
                        "runs": row["runs"],
                        "failures": row["failures"],
                        "failure_rate": 100.0 * row["failure_rate"],
                        "p95_seconds": row["p95_seconds"] or 0.0,
                        "avg_seconds": row["avg_seconds"] or 0.0,
                    }
                )
        self.create(rows)
        return self.env["ir.actions.act_window"]._for_xml_id(
            "logistics_observability.action_workflow_summary_view"
        )
