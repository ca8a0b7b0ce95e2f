"""Per-tenant-database gauges: crons, queue_job, mail queue, backups, database size.

Reading hundreds of tenant databases on every scrape would be slow and open
hundreds of connections, so a background thread refreshes a cache (at most
``workers`` connections at a time, one short connection per database) when it
is older than ``ttl``; a scrape only formats the cache. The first scrape waits
up to ``first_wait`` seconds for the first refresh. ``odoo_collector_cache_age_seconds``
is the age of the oldest value served (a database is as old as the start of its read); the
collector reports down when the database list cannot be read or that age is over ``3 * ttl``.

A database's read has ``db_budget`` seconds in all (connect and every query). A refresh reads
the least recently read databases first and stops starting reads after ``2 * ttl``: with more
databases than one refresh can read, the next one goes on where it stopped, so every database
is read in turn and the age says how old the oldest values are.

This module is the cache and its thread; a database is read by :mod:`.tenant_read` (the SQL
in :mod:`.tenant_sql`) and the cache becomes families in :mod:`.tenant_families`.
"""

import logging
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .. import metrics
from . import pgconn, tenant_families
from .tenant_read import read_tenant
from .tenant_sql import LIST_SQL

_logger = logging.getLogger(__name__)

#: seconds one database's read may take in all (connect and its queries): a slow database
#: holds one of the ``workers`` for at most this long
DB_BUDGET = 2.0


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
        db_budget=DB_BUDGET,
    ):
        self.params = dict(params)
        self.params.pop("dbname", None)
        self.filter_fn = filter_fn or (lambda names: names)
        self.ttl = float(ttl)
        self.workers = max(1, int(workers))
        self.first_wait = float(first_wait)
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self.db_budget = db_budget
        self._lock = threading.Lock()
        self._thread = None
        self._pid = os.getpid()
        self._done = threading.Event()
        self.data = {}  # dbname -> (monotonic time its read started, data)
        self.refreshed_at = None  # monotonic time of the last completed refresh
        self.started_at = None  # ... and of its start
        self.last_ok = False
        self.last_duration = None
        self.unread = 0  # databases of the last list that could not be read
        self._built = (None, [])  # (the data they were built from, its families)

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
        known = self.data
        # least recently read first (never read: first of all), so that a refresh cut by its
        # deadline is continued by the next one instead of skipping the same databases again
        names = sorted(names, key=lambda n: known[n][0] if n in known else float("-inf"))

        def read(dbname):
            began = time.monotonic()
            if began > deadline:
                return dbname, "skipped", None, began
            try:
                data = read_tenant(
                    self.params, dbname, self.connect_timeout, self.statement_timeout, self.db_budget
                )
                return dbname, "ok", data, began
            except Exception as exc:
                return dbname, "error", type(exc).__name__, began

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="lo-tenant") as pool:
            results = list(pool.map(read, names))
        now = time.monotonic()
        fresh = dict(self.data)
        for dbname, status, data, began in results:
            if status == "ok":
                if data is None:
                    fresh.pop(dbname, None)
                else:
                    fresh[dbname] = (began, data)
            elif dbname in fresh and now - fresh[dbname][0] > self.ttl * 10:
                fresh.pop(dbname, None)  # unreadable for long: forget it rather than serve old numbers
        for dbname in set(fresh) - set(names):
            fresh.pop(dbname, None)  # dropped or filtered out
        # listed, not known to lack the addon, and no values at all: the list would be partial
        unread = [d for d, status, _data, _began in results if status != "ok" and d not in fresh]
        self.data = fresh
        self.unread = len(unread)
        self.families()  # built here, once per refresh: a scrape only hands them out
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
        self.started_at = start
        self.refreshed_at = time.monotonic()
        self._done.set()

    def age(self):
        """Seconds since the oldest value served was read (``None`` before the first refresh)."""
        if self.refreshed_at is None:
            return None
        data = self.data
        oldest = min((read_at for read_at, _data in data.values()), default=self.started_at)
        return time.monotonic() - min(oldest, self.started_at)

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
        age = self.age()
        if age is None or age > self.ttl or time.monotonic() - self.refreshed_at > self.ttl:
            self.kick()
            if self.refreshed_at is None:
                self._done.wait(self.first_wait)
            age = self.age()
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
        """The cached values as families (``tenant_families.build``), built once per refresh:
        at 2,000 tenants building them takes longer than a scrape may wait for a collector."""
        data = self.data
        built_from, families = self._built
        if built_from is not data:
            families = tenant_families.build(data)
            self._built = (data, families)
        return list(families)
