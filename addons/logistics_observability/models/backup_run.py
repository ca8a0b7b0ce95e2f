import datetime
import logging

import psycopg2.errors

from odoo import api, fields, models
from odoo.tools import SQL, sql

from .. import compat
from ..core import backup_status

_logger = logging.getLogger(__name__)

#: Unique index on a run's natural key (see ``LogisticsBackupRun.init``).
NATURAL_KEY_INDEX = "logistics_backup_run_natural_key_idx"

KIND_SELECTION = [
    ("full", "Full"),
    ("incremental", "Incremental"),
    ("wal", "WAL archive"),
    ("snapshot", "Snapshot"),
    ("restore_drill", "Restore drill"),
]


class LogisticsBackupRun(models.Model):
    """A backup or restore drill of this database, reported by the platform's backup jobs."""

    _name = "logistics.backup.run"
    _description = "Backup Run"
    _order = "started_at desc, id desc"
    _rec_name = "display_label"

    kind = fields.Selection(KIND_SELECTION, required=True, index=True)
    status = fields.Selection(
        [("running", "Running"), ("success", "Succeeded"), ("failed", "Failed")], required=True, index=True
    )
    started_at = fields.Datetime(required=True, index=True)
    ended_at = fields.Datetime()
    duration_seconds = fields.Float(compute="_compute_duration", store=True, aggregator="max")
    size_bytes = fields.Float(string="Size (bytes)", digits=(20, 0), aggregator="sum")
    size_gb = fields.Float(string="Size (GB)", compute="_compute_duration", store=True, digits=(12, 3))
    location = fields.Char(help="Where the backup is stored (URL, bucket path, snapshot id).")
    checksum_verified = fields.Boolean(help="The stored backup's integrity was verified.")
    restore_verified = fields.Boolean(
        string="Restored and verified", help="Restore drills: the backup was restored and the data checked."
    )
    message = fields.Text()
    source = fields.Selection(
        [("api", "API"), ("cli", "Command line"), ("wal_archiver", "WAL archiver"), ("manual", "Manual")],
        default="manual",
        required=True,
    )
    warning = fields.Char(compute="_compute_warning")
    display_label = fields.Char(compute="_compute_display_label")

    def init(self):
        # A run's natural key is (kind, started_at, location). A UNIQUE constraint treats NULL
        # locations as distinct, so two concurrent reports of a run without a location would
        # both insert: index the location coalesced to '' instead. Duplicates stored before
        # the index existed are folded into the latest report of each run first.
        if sql.index_exists(self.env.cr, NATURAL_KEY_INDEX):
            return
        self.env.cr.execute(
            SQL(
                """DELETE FROM logistics_backup_run r USING logistics_backup_run newer
                WHERE newer.kind = r.kind AND newer.started_at = r.started_at
                  AND COALESCE(newer.location, '') = COALESCE(r.location, '') AND newer.id > r.id"""
            )
        )
        if self.env.cr.rowcount:
            _logger.warning(
                "logistics.backup.run: %d duplicate run reports folded into their latest",
                self.env.cr.rowcount,
            )
        expressions = ["kind", "started_at", "COALESCE(location, '')"]
        compat.create_unique_index(self.env.cr, NATURAL_KEY_INDEX, self._table, expressions)

    @api.depends("started_at", "ended_at", "size_bytes")
    def _compute_duration(self):
        for run in self:
            run.duration_seconds = (
                (run.ended_at - run.started_at).total_seconds() if run.ended_at and run.started_at else 0.0
            )
            run.size_gb = (run.size_bytes or 0.0) / 1e9

    @api.depends("status", "kind", "checksum_verified", "restore_verified")
    def _compute_warning(self):
        for run in self:
            warning = False
            if run.status == "failed":
                warning = "Failed"
            elif run.status == "success" and run.kind == "restore_drill" and not run.restore_verified:
                warning = "Restore not verified"
            elif run.status == "success" and run.kind != "restore_drill" and not run.checksum_verified:
                warning = "Checksum not verified"
            run.warning = warning

    @api.depends("kind", "started_at")
    def _compute_display_label(self):
        labels = dict(KIND_SELECTION)
        for run in self:
            run.display_label = "%s %s" % (labels.get(run.kind, run.kind or ""), run.started_at or "")

    @api.model
    def _ingest(self, reports, source="api"):
        """Create or update runs from validated reports (see ``backup_reports.parse_body``).

        Idempotent on (kind, started_at, location): a report for an existing run
        updates it (a ``running`` run later reported ``success``). Returns the runs.
        """
        return self._ingest_counted(reports, source)[0]

    @api.model
    def _ingest_counted(self, reports, source="api"):
        """:meth:`_ingest`, returning ``(runs, number of runs created)``."""
        runs, created = self.browse(), 0
        for values in reports:
            values = dict(values, source=source, location=values.get("location") or False)
            existing = self.search(
                [
                    ("kind", "=", values["kind"]),
                    ("started_at", "=", values["started_at"]),
                    ("location", "=", values["location"]),
                ],
                limit=1,
            )
            if existing:
                existing.write({k: v for k, v in values.items() if k != "source"})
                runs |= existing
                continue
            try:
                with self.env.cr.savepoint():
                    run = self.create(values)
                    run.flush_recordset()
                runs |= run
                created += 1
            except psycopg2.errors.UniqueViolation:
                # the same run was reported by a concurrent request that committed after this
                # transaction began: Odoo retries a request on a serialization failure, and the
                # retry sees the run and updates it (a duplicate, not an error)
                self.env.cr.execute(
                    SQL(
                        "DO $$ BEGIN RAISE EXCEPTION 'backup run reported concurrently' "
                        "USING ERRCODE = 'serialization_failure'; END $$"
                    )
                )
        return runs, created

    @api.model
    def get_status(self):
        """Backup status of this database: ``backup_status.evaluate`` output."""
        self.flush_model()
        self.env["logistics.backup.policy"].flush_model()
        self.env.cr.execute(backup_status.SUMMARY_SQL)
        rows = self.env.cr.fetchall()
        targets = self.env["logistics.backup.policy"]._get_targets()
        return backup_status.evaluate(rows, targets)

    @api.model
    def _cron_check_wal_archiver(self):
        """Record WAL archiving progress seen in ``pg_stat_archiver`` as ``wal`` runs.

        The archiver is server-wide; this only proves that WAL leaves the server,
        which is what point-in-time recovery of this database relies on.
        """
        self.env.cr.execute("""
            SELECT last_archived_wal, last_archived_time AT TIME ZONE 'UTC',
                   last_failed_wal, last_failed_time AT TIME ZONE 'UTC', current_setting('archive_mode')
              FROM pg_stat_archiver""")
        wal, archived_at, failed_wal, failed_at, mode = self.env.cr.fetchone()
        if mode == "off" or not archived_at:
            return
        archived_at = archived_at.replace(microsecond=0, tzinfo=None)
        if failed_at and failed_at > archived_at:
            report = {
                "kind": "wal",
                "status": "failed",
                "started_at": failed_at.replace(microsecond=0),
                "ended_at": failed_at.replace(microsecond=0),
                "location": "archiver:%s" % failed_wal,
                "message": "WAL archiver failed on %s" % failed_wal,
            }
        else:
            report = {
                "kind": "wal",
                "status": "success",
                "started_at": archived_at,
                "ended_at": archived_at,
                "location": "archiver:%s" % wal,
                "checksum_verified": False,
            }
        report.setdefault("size_bytes", None)
        if not self.search_count(
            [
                ("kind", "=", "wal"),
                ("started_at", "=", report["started_at"]),
                ("location", "=", report["location"]),
            ]
        ):
            self.sudo()._ingest([report], source="wal_archiver")
        # keep the archiver's bookkeeping bounded: one row per archiver observation, 30 days
        limit = fields.Datetime.now() - datetime.timedelta(days=30)
        self.sudo().search([("source", "=", "wal_archiver"), ("started_at", "<", limit)]).unlink()
