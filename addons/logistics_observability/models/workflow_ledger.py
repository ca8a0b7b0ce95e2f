import logging

from odoo import api, fields, models
from odoo.tools import SQL

from .. import compat
from ..core import ledger as core_ledger
from ..core import workflow as core_workflow

_logger = logging.getLogger(__name__)


class LogisticsWorkflowLedger(models.Model):
    """Exact per-minute counts of workflow runs in this database (read-only).

    The table is written by batched upserts from every Odoo process (see
    ``core/ledger_writer.py``, wired in ``compat``), outside the observed transactions.
    """

    _name = "logistics.workflow.ledger"
    _description = "Workflow Ledger"
    _auto = False
    _log_access = False
    _order = "minute desc, workflow, outcome"
    _rec_name = "workflow"

    minute = fields.Datetime(readonly=True, help="UTC minute of the runs.")
    workflow = fields.Char(readonly=True)
    outcome = fields.Selection([("success", "Success"), ("failure", "Failure")], readonly=True)
    count = fields.Integer(readonly=True, aggregator="sum")
    duration_sum = fields.Float(string="Total Duration (s)", readonly=True, aggregator="sum")
    sql_queries_sum = fields.Integer(string="SQL Queries", readonly=True, aggregator="sum")

    def init(self):
        self.env.cr.execute(core_ledger.CREATE_TABLE)
        core_workflow.LEDGER.forget_missing(self.env.cr.dbname)

    @api.model
    def _get_view(self, view_id=None, view_type="form", **options):
        # "Runs over Time" asks for hours; a series whose web client groups by days at the finest
        # gets days (an interval it refuses stops the whole view)
        arch, view = super()._get_view(view_id, view_type, **options)
        for node in arch.iter("field"):
            if node.get("interval"):
                node.set("interval", compat.date_interval(node.get("interval")))
        return arch, view

    @api.model
    def totals(self, since=None, workflow=None):
        """{(workflow, outcome): count} over the ledger, optionally since a UTC datetime."""
        self.check_access("read")
        where = [SQL("TRUE")]
        if since:
            where.append(SQL("minute >= %s", since))
        if workflow:
            where.append(SQL("workflow = %s", workflow))
        self.env.cr.execute(
            SQL(
                "SELECT workflow, outcome, SUM(count) FROM %s WHERE %s GROUP BY workflow, outcome",
                SQL.identifier(core_ledger.TABLE),
                SQL(" AND ").join(where),
            )
        )
        return {(wf, outcome): int(total) for wf, outcome, total in self.env.cr.fetchall()}
