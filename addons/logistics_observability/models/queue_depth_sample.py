"""Queue depth of this database sampled by a scheduled action, kept 7 days: the Platform Health
queue trend (queue_job jobs waiting, outgoing mails, due scheduled actions)."""

import datetime

from odoo import api, fields, models

KEEP_DAYS = 7


class LogisticsQueueDepthSample(models.Model):
    _name = "logistics.queue.depth.sample"
    _description = "Queue Depth Sample"
    _order = "sampled_at desc"
    _log_access = False

    sampled_at = fields.Datetime(required=True, readonly=True, index=True)
    jobs_waiting = fields.Integer(readonly=True, help="queue_job jobs pending or enqueued")
    mails_outgoing = fields.Integer(readonly=True)
    crons_due = fields.Integer(readonly=True, help="active scheduled actions past their next call")

    @api.model
    def _measure(self):
        depth = self.env["logistics.queue.depth"]
        jobs = depth._queue_job_rows() or []
        mails = depth._mail_rows() or []
        return {
            "jobs_waiting": sum(r["count"] for r in jobs if r["state"] in ("pending", "enqueued")),
            "mails_outgoing": sum(r["count"] for r in mails if r["state"] == "outgoing"),
            "crons_due": sum(1 for r in depth._cron_rows() if r["age"] and r["age"] > 0),
        }

    @api.model
    def _sample(self):
        """Scheduled action: one sample now, samples older than 7 days removed."""
        self.sudo().create(dict(self._measure(), sampled_at=fields.Datetime.now()))
        limit = fields.Datetime.now() - datetime.timedelta(days=KEEP_DAYS)
        self.sudo().search([("sampled_at", "<", limit)]).unlink()
