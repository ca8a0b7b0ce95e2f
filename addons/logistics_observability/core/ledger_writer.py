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
the spool directory. The writes themselves (per tenant, per batch, adoption) are
:class:`.ledger_flush.LedgerWrites`.
"""

import atexit
import logging
import threading
import time
import uuid
import weakref

from .atfork import at_fork_in_child
from .ledger import add_run
from .ledger_flush import LedgerWrites
from .ledger_spool import Batch, Spool, spool_line

# the ledger's log lines keep one logger name, whichever room they come from
_logger = logging.getLogger(__name__.rpartition(".")[0] + ".ledger")


class Ledger(LedgerWrites):
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
