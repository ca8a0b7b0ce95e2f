import logging

from odoo import api, fields, models
from odoo.tools import SQL

from ..core import workflow as core_workflow
from .sql_constraints import sql_constraints

_logger = logging.getLogger(__name__)


class LogisticsWorkflowEvent(models.Model):
    """External workflow events (driver apps, carrier webhooks), kept for idempotency.

    One row per (workflow, reference, occurred_at): a retried delivery of the
    same event is acknowledged without being counted twice.
    """

    _name = "logistics.workflow.event"
    _description = "External Workflow Event"
    _order = "occurred_at desc, id desc"
    _rec_name = "reference"

    workflow = fields.Char(required=True, readonly=True, index=True)
    outcome = fields.Selection([("success", "Success"), ("failure", "Failure")], required=True, readonly=True)
    reference = fields.Char(required=True, readonly=True, index=True)
    occurred_at = fields.Datetime(required=True, readonly=True)
    duration_ms = fields.Float(
        string="Duration (ms)",
        readonly=True,
        help="Recorded duration; for a proof of delivery of a known picking, "
        "the lag since it was dispatched.",
    )

    sql_constraints(
        locals(),
        [
            (
                "event_key_unique",
                "unique(workflow, reference, occurred_at)",
                "This event (workflow, reference, occurrence time) was already received.",
            ),
        ],
    )

    @api.model
    def _dispatch_time(self, reference):
        """When the shipment named ``reference`` left (naive UTC datetime), or None.

        Extension point for the glue addons (``logistics_observability_stock`` answers for
        outgoing pickings): this addon knows no business model.
        """
        return None

    @api.model
    def _event_duration(self, event):
        if event["workflow"] == "pod_sync":
            dispatched = self._dispatch_time(event["reference"])
            if dispatched:
                return max(0.0, (event["occurred_at"] - dispatched).total_seconds())
        return (event["duration_ms"] or 0.0) / 1000.0

    @api.model
    def _ingest(self, events):
        """Store new events in the current transaction; runs are counted after commit.

        Returns (accepted, duplicates). One statement for the whole batch, so a
        batch is written entirely or not at all.
        """
        for event in events:
            event["duration_s"] = self._event_duration(event)
        rows = [
            SQL(
                "(%s, %s, %s, %s, %s, %s, %s, (now() at time zone 'UTC'), (now() at time zone 'UTC'))",
                e["workflow"],
                e["outcome"],
                e["reference"],
                e["occurred_at"],
                e["duration_s"] * 1000.0,
                self.env.uid,
                self.env.uid,
            )
            for e in events
        ]
        self.env.cr.execute(
            SQL(
                "INSERT INTO %s (workflow, outcome, reference, occurred_at, duration_ms,"
                " create_uid, write_uid, create_date, write_date) VALUES %s"
                " ON CONFLICT (workflow, reference, occurred_at) DO NOTHING"
                " RETURNING workflow, reference, occurred_at",
                SQL.identifier(self._table),
                SQL(", ").join(rows),
            )
        )
        inserted = set(self.env.cr.fetchall())
        new = []
        for event in events:
            key = (event["workflow"], event["reference"], event["occurred_at"])
            if key in inserted:
                inserted.discard(key)  # a key repeated inside the batch counts once
                new.append(event)
        tenant = self.env.cr.dbname

        def count_runs():
            for event in new:
                core_workflow.record_run(
                    event["workflow"],
                    event["outcome"],
                    event["duration_s"],
                    tenant=tenant,
                    reference=event["reference"],
                    extra={"event": "external"},
                )

        self.env.cr.postcommit.add(count_runs)
        return len(new), len(events) - len(new)
