"""The process's workflow ledger buffer: runs summed in memory, flushed per tenant.

Runs are summed in memory per (tenant, minute, workflow, outcome) and written
by one statement per tenant per flush (:func:`.ledger.build_upsert`), on a
connection of its own (never the observed transaction, so a rolled-back failure
still lands). A daemon thread flushes every ``interval`` seconds; the buffer is
also flushed at interpreter exit and emptied in forked children (the parent
keeps and writes its own rows): importing this module registers those two
hooks. The buffer is bounded: past ``max_rows`` distinct rows new keys are
dropped and counted.

Exactly once, even when a process is SIGKILLed or a commit's acknowledgement
is lost: every run is in the process's spool file before it counts
(:mod:`.ledger_spool`), and each batch is written under its id, once
(:mod:`.ledger`'s batch table). A flusher writes what dead processes left in
the spool directory.
"""

import atexit
import glob
import logging
import os
import threading
import time
import uuid
import weakref

from . import tables
from .atfork import at_fork_in_child
from .ledger import BATCH_DDL, BATCH_TABLE, PRUNE_SQL, TABLE, MissingTable, add_run, build_upsert
from .ledger_spool import Batch, Spool, read_spool, spool_line, try_lock, unlink

# the ledger's log lines keep one logger name, whichever room they come from
_logger = logging.getLogger(__name__.rpartition(".")[0] + ".ledger")


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
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._buffer = {}  # tenant -> {(minute_index, workflow, outcome): Row}
        self._nrows = 0
        self._pending = None  # a Batch whose write failed somewhere: retried first, as is
        self.dropped = 0
        self.writes = 0
        self.failed_writes = 0
        self.adopted = 0
        self._missing = set()
        self._thread = None
        self._stop = threading.Event()
        self._spool = Spool(spool_dir)
        _LEDGERS.add(self)

    def configure(self, connect=None, interval=None, spool_dir=None):
        """Wire the database access, flush interval and spool directory (the Odoo layer does)."""
        if connect is not None:
            self.connect = connect
        if interval is not None:
            self.interval = interval
        if spool_dir is not None and spool_dir != self.spool_dir:
            with self._lock:
                self._spool.close()
                self._spool.directory = spool_dir

    @property
    def spool_dir(self):
        return self._spool.directory

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
                    line = spool_line(tenant, key, duration, sql_queries, start_delay)
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
                    self._spool.append(line)  # on disk before the run counts anywhere else
                add_run(rows, key, duration, sql_queries, start_delay)
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
            batch_id, path = self._spool.cut()
            if batch_id is None:
                batch_id = uuid.uuid4().hex
        return Batch(batch_id, {t: rows for t, rows in buffer.items() if rows}, path)

    def write_tenant(self, tenant, rows, batch_id=None):
        """Write one tenant's rows with one statement; raises on failure. Returns False when the
        batch was already written there (nothing changed)."""
        sql, params = build_upsert(rows, batch_id or uuid.uuid4().hex)
        with self.connect(tenant) as cr:
            cr.execute("SET LOCAL statement_timeout = %s", (int(self.statement_timeout_ms),))
            ledger_table, batch_table = tables.tables_exist(cr, TABLE, BATCH_TABLE)
            if not ledger_table:
                raise MissingTable(tenant)
            if not batch_table:  # ledger created by an older version of the addon
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
            unlink(batch.path)
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
        tags.discard(self._spool.tag)
        for tag in sorted(tags):
            lock_path = self._spool.lock_path(tag)
            fd = try_lock(lock_path)
            if fd is None:
                continue  # its process is alive
            try:
                complete = True
                for path in sorted(glob.glob(os.path.join(base, "ledger-%s.*.spool" % glob.escape(tag)))):
                    batch = Batch(
                        os.path.basename(path)[len("ledger-") : -len(".spool")], read_spool(path), path
                    )
                    written += self._write_batch(batch)
                    if batch.rows:
                        complete = False  # a tenant is unreachable: try again next flush
                    else:
                        self.adopted += 1
                if complete:
                    unlink(lock_path)
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
                    self._spool.remove()

    def _after_fork_in_child(self):
        # The child must not write the parent's rows a second time, nor hold its spool lock:
        # closing our copy of the fd leaves the parent's flock in place.
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._buffer, self._nrows = {}, 0
        self._pending = None
        self._spool.close()
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


at_fork_in_child(_reset_children)
atexit.register(_flush_all_at_exit)
