"""Queue Depth: queue_job jobs, due or failing scheduled actions and the mail queue, as a snapshot.

Rows are computed when the view opens (``action_refresh``), so the view works
whether or not ``queue_job`` / ``mail`` are installed in this database.
"""

from odoo import api, fields, models

from ..core import tables
from ..core.collectors import tenant_sql


class LogisticsQueueDepth(models.TransientModel):
    _name = "logistics.queue.depth"
    _description = "Queue Depth"
    _order = "category, age desc, name"
    _transient_max_hours = 1.0

    category = fields.Selection(
        [("queue_job", "Job queue"), ("cron", "Scheduled action"), ("mail", "Mail queue")],
        required=True,
        readonly=True,
    )
    name = fields.Char(string="Channel / Action", readonly=True)
    state = fields.Char(readonly=True)
    count = fields.Integer(readonly=True, aggregator="sum")
    age = fields.Float(
        string="Oldest / Lateness (s)",
        readonly=True,
        aggregator="max",
        help="Queue: age of the oldest due pending job. Scheduled action: now - next call.",
    )
    age_display = fields.Char(string="Oldest / Lateness", compute="_compute_age_display")
    failures = fields.Integer(string="Consecutive failures", readonly=True, aggregator="max")

    @api.depends("age")
    def _compute_age_display(self):
        from ..core.backup_status import human_duration

        for row in self:
            row.age_display = human_duration(row.age) if row.age else ""

    @api.model
    def _queue_job_rows(self):
        """queue_job counts by channel and state, ``None`` when queue_job is not installed."""
        if not tables.table_exists(self.env.cr, "queue_job"):
            return None
        self.env.flush_all()
        self.env.cr.execute(tenant_sql.QUEUE_SQL)
        return [
            {
                "category": "queue_job",
                "name": channel,
                "state": state,
                "count": count,
                "age": float(age) if age is not None else 0.0,
                "failures": 0,
            }
            for channel, state, count, age in self.env.cr.fetchall()
        ]

    @api.model
    def _mail_rows(self):
        _ = self.env._
        if not tables.table_exists(self.env.cr, "mail_mail"):
            return None
        self.env.cr.execute(tenant_sql.MAIL_SQL)
        return [
            {
                "category": "mail",
                "name": _("Outgoing mail"),
                "state": state,
                "count": count,
                "age": 0.0,
                "failures": 0,
            }
            for state, count in self.env.cr.fetchall()
        ]

    @api.model
    def _cron_rows(self):
        """Active scheduled actions that are due (late) or failing."""
        self.env["ir.cron"].flush_model()
        self.env.cr.execute(tenant_sql.CRON_SQL)
        return [
            {
                "category": "cron",
                "name": name,
                "state": "failing" if failures else "due",
                "count": 1,
                "age": float(late) if late is not None else 0.0,
                "failures": failures,
            }
            for name, late, failures in self.env.cr.fetchall()
        ]

    @api.model
    def action_refresh(self):
        """Recompute the snapshot of the current user and open it."""
        self.search([("create_uid", "=", self.env.uid)]).unlink()
        rows = (self._queue_job_rows() or []) + self._cron_rows() + (self._mail_rows() or [])
        self.create(rows)
        return self.env["ir.actions.act_window"]._for_xml_id(
            "logistics_observability.action_queue_depth_view"
        )
