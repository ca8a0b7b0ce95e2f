"""Per-tenant workflow ledger: exact counts in each tenant's PostgreSQL database.

Runs are summed in memory per (tenant, minute, workflow, outcome) and written
by one statement per tenant per flush, on a connection of its own (never the
observed transaction, so a rolled-back failure still lands). A daemon thread
flushes every ``interval`` seconds; the buffer is also flushed at interpreter
exit and emptied in forked children (the parent keeps and writes its own
rows). The buffer is bounded: past ``max_rows`` distinct rows new keys are
dropped and counted.

Exactly once, even when a process is SIGKILLed or a commit's acknowledgement
is lost:

- with a spool directory, every run is also appended to the process's own
  spool file before :meth:`Ledger.record` returns; the process holds an
  ``flock`` on its lock file for its whole life. Taking a batch to flush
  closes the current spool file (it *is* the batch) and starts the next one.
  A file is deleted once its batch is committed in every tenant. Any flusher
  that can lock a dead process's lock file adopts its files and writes them.
- each batch has an id (its file name) inserted in the tenant's
  ``logistics_workflow_ledger_batch`` table by the same statement as the
  upsert; a batch already recorded there is skipped, so a retry after a lost
  acknowledgement, or an adopter replaying a batch that was written just
  before its process died, never counts twice.

Table layout (see docs/DESIGN.md "Workflow ledger"): ``minute`` (UTC,
truncated), ``workflow``, ``outcome``, ``count``, ``duration_sum``,
``sql_queries_sum``, ``duration_buckets`` (non-cumulative, one per
``buckets.WORKFLOW_DURATION`` bound + Inf) and ``start_delay_buckets`` (per
``buckets.START_DELAY`` bound + Inf), unique on (minute, workflow, outcome).
"""

import atexit
import contextlib
import datetime
import errno
import fcntl
import glob
import logging
import os
import threading
import time
import uuid
import weakref

from . import buckets

_logger = logging.getLogger(__name__)

TABLE = "logistics_workflow_ledger"
BATCH_TABLE = "logistics_workflow_ledger_batch"
N_DURATION = len(buckets.WORKFLOW_DURATION) + 1
N_START_DELAY = len(buckets.START_DELAY) + 1
#: Batch ids older than this are pruned (a batch is replayed within minutes, not days).
BATCH_RETENTION_DAYS = 7
#: Largest spool file; past it runs are kept in memory only (and the loss of durability logged).
MAX_SPOOL_BYTES = 64 * 1024 * 1024

BATCH_DDL = f"""
CREATE TABLE IF NOT EXISTS {BATCH_TABLE} (
    id varchar PRIMARY KEY,
    applied_at timestamp without time zone NOT NULL DEFAULT (now() at time zone 'UTC')
);
CREATE INDEX IF NOT EXISTS {BATCH_TABLE}_applied_at_idx ON {BATCH_TABLE} (applied_at);
"""
CREATE_TABLE = (
    f"""
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
    + BATCH_DDL
)

_SUM_ARRAYS = (
    "(SELECT array_agg(COALESCE(a, 0) + COALESCE(b, 0) ORDER BY i) "
    "FROM unnest(l.{c}, EXCLUDED.{c}) WITH ORDINALITY AS s(a, b, i))"
)
# One statement: the batch id and the rows land together or not at all; a known id writes nothing.
UPSERT_HEAD = (
    "WITH batch AS (INSERT INTO %s (id) VALUES (%%s) ON CONFLICT (id) DO NOTHING RETURNING id) "
    "INSERT INTO %s AS l (minute, workflow, outcome, count, duration_sum, sql_queries_sum, "
    "duration_buckets, start_delay_buckets) SELECT v.* FROM (VALUES " % (BATCH_TABLE, TABLE)
)
UPSERT_TAIL = (
    ") AS v WHERE EXISTS (SELECT 1 FROM batch)"
    " ON CONFLICT (minute, workflow, outcome) DO UPDATE SET "
    "count = l.count + EXCLUDED.count, "
    "duration_sum = l.duration_sum + EXCLUDED.duration_sum, "
    "sql_queries_sum = l.sql_queries_sum + EXCLUDED.sql_queries_sum, "
    "duration_buckets = " + _SUM_ARRAYS.format(c="duration_buckets") + ", "
    "start_delay_buckets = " + _SUM_ARRAYS.format(c="start_delay_buckets")
)
_ROW_SQL = (
    "(%s::timestamp, %s::varchar, %s::varchar, %s::bigint, %s::double precision, %s::bigint, "
    "%s::bigint[], %s::bigint[])"
)
PRUNE_SQL = (
    f"DELETE FROM {BATCH_TABLE} WHERE applied_at < (now() at time zone 'UTC') - "
    f"interval '{BATCH_RETENTION_DAYS} days'"
)


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


def build_upsert(rows, batch_id):
    """(sql, params) of the single statement writing ``rows`` {(minute, wf, outcome): _Row}
    as batch ``batch_id``."""
    keys = sorted(rows)  # same lock order in every process: no deadlocks between flushers
    values, params = [], [batch_id]
    for key in keys:
        row = rows[key]
        minute, workflow, outcome = key
        values.append(_ROW_SQL)
        params.extend(
            (
                minute_of(minute * 60),
                workflow,
                outcome,
                row.count,
                row.duration_sum,
                row.sql_sum,
                list(row.duration_buckets),
                list(row.delay_buckets),
            )
        )
    return UPSERT_HEAD + ", ".join(values) + UPSERT_TAIL, params


def _add_run(rows, key, duration, sql_queries, start_delay):
    row = rows.get(key)
    if row is None:
        row = rows[key] = _Row()
    row.count += 1
    row.duration_sum += duration
    row.sql_sum += int(sql_queries or 0)
    row.duration_buckets[buckets.bucket_index(buckets.WORKFLOW_DURATION, duration)] += 1
    if start_delay is not None:
        row.delay_buckets[buckets.bucket_index(buckets.START_DELAY, start_delay)] += 1


def _spool_line(tenant, key, duration, sql_queries, start_delay):
    fields = (
        tenant,
        str(key[0]),
        key[1],
        key[2],
        repr(float(duration)),
        str(int(sql_queries or 0)),
        "" if start_delay is None else repr(float(start_delay)),
    )
    line = "\t".join(fields)
    if line.count("\t") != 6 or "\n" in line:
        raise ValueError("tab or newline in a ledger key")
    return (line + "\n").encode("utf-8")


def read_spool(path):
    """{tenant: rows} of a spool file; a torn or unreadable line is skipped (and logged)."""
    buffer = {}
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:  # adopted meanwhile by another process
        return buffer
    bad = 0
    for raw in data.split(b"\n"):
        if not raw:
            continue
        try:
            tenant, minute, workflow, outcome, duration, sql, delay = raw.decode("utf-8").split("\t")
            _add_run(
                buffer.setdefault(tenant, {}),
                (int(minute), workflow, outcome),
                float(duration),
                int(sql),
                float(delay) if delay else None,
            )
        except (ValueError, UnicodeDecodeError):
            bad += 1
    if bad:
        _logger.warning("workflow ledger: %d unreadable line(s) in %s skipped", bad, path)
    return buffer


class _Batch:
    """Runs taken for one flush: ``rows`` {tenant: {key: _Row}}, written under ``id``; ``path`` is
    its spool file (deleted once every tenant has it)."""

    __slots__ = ("id", "path", "rows")

    def __init__(self, batch_id, rows, path=None):
        self.id, self.rows, self.path = batch_id, rows, path

    def count(self):
        return sum(r.count for rows in self.rows.values() for r in rows.values())


def _try_lock(path):
    """An fd holding an exclusive flock on ``path``, or None when another process holds it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _unlink(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class Ledger:
    """In-memory buffer of workflow runs, flushed per tenant by batched upserts.

    ``connect(tenant)`` must return a context manager yielding a DB-API cursor
    on the tenant database that commits when the block exits without error.
    ``spool_dir`` (see :meth:`configure`) makes the buffer survive SIGKILL.
    """

    def __init__(self, connect=None, interval=5.0, max_rows=20000, statement_timeout_ms=5000, spool_dir=None):
        self.connect = connect
        self.interval = interval
        self.max_rows = max_rows
        self.statement_timeout_ms = statement_timeout_ms
        self.spool_dir = spool_dir
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._buffer = {}  # tenant -> {(minute_index, workflow, outcome): _Row}
        self._nrows = 0
        self._pending = None  # a _Batch whose write failed somewhere: retried first, as is
        self.dropped = 0
        self.writes = 0
        self.failed_writes = 0
        self.adopted = 0
        self._missing = set()
        self._thread = None
        self._stop = threading.Event()
        self._reset_spool()
        _LEDGERS.add(self)

    def configure(self, connect=None, interval=None, spool_dir=None):
        """Wire the database access, flush interval and spool directory (the Odoo layer does)."""
        if connect is not None:
            self.connect = connect
        if interval is not None:
            self.interval = interval
        if spool_dir is not None and spool_dir != self.spool_dir:
            with self._lock:
                self._close_spool()
                self.spool_dir = spool_dir

    # -- spool ----------------------------------------------------------
    def _reset_spool(self):
        self._tag = None  # "<pid>-<random>": names this process's lock and spool files
        self._lock_fd = None
        self._spool_fd = None
        self._spool_seq = 0
        self._spool_size = 0
        self._spool_broken = False

    def _close_spool(self):
        for fd in (self._spool_fd, self._lock_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._reset_spool()

    def _spool_path(self, tag, seq):
        return os.path.join(self.spool_dir, "ledger-%s.%06d.spool" % (tag, seq))

    def _open_spool(self):
        """Open this process's next spool file (caller holds ``_lock``); False without one."""
        if not self.spool_dir or self._spool_broken:
            return False
        try:
            if self._lock_fd is None:
                os.makedirs(self.spool_dir, mode=0o700, exist_ok=True)
                tag = "%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
                lock_path = os.path.join(self.spool_dir, "ledger-%s.lock" % tag)
                # locked under a temporary name, then renamed: a lock file is never seen unlocked
                fd = _try_lock(lock_path + ".tmp")
                if fd is None:
                    raise OSError(errno.EAGAIN, "cannot lock the ledger spool")
                os.rename(lock_path + ".tmp", lock_path)
                self._tag, self._lock_fd = tag, fd
            self._spool_seq += 1
            self._spool_fd = os.open(
                self._spool_path(self._tag, self._spool_seq),
                os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                0o600,
            )
            self._spool_size = 0
            return True
        except OSError as exc:
            self._spool_broken = True
            _logger.error(
                "workflow ledger: cannot spool runs in %s (%s); a killed process may lose " "its last runs",
                self.spool_dir,
                exc,
            )
            return False

    def _spool(self, line):
        """Append one run to the spool (caller holds ``_lock``); never raises."""
        if self._spool_fd is None and not self._open_spool():
            return
        if self._spool_size + len(line) > MAX_SPOOL_BYTES:
            return  # bounded: the rest of this interval is kept in memory only
        try:
            os.write(self._spool_fd, line)
            self._spool_size += len(line)
        except OSError as exc:
            if not self._spool_broken:
                _logger.error("workflow ledger: spool write failed (%s); runs kept in memory only", exc)
            self._spool_broken = True

    # -- recording ----------------------------------------------------
    def record(self, tenant, workflow, outcome, duration, sql_queries=0, start_delay=None, when=None):
        """Add one run; never raises."""
        try:
            if not tenant or tenant in self._missing:
                return
            when = time.time() if when is None else when
            key = (int(when // 60), workflow, outcome)
            line = None
            if self.spool_dir:
                try:
                    line = _spool_line(tenant, key, duration, sql_queries, start_delay)
                except ValueError:
                    _logger.debug("ledger run not spooled", exc_info=True)
            with self._lock:
                rows = self._buffer.setdefault(tenant, {})
                if key not in rows:
                    if self._nrows >= self.max_rows:
                        self.dropped += 1
                        return
                    self._nrows += 1
                if line is not None:
                    self._spool(line)  # on disk before the run counts anywhere else
                _add_run(rows, key, duration, sql_queries, start_delay)
            self._ensure_thread()
        except Exception:
            _logger.debug("ledger record failed", exc_info=True)

    def pending(self):
        """Total runs not yet written, per tenant."""
        with self._lock:
            totals = {t: sum(r.count for r in rows.values()) for t, rows in self._buffer.items() if rows}
            if self._pending is not None:
                for tenant, rows in self._pending.rows.items():
                    totals[tenant] = totals.get(tenant, 0) + sum(r.count for r in rows.values())
            return totals

    # -- flushing -----------------------------------------------------
    def _take(self):
        """The buffer as a new batch; its spool file is closed and the next one started."""
        with self._lock:
            buffer, self._buffer, self._nrows = self._buffer, {}, 0
            path = None
            if self._spool_fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._spool_fd)
                path = self._spool_path(self._tag, self._spool_seq)
                self._spool_fd = None
                batch_id = "%s.%06d" % (self._tag, self._spool_seq)
            else:
                batch_id = uuid.uuid4().hex
        return _Batch(batch_id, {t: rows for t, rows in buffer.items() if rows}, path)

    def write_tenant(self, tenant, rows, batch_id=None):
        """Write one tenant's rows with one statement; raises on failure. Returns False when the
        batch was already written there (nothing changed)."""
        sql, params = build_upsert(rows, batch_id or uuid.uuid4().hex)
        with self.connect(tenant) as cr:
            cr.execute("SET LOCAL statement_timeout = %s", (int(self.statement_timeout_ms),))
            cr.execute("SELECT to_regclass(%s), to_regclass(%s)", (TABLE, BATCH_TABLE))
            ledger_table, batch_table = cr.fetchone()
            if ledger_table is None:
                raise MissingTable(tenant)
            if batch_table is None:  # ledger created by an older version of the addon
                cr.execute(BATCH_DDL)
            elif self.writes % 500 == 0:
                cr.execute(PRUNE_SQL)
            cr.execute(sql, params)
            written = getattr(cr, "rowcount", 1) != 0
        self.writes += 1
        return written

    def _write_batch(self, batch):
        """Write every tenant of ``batch``; tenants written are removed from it. Returns the runs
        newly written."""
        written = 0
        for tenant in sorted(batch.rows):
            rows = batch.rows[tenant]
            try:
                if self.write_tenant(tenant, rows, batch.id):
                    written += sum(r.count for r in rows.values())
                del batch.rows[tenant]
            except MissingTable:
                self._missing.add(tenant)
                del batch.rows[tenant]
                _logger.info("workflow ledger: database %s has no %s table; not recording it", tenant, TABLE)
            except Exception as exc:
                # one line (the rows stay buffered and are retried): a database that goes away,
                # or Odoo closing every connection at exit, is not an error of the observed
                self.failed_writes += 1
                _logger.warning(
                    "workflow ledger: flush to %s failed (%s: %s); will retry",
                    tenant,
                    type(exc).__name__,
                    str(exc).strip()[:200],
                )
                _logger.debug("workflow ledger: flush to %s failed", tenant, exc_info=True)
        if not batch.rows and batch.path:
            _unlink(batch.path)
        return written

    def flush(self):
        """Write everything buffered, and what dead processes left in the spool directory; a batch
        whose write failed in some tenant is retried, as is, before anything new is taken."""
        if self.connect is None:
            return 0
        with self._flush_lock:
            written = 0
            if self._pending is not None:
                written += self._write_batch(self._pending)
                if self._pending.rows:
                    return written
                self._pending = None
            batch = self._take()
            if batch.rows or batch.path:
                written += self._write_batch(batch)
                if batch.rows:
                    self._pending = batch
            written += self.adopt()
            return written

    def adopt(self):
        """Write the spool files of dead processes (their lock is free), then delete them."""
        if not self.spool_dir or self.connect is None:
            return 0
        written = 0
        base = glob.escape(self.spool_dir)
        tags = {
            os.path.basename(p)[len("ledger-") : -len(".lock")]
            for p in glob.glob(os.path.join(base, "ledger-*.lock"))
        }
        # spool files whose lock file is gone: an adopter died half-way
        tags.update(
            os.path.basename(p)[len("ledger-") :].rsplit(".", 2)[0]
            for p in glob.glob(os.path.join(base, "ledger-*.spool"))
        )
        tags.discard(self._tag)
        for tag in sorted(tags):
            lock_path = os.path.join(self.spool_dir, "ledger-%s.lock" % tag)
            fd = _try_lock(lock_path)
            if fd is None:
                continue  # its process is alive
            try:
                complete = True
                for path in sorted(glob.glob(os.path.join(base, "ledger-%s.*.spool" % glob.escape(tag)))):
                    batch = _Batch(
                        os.path.basename(path)[len("ledger-") : -len(".spool")], read_spool(path), path
                    )
                    written += self._write_batch(batch)
                    if batch.rows:
                        complete = False  # a tenant is unreachable: try again next flush
                    else:
                        self.adopted += 1
                if complete:
                    _unlink(lock_path)
            except Exception:
                _logger.warning("workflow ledger: cannot adopt the spool of %s", tag, exc_info=True)
            finally:
                os.close(fd)
        return written

    def forget_missing(self, tenant=None):
        """Let a tenant be recorded again (its ledger table was just created)."""
        if tenant is None:
            self._missing.clear()
        else:
            self._missing.discard(tenant)

    # -- background thread ----------------------------------------------
    def start(self):
        """Start the flusher thread now (it also adopts dead processes' spools); idempotent."""
        if self.connect is not None:
            self._ensure_thread()

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
            if self._pending is None and not self._buffer:
                with self._lock:  # everything is written: leave no files behind
                    tag, seq = self._tag, self._spool_seq
                    lock_fd = self._lock_fd
                    self._lock_fd = None
                    self._close_spool()
                    if tag:
                        _unlink(self._spool_path(tag, seq))
                        _unlink(os.path.join(self.spool_dir, "ledger-%s.lock" % tag))
                    if lock_fd is not None:
                        with contextlib.suppress(OSError):
                            os.close(lock_fd)

    def _after_fork_in_child(self):
        # The child must not write the parent's rows a second time, nor hold its spool lock:
        # closing our copy of the fd leaves the parent's flock in place.
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._buffer, self._nrows = {}, 0
        self._pending = None
        for fd in (self._spool_fd, self._lock_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._reset_spool()
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
