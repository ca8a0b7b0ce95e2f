"""Per-tenant workflow ledger: exact counts in each tenant's PostgreSQL database.

Runs are summed in memory per (tenant, minute, workflow, outcome) and written
by one ``INSERT ... ON CONFLICT DO UPDATE`` per tenant per flush, on a
connection of its own (never the observed transaction, so a rolled-back
failure still lands). A daemon thread flushes every ``interval`` seconds; the
buffer is also flushed at interpreter exit and emptied in forked children (the
parent keeps and writes its own rows). The buffer is bounded: past
``max_rows`` distinct rows new keys are dropped and counted.

Table layout (see docs/DESIGN.md "Workflow ledger"): ``minute`` (UTC,
truncated), ``workflow``, ``outcome``, ``count``, ``duration_sum``,
``sql_queries_sum``, ``duration_buckets`` (non-cumulative, one per
``buckets.WORKFLOW_DURATION`` bound + Inf) and ``start_delay_buckets`` (per
``buckets.START_DELAY`` bound + Inf), unique on (minute, workflow, outcome).
"""
import atexit
import datetime
import logging
import os
import threading
import time
import weakref

from . import buckets

_logger = logging.getLogger(__name__)

TABLE = "logistics_workflow_ledger"
N_DURATION = len(buckets.WORKFLOW_DURATION) + 1
N_START_DELAY = len(buckets.START_DELAY) + 1

CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id bigserial PRIMARY KEY,
    minute timestamp without time zone NOT NULL,
    workflow varchar NOT NULL,
    outcome varchar NOT NULL CHECK (outcome IN ('success', 'failure')),
    count bigint NOT NULL DEFAULT 0,
    duration_sum double precision NOT NULL DEFAULT 0,
    sql_queries_sum bigint NOT NULL DEFAULT 0,
    duration_buckets bigint[] NOT NULL,
    start_delay_buckets bigint[] NOT NULL,
    CONSTRAINT {TABLE}_minute_workflow_outcome_key UNIQUE (minute, workflow, outcome)
);
CREATE INDEX IF NOT EXISTS {TABLE}_workflow_minute_idx ON {TABLE} (workflow, minute);
"""

_SUM_ARRAYS = (
    "(SELECT array_agg(COALESCE(a, 0) + COALESCE(b, 0) ORDER BY i) "
    "FROM unnest(l.{c}, EXCLUDED.{c}) WITH ORDINALITY AS s(a, b, i))"
)
UPSERT_HEAD = (
    "INSERT INTO %s AS l (minute, workflow, outcome, count, duration_sum, sql_queries_sum, "
    "duration_buckets, start_delay_buckets) VALUES " % TABLE
)
UPSERT_TAIL = (
    " ON CONFLICT (minute, workflow, outcome) DO UPDATE SET "
    "count = l.count + EXCLUDED.count, "
    "duration_sum = l.duration_sum + EXCLUDED.duration_sum, "
    "sql_queries_sum = l.sql_queries_sum + EXCLUDED.sql_queries_sum, "
    "duration_buckets = " + _SUM_ARRAYS.format(c="duration_buckets") + ", "
    "start_delay_buckets = " + _SUM_ARRAYS.format(c="start_delay_buckets")
)
_ROW_SQL = "(%s, %s, %s, %s, %s, %s, %s::bigint[], %s::bigint[])"


class MissingTable(Exception):
    """The tenant database has no ledger table (addon not installed there)."""


def minute_of(ts):
    """Naive UTC datetime of the minute containing epoch seconds ``ts``."""
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=int(ts // 60) * 60)


class _Row:
    __slots__ = ("count", "delay_buckets", "duration_buckets", "duration_sum", "sql_sum")

    def __init__(self):
        self.count = 0
        self.duration_sum = 0.0
        self.sql_sum = 0
        self.duration_buckets = [0] * N_DURATION
        self.delay_buckets = [0] * N_START_DELAY

    def merge(self, other):
        self.count += other.count
        self.duration_sum += other.duration_sum
        self.sql_sum += other.sql_sum
        for i, v in enumerate(other.duration_buckets):
            self.duration_buckets[i] += v
        for i, v in enumerate(other.delay_buckets):
            self.delay_buckets[i] += v


def build_upsert(rows):
    """(sql, params) of the single statement writing ``rows`` {(minute, wf, outcome): _Row}."""
    keys = sorted(rows)  # same lock order in every process: no deadlocks between flushers
    values, params = [], []
    for key in keys:
        row = rows[key]
        minute, workflow, outcome = key
        values.append(_ROW_SQL)
        params.extend((minute_of(minute * 60), workflow, outcome, row.count, row.duration_sum, row.sql_sum,
                       list(row.duration_buckets), list(row.delay_buckets)))
    return UPSERT_HEAD + ", ".join(values) + UPSERT_TAIL, params


class Ledger:
    """In-memory buffer of workflow runs, flushed per tenant by batched upserts.

    ``connect(tenant)`` must return a context manager yielding a DB-API cursor
    on the tenant database that commits when the block exits without error.
    """

    def __init__(self, connect=None, interval=5.0, max_rows=20000, statement_timeout_ms=5000):
        self.connect = connect
        self.interval = interval
        self.max_rows = max_rows
        self.statement_timeout_ms = statement_timeout_ms
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._buffer = {}  # tenant -> {(minute_index, workflow, outcome): _Row}
        self._nrows = 0
        self.dropped = 0
        self.writes = 0
        self.failed_writes = 0
        self._missing = set()
        self._thread = None
        self._stop = threading.Event()
        _LEDGERS.add(self)

    # -- recording ----------------------------------------------------
    def record(self, tenant, workflow, outcome, duration, sql_queries=0, start_delay=None, when=None):
        """Add one run; never raises."""
        try:
            if not tenant or tenant in self._missing:
                return
            when = time.time() if when is None else when
            key = (int(when // 60), workflow, outcome)
            with self._lock:
                rows = self._buffer.setdefault(tenant, {})
                row = rows.get(key)
                if row is None:
                    if self._nrows >= self.max_rows:
                        self.dropped += 1
                        return
                    row = rows[key] = _Row()
                    self._nrows += 1
                row.count += 1
                row.duration_sum += duration
                row.sql_sum += int(sql_queries or 0)
                row.duration_buckets[buckets.bucket_index(buckets.WORKFLOW_DURATION, duration)] += 1
                if start_delay is not None:
                    row.delay_buckets[buckets.bucket_index(buckets.START_DELAY, start_delay)] += 1
            self._ensure_thread()
        except Exception:
            _logger.debug("ledger record failed", exc_info=True)

    def pending(self):
        """Total runs not yet written, per tenant."""
        with self._lock:
            return {t: sum(r.count for r in rows.values()) for t, rows in self._buffer.items()}

    # -- flushing -----------------------------------------------------
    def _take(self):
        with self._lock:
            buffer, self._buffer, self._nrows = self._buffer, {}, 0
        return buffer

    def _give_back(self, tenant, rows):
        with self._lock:
            mine = self._buffer.setdefault(tenant, {})
            for key, row in rows.items():
                if key in mine:
                    mine[key].merge(row)
                elif self._nrows < self.max_rows:
                    mine[key] = row
                    self._nrows += 1
                else:
                    self.dropped += row.count

    def write_tenant(self, tenant, rows):
        """Write one tenant's rows with one statement; raises on failure."""
        sql, params = build_upsert(rows)
        with self.connect(tenant) as cr:
            cr.execute("SET LOCAL statement_timeout = %s", (int(self.statement_timeout_ms),))
            cr.execute("SELECT to_regclass(%s)", (TABLE,))
            if cr.fetchone()[0] is None:
                raise MissingTable(tenant)
            cr.execute(sql, params)
        self.writes += 1

    def flush(self):
        """Write everything buffered; rows of a tenant whose write failed are kept for the next flush."""
        if self.connect is None:
            return 0
        with self._flush_lock:
            buffer = self._take()
            written = 0
            for tenant, rows in buffer.items():
                if not rows:
                    continue
                try:
                    self.write_tenant(tenant, rows)
                    written += sum(r.count for r in rows.values())
                except MissingTable:
                    self._missing.add(tenant)
                    _logger.info("workflow ledger: database %s has no %s table; not recording it",
                                 tenant, TABLE)
                except Exception:
                    self.failed_writes += 1
                    _logger.warning("workflow ledger: flush to %s failed; will retry", tenant, exc_info=True)
                    self._give_back(tenant, rows)
            return written

    def forget_missing(self, tenant=None):
        """Let a tenant be recorded again (its ledger table was just created)."""
        if tenant is None:
            self._missing.clear()
        else:
            self._missing.discard(tenant)

    # -- background thread ----------------------------------------------
    def _ensure_thread(self):
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="lo-ledger-flush", daemon=True)
            self._thread.start()

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:
                _logger.warning("workflow ledger flush failed", exc_info=True)

    def stop(self, flush=True):
        self._stop.set()
        if flush:
            self.flush()

    def _after_fork_in_child(self):
        # The child must not write the parent's rows a second time.
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._buffer, self._nrows = {}, 0
        self._thread = None
        self._stop = threading.Event()


_LEDGERS = weakref.WeakSet()


def _reset_children():
    for ledger in list(_LEDGERS):
        ledger._after_fork_in_child()


def _flush_all_at_exit():
    for ledger in list(_LEDGERS):
        try:
            ledger.stop(flush=True)
        except Exception:
            _logger.debug("ledger flush at exit failed", exc_info=True)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_children)
atexit.register(_flush_all_at_exit)
