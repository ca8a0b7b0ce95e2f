"""Platform Health cards of this database, and its 24 h trends.

Extension point: another addon adds a card by inheriting the model and
appending to ``get_cards()``, through ``_safe_card`` (a failing check shows a
failed card and logs once, never breaks the page)::

    class PlatformHealth(models.AbstractModel):
        _inherit = "logistics.platform.health"

        @api.model
        def get_cards(self):
            cards = super().get_cards()
            cards.append(self._safe_card("slo", "SLOs", lambda: self._card(
                "slo", "SLOs", "warn", "2 SLOs burning budget fast",
                "Open SLOs and check the fastest-burning one.", sequence=70)))
            return self._sorted_cards(cards)

The verdicts and thresholds are ``core/health_cards.py`` (pure), the SQL
``core/health_sql.py``; this model reads the values and frames the cards.

A card never shows another tenant's name or numbers: PostgreSQL figures are
this database's own, plus server-wide totals.
"""

import datetime
import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..core import config as obs_config
from ..core import health_cards, health_sql, tables, trends
from ..core import ledger as core_ledger
from ..core.collectors import redis_collector

_logger = logging.getLogger(__name__)

STATES = health_cards.STATES


class LogisticsPlatformHealth(models.AbstractModel):
    _name = "logistics.platform.health"
    _description = "Platform Health"

    # the thresholds (seconds / ratios / counts) as _pg_connections_warn, _cron_late_fail, ...
    # with core.health_cards' defaults; override one in a subclass to tune
    locals().update(health_cards.attributes())

    @api.model
    def _thresholds(self):
        return health_cards.from_attributes(self)

    @api.model
    def _card(self, key, title, state, reason, action, details=None, sequence=50, menu=None):
        """One card: ``state`` is pass / warn / fail; ``action`` the first thing to do."""
        return {
            "key": key,
            "title": title,
            "state": state if state in STATES else "fail",
            "reason": reason,
            "action": action if state != "pass" else "",
            "details": [[str(k), str(v)] for k, v in (details or [])],
            "sequence": sequence,
            "menu": menu or False,
        }

    @api.model
    def _safe_card(self, key, title, build, sequence=50, menu=None):
        """``build()``'s card, run in a savepoint; on any error a failed card saying so (with
        ``sequence`` and ``menu``) and one warning in the log: one broken check never hides the
        other cards. Extensions adding cards to ``get_cards()`` run each through here."""
        _ = self.env._
        try:
            with self.env.cr.savepoint():
                return build()
        except Exception as exc:
            _logger.warning("platform health card %s failed: %s", key, exc)
            return self._card(
                key,
                title,
                "fail",
                _("Check failed: %s") % type(exc).__name__,
                _("Read the Odoo server log for the error."),
                sequence=sequence,
                menu=menu,
            )

    @api.model
    def _sorted_cards(self, cards):
        return sorted(cards, key=lambda c: (c["sequence"], c["key"]))

    @api.model
    def get_cards(self):
        """Cards for the dashboard, sorted by sequence. Needs the Observability Viewer group."""
        _ = self.env._
        if not self.env.user.has_group("logistics_observability.group_observability_viewer"):
            raise AccessError(_("Platform Health is reserved to Observability Viewers."))
        cards = [
            self._safe_card(key, key.title(), method)
            for key, method in (
                ("postgres", self._card_postgres),
                ("redis", self._card_redis),
                ("queue", self._card_queue),
                ("crons", self._card_crons),
                ("backups", self._card_backups),
                ("workflows", self._card_workflows),
            )
        ]
        return self._sorted_cards(cards)

    @api.model
    def get_dashboard(self):
        cards = self.get_cards()
        overall = health_cards.worst(*[c["state"] for c in cards])
        return {
            "cards": cards,
            "state": overall,
            "database": self.env.cr.dbname,
            "checked_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "trends": self._trends(),
        }

    # -- trends (24 h sparklines) ----------------------------------------------
    @api.model
    def _trends(self, now=None):
        """Hourly runs and failure rate per workflow from this database's ledger, and the queue
        depth from its samples (``logistics.queue.depth.sample``), the last point being now."""
        now = now or datetime.datetime.utcnow()
        start = trends.window_start(now)
        hours = [(start + datetime.timedelta(hours=i)).strftime("%H:00") for i in range(trends.HOURS)]
        rows = []
        if tables.table_exists(self.env.cr, core_ledger.TABLE):
            self.env.cr.execute(trends.WORKFLOW_HOURLY_SQL, {"start": start})
            rows = self.env.cr.fetchall()
        Sample = self.env["logistics.queue.depth.sample"].sudo()
        samples = Sample.search_read(
            [("sampled_at", ">=", start)], ["sampled_at", "jobs_waiting", "mails_outgoing", "crons_due"]
        )
        current = Sample._measure()
        queue = {}
        for key in ("jobs_waiting", "mails_outgoing", "crons_due"):
            points = trends.hourly_max([(s["sampled_at"], s[key]) for s in samples], start)
            points[-1] = max(points[-1] or 0, current[key])  # the hour in progress ends with now
            queue[key] = points
        return {
            "hours": hours,
            "start": fields.Datetime.to_string(start),
            "workflows": trends.workflow_trends(rows),
            "queue": queue,
        }

    # -- the cards: values read here, judged by core.health_cards ----------------
    def _card_postgres(self):
        cr = self.env.cr
        cr.execute(health_sql.ACTIVITY_SQL)
        own, own_active, own_idle_tx, own_longest, total, max_conn = cr.fetchone()
        cr.execute(health_sql.WAITING_LOCKS_SQL)
        own_waiting = cr.fetchone()[0]
        cr.execute(health_sql.DATABASE_SIZE_SQL)
        size = cr.fetchone()[0]
        cr.execute(health_sql.REPLICATION_SQL)
        lag, replicas = cr.fetchone()
        cr.execute(health_sql.ARCHIVER_SQL)
        archive_failed, archive_failing, archive_mode = cr.fetchone()
        pg = {
            "own": own,
            "own_active": own_active,
            "own_idle_tx": own_idle_tx,
            "own_longest": own_longest,
            "own_waiting": own_waiting,
            "size": size,
            "total": total,
            "max_conn": max_conn,
            "lag": lag,
            "replicas": replicas,
            "archive_failed": archive_failed,
            "archive_failing": archive_failing,
            "archive_mode": archive_mode,
        }
        verdict = health_cards.postgres(self.env._, pg, self._thresholds())
        return self._card("postgres", self.env._("PostgreSQL"), *verdict, sequence=10)

    def _card_redis(self):
        _ = self.env._
        url = obs_config.current().redis_url
        if not url:
            verdict = health_cards.redis_unconfigured(_)
        else:
            verdict = health_cards.redis(_, *redis_collector.ping(url), self._thresholds())
        return self._card("redis", _("Redis"), *verdict, sequence=20)

    def _card_queue(self):
        depth = self.env["logistics.queue.depth"]
        verdict = health_cards.queue(
            self.env._, depth._queue_job_rows(), depth._mail_rows(), self._thresholds()
        )
        return self._card(
            "queue",
            self.env._("Queue"),
            *verdict,
            sequence=30,
            menu="logistics_observability.action_queue_depth",
        )

    def _card_crons(self):
        rows = self.env["logistics.queue.depth"]._cron_rows()
        verdict = health_cards.crons(self.env._, rows, self._thresholds())
        return self._card(
            "crons",
            self.env._("Scheduled actions"),
            *verdict,
            sequence=40,
            menu="logistics_observability.action_queue_depth",
        )

    def _card_backups(self):
        status = self.env["logistics.backup.run"].sudo().get_status()
        now = datetime.datetime.now(datetime.timezone.utc).timestamp()
        verdict = health_cards.backups(self.env._, status, now)
        return self._card(
            "backups",
            self.env._("Backups"),
            *verdict,
            sequence=50,
            menu="logistics_observability.action_backup_run",
        )

    def _card_workflows(self):
        _ = self.env._
        since = datetime.datetime.utcnow() - datetime.timedelta(hours=24)
        summary = self.env["logistics.workflow.summary"]._summary(since)
        verdict = health_cards.workflows(_, summary, self._thresholds())
        if summary is None:
            return self._card("workflows", _("Workflows"), *verdict, sequence=60)
        return self._card(
            "workflows",
            _("Workflows (24 h)"),
            *verdict,
            sequence=60,
            menu="logistics_observability.action_workflow_summary",
        )
