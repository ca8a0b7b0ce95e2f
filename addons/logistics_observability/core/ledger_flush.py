"""Writing the workflow ledger's batches to the tenants' databases (a part of :class:`.ledger_writer.Ledger`).

One statement per tenant per batch (:func:`.ledger.build_upsert`), under the batch's id so a retry
never counts twice; a batch that failed in some tenant is retried as is before anything new is
taken; a database without the table is remembered and skipped; spool files that dead processes
left are adopted (:meth:`LedgerWrites.adopt`). The buffer, the flusher thread and the exit/fork
hooks stay in :mod:`.ledger_writer`.
"""

import glob
import logging
import os
import uuid

from . import tables
from .ledger import BATCH_DDL, BATCH_TABLE, PRUNE_SQL, TABLE, MissingTable, build_upsert
from .ledger_spool import Batch, read_spool, try_lock, unlink

_logger = logging.getLogger(__name__.rpartition(".")[0] + ".ledger")


class LedgerWrites:
    """The writes of a :class:`.ledger_writer.Ledger` (which holds the state they use: ``connect``,
    ``statement_timeout_ms``, the spool, the pending batch, the counters)."""

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
