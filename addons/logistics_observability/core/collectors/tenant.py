"""Per-tenant-database gauges: crons, queue_job, mail queue, backups, database size.

Reading hundreds of tenant databases on every scrape would be slow and open
hundreds of connections, so a background thread refreshes a cache (at most
``workers`` connections at a time, one short connection per database) when it
is older than ``ttl``; a scrape only formats the cache. The first scrape waits
up to ``first_wait`` seconds for the first refresh. ``odoo_collector_cache_age_seconds``
tells how old the served values are; the collector reports down when the
database list cannot be read or the cache is older than ``3 * ttl``.
"""

import logging
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2

from .. import backup_status, changes, metrics
from .. import odoo_facts as facts
from . import pgconn

_logger = logging.getLogger(__name__)

MODULE = "logistics_observability"

LIST_SQL = """
SELECT datname FROM pg_database
 WHERE datallowconn AND NOT datistemplate AND datname <> 'postgres'
 ORDER BY datname
"""
# Odoo's table and column names come from odoo_facts (checked against each series' source)
PROBE_SQL = f"""
SELECT (SELECT state FROM {facts.MODULE_TABLE} WHERE name = %s),
       to_regclass('{facts.QUEUE_JOB_TABLE}') IS NOT NULL,
       to_regclass('{facts.MAIL_TABLE}') IS NOT NULL,
       to_regclass('logistics_backup_run') IS NOT NULL,
       to_regclass('logistics_backup_policy') IS NOT NULL,
       pg_database_size(current_database()),
       to_regclass('logistics_change_count') IS NOT NULL
"""
CRON_SQL = f"""
SELECT DISTINCT ON (c.id)
       coalesce(d.module || '.' || d.name, 'ir_cron_' || c.id),
       CASE WHEN c.nextcall < (now() AT TIME ZONE 'UTC')
            THEN extract(epoch FROM (now() AT TIME ZONE 'UTC') - c.nextcall) END,
       coalesce(c.{facts.CRON_FAILURE_COUNT}, 0)
  FROM {facts.CRON_TABLE} c
  LEFT JOIN {facts.MODEL_DATA_TABLE} d ON d.model = 'ir.cron' AND d.res_id = c.id
 WHERE c.active AND (c.nextcall < (now() AT TIME ZONE 'UTC') OR coalesce(c.{facts.CRON_FAILURE_COUNT}, 0) > 0)
 ORDER BY c.id, d.id
 LIMIT 500
"""
QUEUE_SQL = f"""
SELECT coalesce(channel, 'root'), state, count(*),
       extract(epoch FROM (now() AT TIME ZONE 'UTC') - min(coalesce(eta, date_created))
               FILTER (WHERE state IN ('pending', 'enqueued')
                         AND coalesce(eta, date_created) <= (now() AT TIME ZONE 'UTC')))
  FROM {facts.QUEUE_JOB_TABLE}
 GROUP BY 1, 2
 LIMIT 1000
"""
MAIL_SQL = "SELECT coalesce(state, 'unknown'), count(*) FROM %s GROUP BY 1" % facts.MAIL_TABLE


def db_filter(names, db_names=None, dbfilter=None, exclude=None):
    """The tenant databases among ``names``: Odoo's ``db_name`` option (``db_names``: the list of
    names it gives, as ``compat`` reads it for the running series) and ``dbfilter`` option, then
    the suite's ``observability_tenant_exclude`` pattern.

    A ``dbfilter`` using ``%h``/``%d`` depends on the request's host: a database is kept when
    some host could select it (``%d`` stands for any name without a dot, ``%h`` for any host),
    so ``^demo_%d$`` keeps ``demo_alpha`` and drops ``lotest_1``. ``exclude`` (a regular
    expression, matched from the start of the name) drops databases that are served but are
    no tenants (templates, staging copies).
    """
    names = list(names)
    if db_names:
        wanted = {str(n).strip() for n in db_names if str(n).strip()}
        names = [n for n in names if n in wanted]
    if dbfilter:
        pattern = _compile(str(dbfilter).replace("%h", "[^:]*").replace("%d", "[^.]*"))
        if pattern is not None:
            names = [n for n in names if pattern.match(n)]
    if exclude:
        pattern = exclude if hasattr(exclude, "match") else _compile(exclude)
        if pattern is not None:
            names = [n for n in names if not pattern.match(n)]
    return names


def _compile(text):
    try:
        return re.compile(text)
    except re.error:
        return None  # an unusable pattern excludes nothing (Odoo reports its own dbfilter errors)


def read_tenant(
    params, dbname, connect_timeout=pgconn.CONNECT_TIMEOUT, statement_timeout=pgconn.STATEMENT_TIMEOUT
):
    """Everything the gauges need from one database, or ``None`` if the addon is not installed."""
    with pgconn.Connection(dict(params, dbname=dbname), connect_timeout, statement_timeout) as conn:
        try:
            state, has_queue, has_mail, has_backup, has_policy, size, has_changes = conn.query(
                PROBE_SQL, (MODULE,)
            )[0]
        except psycopg2.errors.UndefinedTable:
            return None  # not an Odoo database
        if state not in ("installed", "to upgrade"):
            return None
        data = {
            "size": size,
            "crons": conn.query(CRON_SQL),
            "queue": None,
            "mail": None,
            "backup": None,
            "changes": None,
        }
        if has_changes:
            last = conn.query(changes.LAST_SQL)
            data["changes"] = {"modules": conn.query(changes.COUNTS_SQL), "last": last[0] if last else None}
        if has_queue:
            data["queue"] = conn.query(QUEUE_SQL)
        if has_mail:
            data["mail"] = conn.query(MAIL_SQL)
        if has_backup:
            policy = conn.query(backup_status.POLICY_SQL) if has_policy else []
            data["backup"] = backup_status.evaluate(
                conn.query(backup_status.SUMMARY_SQL), policy[0] if policy else None
            )
        return data


class TenantCollector:
    """Cached per-tenant gauges; see the module docstring."""

    def __init__(
        self,
        params,
        filter_fn=None,
        ttl=30.0,
        workers=4,
        first_wait=0.5,
        connect_timeout=pgconn.CONNECT_TIMEOUT,
        statement_timeout=pgconn.STATEMENT_TIMEOUT,
    ):
        self.params = dict(params)
        self.params.pop("dbname", None)
        self.filter_fn = filter_fn or (lambda names: names)
        self.ttl = float(ttl)
        self.workers = max(1, int(workers))
        self.first_wait = float(first_wait)
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self._lock = threading.Lock()
        self._thread = None
        self._pid = os.getpid()
        self._done = threading.Event()
        self.data = {}  # dbname -> (monotonic time read, data)
        self.refreshed_at = None  # monotonic time of the last completed refresh
        self.last_ok = False
        self.last_duration = None
        self.unread = 0  # databases of the last list that could not be read

    # -- refresh -----------------------------------------------------------
    def list_databases(self):
        with pgconn.Connection(
            dict(self.params, dbname="postgres"), self.connect_timeout, self.statement_timeout
        ) as conn:
            names = [row[0] for row in conn.query(LIST_SQL)]
        return self.filter_fn(names)

    def refresh(self):
        """Read every tenant database now (blocking); returns True when the list could be read."""
        start = time.monotonic()
        try:
            names = self.list_databases()
        except Exception as exc:
            _logger.debug("tenant collector: cannot list databases: %s", type(exc).__name__)
            self._finish(start, ok=False)
            return False
        deadline = start + max(self.ttl * 2, 5.0)

        def read(dbname):
            if time.monotonic() > deadline:
                return dbname, "skipped", None
            try:
                return (
                    dbname,
                    "ok",
                    read_tenant(self.params, dbname, self.connect_timeout, self.statement_timeout),
                )
            except Exception as exc:
                return dbname, "error", type(exc).__name__

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="lo-tenant") as pool:
            results = list(pool.map(read, names))
        now = time.monotonic()
        fresh = dict(self.data)
        for dbname, status, data in results:
            if status == "ok":
                if data is None:
                    fresh.pop(dbname, None)
                else:
                    fresh[dbname] = (now, data)
            elif dbname in fresh and now - fresh[dbname][0] > self.ttl * 10:
                fresh.pop(dbname, None)  # unreadable for long: forget it rather than serve old numbers
        for dbname in set(fresh) - set(names):
            fresh.pop(dbname, None)  # dropped or filtered out
        # listed, not known to lack the addon, and no values at all: the list would be partial
        unread = [d for d, status, _data in results if status != "ok" and d not in fresh]
        self.data = fresh
        self.unread = len(unread)
        if unread:
            _logger.warning(
                "tenant collector: %d of %d databases could not be read (e.g. %s); " "reported as partial",
                len(unread),
                len(names),
                unread[0],
            )
        self._finish(start, ok=True)
        return True

    def _finish(self, start, ok):
        self.last_ok = ok
        self.last_duration = time.monotonic() - start
        self.refreshed_at = time.monotonic()
        self._done.set()

    def _run(self):
        try:
            self.refresh()
        except Exception:
            _logger.exception("tenant collector refresh failed")
            self._finish(time.monotonic(), ok=False)

    def kick(self):
        """Start a background refresh unless one is running."""
        if self._pid != os.getpid():
            # forked: the parent's thread does not exist here, and its lock may have been
            # copied while held
            self._pid, self._thread, self._lock = os.getpid(), None, threading.Lock()
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._done.clear()
            self._thread = threading.Thread(target=self._run, name="lo-tenant-refresh", daemon=True)
            self._thread.start()

    def tenants(self):
        """Names of the tenant databases found by the last refresh (``None`` before the first)."""
        return set(self.data) if self.refreshed_at is not None else None

    # -- scrape ------------------------------------------------------------
    def collect(self):
        """``(families, ok, reason)`` from the cache; starts a refresh when it is stale.

        Never presents a partial list as complete: before the first refresh, when
        the list could not be read, or when some listed database could not be read,
        ``ok`` is False and ``reason`` says which (``warming_up``, ``list_failed``,
        ``partial``, ``stale``).
        """
        if self.refreshed_at is None or time.monotonic() - self.refreshed_at > self.ttl:
            self.kick()
            if self.refreshed_at is None:
                self._done.wait(self.first_wait)
        age = None if self.refreshed_at is None else time.monotonic() - self.refreshed_at
        families = self.families()
        cache_age = metrics.Family(
            "odoo_collector_cache_age_seconds",
            "gauge",
            "Age of the cached values a collector serves.",
            ("collector",),
        )
        if age is not None:
            cache_age.add(age, collector="tenants")
        count = metrics.Family(
            "odoo_tenant_databases", "gauge", "Databases with logistics_observability installed.", ()
        )
        count.add(len(self.data))
        families += [cache_age, count]
        if age is None:
            return families, False, "warming_up"
        if not self.last_ok:
            return families, False, "list_failed"
        if self.unread:
            return families, False, "partial"
        if age > self.ttl * 3:
            return families, False, "stale"
        return families, True, None

    def families(self):
        # tenants beyond the label cap share tenant="__overflow__": their samples are folded
        # into one series per family (sum of amounts, worst of ages and timestamps)
        def f(name, type_, help_, labels, combine):
            return metrics.Family(name, type_, help_, labels, combine=combine)

        size = f("odoo_pg_database_size_bytes", "gauge", "Size of the tenant database.", ("tenant",), "sum")
        lateness = f(
            "odoo_cron_lateness_seconds",
            "gauge",
            "now - nextcall of due active scheduled actions.",
            ("tenant", "cron"),
            "max",
        )
        failing = f(
            "odoo_cron_failing",
            "gauge",
            "Consecutive failures of active scheduled actions (only failing ones).",
            ("tenant", "cron"),
            "max",
        )
        jobs = f(
            "odoo_queue_jobs",
            "gauge",
            "queue_job jobs by channel and state.",
            ("tenant", "channel", "state"),
            "sum",
        )
        oldest = f(
            "odoo_queue_oldest_pending_age_seconds",
            "gauge",
            "Age of the oldest due pending/enqueued queue_job job.",
            ("tenant", "channel"),
            "max",
        )
        mail = f(
            "odoo_mail_queue", "gauge", "Outgoing mail.mail messages by state.", ("tenant", "state"), "sum"
        )
        b_ts = f(
            "odoo_backup_last_success_timestamp_seconds",
            "gauge",
            "End of the last successful backup.",
            ("tenant", "kind"),
            "min",
        )
        b_status = f(
            "odoo_backup_last_status",
            "gauge",
            "Latest finished backup: 1 succeeded, 0 failed.",
            ("tenant", "kind"),
            "min",
        )
        b_size = f(
            "odoo_backup_last_size_bytes",
            "gauge",
            "Size of the last successful backup.",
            ("tenant", "kind"),
            "sum",
        )
        b_dur = f(
            "odoo_backup_last_duration_seconds",
            "gauge",
            "Duration of the last successful backup.",
            ("tenant", "kind"),
            "max",
        )
        drill = f(
            "odoo_restore_test_last_success_timestamp_seconds",
            "gauge",
            "End of the last restore drill that restored and verified the data.",
            ("tenant",),
            "min",
        )
        rpo = f(
            "odoo_backup_rpo_seconds", "gauge", "Recovery point objective of the tenant.", ("tenant",), "min"
        )
        interval = f(
            "odoo_restore_test_interval_seconds",
            "gauge",
            "Required restore-drill interval.",
            ("tenant",),
            "min",
        )
        module_ops = f(
            "odoo_module_operations_total",
            "counter",
            "Module installs, upgrades and uninstalls in the tenant (from its own records).",
            ("tenant", "operation"),
            "sum",
        )
        last_change = f(
            "odoo_last_change_timestamp_seconds",
            "gauge",
            "When the tenant's latest change (module, parameter, setting, cron) happened.",
            ("tenant", "kind", "operation", "target"),
            "max",
        )
        warning = f(
            "odoo_backup_warning",
            "gauge",
            "1 when a backup warning holds (stale, drill_overdue, unverified, failed).",
            ("tenant", "reason"),
            "max",
        )
        for dbname in sorted(self.data):
            _read_at, data = self.data[dbname]
            tenant = metrics.tenant_label(dbname)
            if data.get("size") is not None:
                size.add(data["size"], tenant=tenant)
            for cron, late, failures in data["crons"]:
                if late is not None:
                    lateness.add(float(late), tenant=tenant, cron=cron)
                if failures:
                    failing.add(failures, tenant=tenant, cron=cron)
            for channel, state, count, _age in data["queue"] or ():
                jobs.add(count, tenant=tenant, channel=channel, state=state)
            ages = {}
            for channel, _state, _count, age in data["queue"] or ():
                if age is not None:
                    ages[channel] = max(ages.get(channel, 0.0), float(age))
            for channel, age in sorted(ages.items()):
                oldest.add(age, tenant=tenant, channel=channel)
            for state, count in data["mail"] or ():
                mail.add(count, tenant=tenant, state=state)
            found = data.get("changes")
            if found:
                # every operation from 0, so the first one is an increase Prometheus sees
                counts = dict.fromkeys(changes.OPERATIONS, 0)
                counts.update({op: n for op, n in found["modules"] if op in counts})
                for operation, count in counts.items():
                    module_ops.add(count, tenant=tenant, operation=operation)
                if found["last"]:
                    kind, operation, target, when = found["last"]
                    last_change.add(
                        float(when),
                        tenant=tenant,
                        kind=kind or "",
                        operation=operation or "",
                        target=(target or "")[:100],
                    )  # one series per tenant: the latest
            status = data.get("backup")
            if status is None:
                continue
            for kind, info in sorted(status["kinds"].items()):
                if kind == backup_status.DRILL:
                    continue
                if info["last_status"]:
                    b_status.add(1 if info["last_status"] == "success" else 0, tenant=tenant, kind=kind)
                if info["success_ts"]:
                    b_ts.add(info["success_ts"], tenant=tenant, kind=kind)
                    if info["size_bytes"] is not None:
                        b_size.add(info["size_bytes"], tenant=tenant, kind=kind)
                    if info["duration_seconds"] is not None:
                        b_dur.add(info["duration_seconds"], tenant=tenant, kind=kind)
            if status["drill_success_ts"]:
                drill.add(status["drill_success_ts"], tenant=tenant)
            rpo.add(status["rpo_seconds"], tenant=tenant)
            interval.add(status["drill_interval_seconds"], tenant=tenant)
            for reason in backup_status.REASONS:
                warning.add(1 if reason in status["warnings"] else 0, tenant=tenant, reason=reason)
        return [
            size,
            lateness,
            failing,
            jobs,
            oldest,
            mail,
            b_ts,
            b_status,
            b_size,
            b_dur,
            drill,
            rpo,
            interval,
            warning,
            module_ops,
            last_change,
        ]
