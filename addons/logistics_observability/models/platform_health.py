"""Platform Health cards of this database, and its 24 h trends.

Extension point: another addon adds a card by inheriting the model and
appending to ``get_cards()``::

    class PlatformHealth(models.AbstractModel):
        _inherit = "logistics.platform.health"

        @api.model
        def get_cards(self):
            cards = super().get_cards()
            cards.append(self._card("slo", "SLOs", "warn", "2 SLOs burning budget fast",
                                    "Open SLOs and check the fastest-burning one.", sequence=70))
            return cards

A card never shows another tenant's name or numbers: PostgreSQL figures are
this database's own, plus server-wide totals.
"""

import datetime
import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..core import backup_status, trends
from ..core import config as obs_config
from ..core import ledger as core_ledger
from ..core.collectors import redis_collector

_logger = logging.getLogger(__name__)

STATES = ("pass", "warn", "fail")


def _worst(*states):
    return max(states, key=STATES.index) if states else "pass"


class LogisticsPlatformHealth(models.AbstractModel):
    _name = "logistics.platform.health"
    _description = "Platform Health"

    # thresholds (seconds / ratios); override in a subclass to tune
    _pg_connections_warn = 0.75
    _pg_connections_fail = 0.9
    _pg_transaction_warn = 300.0
    _pg_replication_warn = 30.0
    _pg_replication_fail = 300.0
    _queue_pending_warn = 900.0
    _queue_pending_fail = 3600.0
    _cron_late_warn = 600.0
    _cron_late_fail = 3600.0
    _workflow_failure_warn = 0.01
    _workflow_failure_fail = 0.05
    _workflow_min_runs = 20

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
    def get_cards(self):
        """Cards for the dashboard, sorted by sequence. Needs the Observability Viewer group."""
        _ = self.env._
        if not self.env.user.has_group("logistics_observability.group_observability_viewer"):
            raise AccessError(_("Platform Health is reserved to Observability Viewers."))
        cards = []
        for key, method in (
            ("postgres", self._card_postgres),
            ("redis", self._card_redis),
            ("queue", self._card_queue),
            ("crons", self._card_crons),
            ("backups", self._card_backups),
            ("workflows", self._card_workflows),
        ):
            try:
                with self.env.cr.savepoint():
                    cards.append(method())
            except Exception as exc:  # one broken check must not hide the other cards
                _logger.warning("platform health card %s failed: %s", key, exc)
                cards.append(
                    self._card(
                        key,
                        key.title(),
                        "fail",
                        _("Check failed: %s") % type(exc).__name__,
                        _("Read the Odoo server log for the error."),
                    )
                )
        return sorted(cards, key=lambda c: (c["sequence"], c["key"]))

    @api.model
    def get_dashboard(self):
        cards = self.get_cards()
        overall = _worst(*[c["state"] for c in cards])
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
        self.env.cr.execute("SELECT to_regclass(%s) IS NOT NULL", (core_ledger.TABLE,))
        rows = []
        if self.env.cr.fetchone()[0]:
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

    # -- PostgreSQL --------------------------------------------------------
    def _card_postgres(self):
        _ = self.env._
        cr = self.env.cr
        cr.execute("""
            SELECT count(*) FILTER (WHERE datname = current_database()),
                   count(*) FILTER (WHERE datname = current_database() AND state = 'active'),
                   count(*) FILTER (WHERE datname = current_database()
                                      AND state LIKE 'idle in transaction%%'),
                   coalesce(max(extract(epoch FROM now() - xact_start))
                            FILTER (WHERE datname = current_database() AND pid <> pg_backend_pid()), 0),
                   count(*),
                   current_setting('max_connections')::int
              FROM pg_stat_activity WHERE backend_type = 'client backend'""")
        own, own_active, own_idle_tx, own_longest, total, max_conn = cr.fetchone()
        cr.execute("""
            SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE NOT l.granted AND a.datname = current_database()""")
        own_waiting = cr.fetchone()[0]
        cr.execute("SELECT pg_database_size(current_database())")
        size = cr.fetchone()[0]
        cr.execute(
            "SELECT max(coalesce(extract(epoch FROM replay_lag), 0)), count(*) " "FROM pg_stat_replication"
        )
        lag, replicas = cr.fetchone()
        cr.execute("""SELECT failed_count, last_failed_time > coalesce(last_archived_time, '-infinity'),
                             current_setting('archive_mode') FROM pg_stat_archiver""")
        archive_failed, archive_failing, archive_mode = cr.fetchone()
        usage = float(total) / max_conn if max_conn else 0.0
        lag = float(lag or 0)
        states, reasons, action = [], [], ""
        if usage >= self._pg_connections_fail:
            states.append("fail")
            reasons.append(_("Server connections at %d%% of max_connections") % (usage * 100))
            action = _("Lower workers / db_maxconn or add a connection pooler.")
        elif usage >= self._pg_connections_warn:
            states.append("warn")
            reasons.append(_("Server connections at %d%% of max_connections") % (usage * 100))
            action = _("Check for connection leaks; plan a pooler or more max_connections.")
        if lag >= self._pg_replication_fail:
            states.append("fail")
            reasons.append(_("Replica lag %s") % backup_status.human_duration(lag))
            action = action or _("Check the replica's network and disk; failover is unsafe now.")
        elif lag >= self._pg_replication_warn:
            states.append("warn")
            reasons.append(_("Replica lag %s") % backup_status.human_duration(lag))
            action = action or _("Check the replica's load and network.")
        if archive_failing:
            states.append("warn")
            reasons.append(_("WAL archiving is failing"))
            action = action or _("Fix archive_command (storage credentials, space); WAL piles up meanwhile.")
        if float(own_longest) >= self._pg_transaction_warn:
            states.append("warn")
            reasons.append(
                _("A transaction in this database is open for %s") % backup_status.human_duration(own_longest)
            )
            action = action or _("Find the long request or cron in the Odoo log and stop it.")
        if own_waiting:
            states.append("warn")
            reasons.append(_("%d lock requests waiting in this database") % own_waiting)
            action = action or _("Look for a long transaction holding locks (often a cron or an import).")
        details = [
            (
                _("Connections (this database)"),
                "%d (%d active, %d idle in transaction)" % (own, own_active, own_idle_tx),
            ),
            (_("Longest transaction (this database)"), backup_status.human_duration(own_longest)),
            (_("Waiting locks (this database)"), own_waiting),
            (_("Database size"), _human_bytes(size)),
            (_("Server connections"), "%d / %d" % (total, max_conn)),
            (_("Replicas"), "%d (max lag %s)" % (replicas, backup_status.human_duration(lag))),
            (
                _("WAL archiving"),
                archive_mode if archive_mode == "off" else _("%s failures") % archive_failed,
            ),
        ]
        return self._card(
            "postgres",
            _("PostgreSQL"),
            _worst(*states),
            "; ".join(reasons) or _("Server answers; connections and locks are normal."),
            action,
            details,
            sequence=10,
        )

    # -- Redis ---------------------------------------------------------------
    def _card_redis(self):
        _ = self.env._
        url = obs_config.current().redis_url
        if not url:
            return self._card(
                "redis",
                _("Redis"),
                "pass",
                _("Not configured (observability_redis_url)."),
                "",
                [],
                sequence=20,
            )
        ok, took, info = redis_collector.ping(url)
        if not ok:
            return self._card(
                "redis",
                _("Redis"),
                "fail",
                _("Redis does not answer (%s).") % info,
                _("Check that the Redis service runs and is reachable from Odoo."),
                [(_("Checked in"), "%d ms" % (took * 1000))],
                sequence=20,
            )
        used, maximum = info.get("used_memory", 0), info.get("maxmemory", 0)
        evicted = info.get("evicted_keys", 0)
        state, reason, action = "pass", _("Redis answers."), ""
        if maximum and used >= 0.9 * maximum:
            state, reason = "warn", _("Redis memory at %d%% of maxmemory.") % (100 * used / maximum)
            action = _("Raise maxmemory or find the keys that grow.")
        elif evicted:
            state, reason = "warn", _("Redis evicted %d keys since it started.") % evicted
            action = _("Raise maxmemory; evictions drop sessions or cache entries.")
        details = [
            (_("Memory"), "%s / %s" % (_human_bytes(used), _human_bytes(maximum) if maximum else "∞")),
            (_("Clients"), info.get("connected_clients", 0)),
            (_("Evicted keys"), evicted),
            (_("Checked in"), "%d ms" % (took * 1000)),
        ]
        return self._card("redis", _("Redis"), state, reason, action, details, sequence=20)

    # -- queue ---------------------------------------------------------------
    def _card_queue(self):
        _ = self.env._
        depth = self.env["logistics.queue.depth"]
        jobs = depth._queue_job_rows()
        mails = depth._mail_rows()
        states, reasons, action, details = [], [], "", []
        if jobs is None:
            details.append((_("queue_job"), _("not installed")))
        else:
            by_state = {}
            oldest = 0.0
            for row in jobs:
                by_state[row["state"]] = by_state.get(row["state"], 0) + row["count"]
                oldest = max(oldest, row["age"] or 0.0)
            details += [(_("Jobs %s") % state, count) for state, count in sorted(by_state.items())]
            details.append((_("Oldest pending job"), backup_status.human_duration(oldest)))
            if oldest >= self._queue_pending_fail:
                states.append("fail")
                reasons.append(_("A job has waited %s") % backup_status.human_duration(oldest))
                action = _("Check that the job runner runs (workers, --load=queue_job) and its channels.")
            elif oldest >= self._queue_pending_warn:
                states.append("warn")
                reasons.append(_("A job has waited %s") % backup_status.human_duration(oldest))
                action = _("Check the job runner's capacity for the busiest channel.")
            if by_state.get("failed"):
                states.append("warn")
                reasons.append(_("%d failed jobs") % by_state["failed"])
                action = action or _("Open Queue Depth, read the failed jobs' errors and requeue them.")
        if mails is not None:
            by_mail = {r["state"]: r["count"] for r in mails}
            details += [(_("Mails %s") % state, count) for state, count in sorted(by_mail.items())]
            if by_mail.get("exception"):
                states.append("warn")
                reasons.append(_("%d outgoing mails failed") % by_mail["exception"])
                action = action or _("Check the outgoing mail server, then retry the failed mails.")
        return self._card(
            "queue",
            _("Queue"),
            _worst(*states),
            "; ".join(reasons) or _("No backlog."),
            action,
            details,
            sequence=30,
            menu="logistics_observability.action_queue_depth",
        )

    # -- crons ---------------------------------------------------------------
    def _card_crons(self):
        _ = self.env._
        rows = self.env["logistics.queue.depth"]._cron_rows()
        late = [r for r in rows if r["age"] and r["age"] > 0]
        failing = [r for r in rows if r["failures"]]
        worst_late = max([r["age"] for r in late] or [0.0])
        states, reasons, action = [], [], ""
        if worst_late >= self._cron_late_fail:
            states.append("fail")
        elif worst_late >= self._cron_late_warn:
            states.append("warn")
        if worst_late >= self._cron_late_warn:
            name = max(late, key=lambda r: r["age"])["name"]
            reasons.append(
                _("%(cron)s is %(late)s late", cron=name, late=backup_status.human_duration(worst_late))
            )
            action = _("Check that cron workers run (max_cron_threads > 0) and no cron holds them.")
        if failing:
            worst = max(failing, key=lambda r: r["failures"])
            states.append("fail" if worst["failures"] >= 5 else "warn")
            reasons.append(
                _("%(cron)s failed %(count)d times in a row", cron=worst["name"], count=worst["failures"])
            )
            action = action or _("Read the scheduled action's error in the server log and fix it.")
        details = [
            (_("Due scheduled actions"), len(late)),
            (_("Most late"), backup_status.human_duration(worst_late)),
            (_("Failing scheduled actions"), len(failing)),
        ]
        return self._card(
            "crons",
            _("Scheduled actions"),
            _worst(*states),
            "; ".join(reasons) or _("Scheduled actions run on time."),
            action,
            details,
            sequence=40,
            menu="logistics_observability.action_queue_depth",
        )

    # -- backups -------------------------------------------------------------
    def _card_backups(self):
        _ = self.env._
        status = self.env["logistics.backup.run"].sudo().get_status()
        warnings = status["warnings"]
        state = "warn" if warnings else "pass"
        if status["last_backup_success_ts"] is None or "failed" in warnings:
            state = "fail"
        first = next((r for r in ("failed", "stale", "unverified", "drill_overdue") if r in warnings), None)
        now = datetime.datetime.now(datetime.timezone.utc).timestamp()
        last = status["last_backup_success_ts"]
        drill = status["drill_success_ts"]
        ago = backup_status.human_duration
        details = [
            (_("Last successful backup"), _("%s ago") % ago(now - last) if last else _("never")),
            (_("RPO"), backup_status.human_duration(status["rpo_seconds"])),
            (_("Last verified restore drill"), _("%s ago") % ago(now - drill) if drill else _("never")),
            (_("Drill interval"), backup_status.human_duration(status["drill_interval_seconds"])),
        ]
        return self._card(
            "backups",
            _("Backups"),
            state,
            " ".join(warnings[r] for r in backup_status.REASONS if r in warnings)
            or _("Backups are within RPO, verified, and drilled."),
            backup_status.REASONS[first] if first else "",
            details,
            sequence=50,
            menu="logistics_observability.action_backup_run",
        )

    # -- workflows -----------------------------------------------------------
    def _card_workflows(self):
        _ = self.env._
        since = datetime.datetime.utcnow() - datetime.timedelta(hours=24)
        summary = self.env["logistics.workflow.summary"]._summary(since)
        if summary is None:
            return self._card(
                "workflows", _("Workflows"), "pass", _("No workflow ledger yet."), "", [], sequence=60
            )
        states, reasons = [], []
        for row in summary:
            if row["runs"] < self._workflow_min_runs:
                continue
            if row["failure_rate"] >= self._workflow_failure_fail:
                states.append("fail")
            elif row["failure_rate"] >= self._workflow_failure_warn:
                states.append("warn")
            else:
                continue
            reasons.append(
                _(
                    "%(workflow)s fails %(rate).1f%% of %(runs)d runs",
                    workflow=row["workflow"],
                    rate=100 * row["failure_rate"],
                    runs=row["runs"],
                )
            )
        details = [
            (
                row["workflow"],
                _(
                    "%(runs)d runs, %(rate).1f%% failed, p95 %(p95)s",
                    runs=row["runs"],
                    rate=100 * row["failure_rate"],
                    p95=_seconds(row["p95_seconds"]),
                ),
            )
            for row in summary
        ]
        return self._card(
            "workflows",
            _("Workflows (24 h)"),
            _worst(*states),
            "; ".join(reasons)
            or (
                _("No failures above %.0f%%.") % (100 * self._workflow_failure_warn)
                if summary
                else _("No workflow runs in 24 h.")
            ),
            _("Open Workflows, find when failures started and read the matching log events."),
            details,
            sequence=60,
            menu="logistics_observability.action_workflow_summary",
        )


def _seconds(value):
    if value is None:
        return "-"
    return "%.2fs" % value if value < 120 else backup_status.human_duration(value)


def _human_bytes(value):
    value = float(value or 0)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return ("%.0f %s" if unit == "B" else "%.1f %s") % (value, unit)
        value /= 1024.0
    return "%.1f TB" % value
