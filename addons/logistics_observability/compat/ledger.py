"""Workflow ledger wiring: database access, flush interval, spool, flusher start.

The ledger (``core/ledger_writer.py``) writes each tenant's rows on a connection of its own
(``odoo.sql_db``, never the observed request's cursor). Its spool lives in the
metrics directory (``<metrics_dir>/ledger``), so runs buffered by a SIGKILLed
worker are written by whichever process flushes next. Each worker starts its
flusher when it starts, so a replacement worker adopts its predecessor's spool
even before it records a run of its own. The master never flushes: it forks
the workers and must not hold database connections.
"""

import contextlib
import functools
import logging
import os

from ..core import config as obs_config
from ..core import workflow as core_workflow

_logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _tenant_cursor(dbname):
    """A cursor of its own on ``dbname`` (never the observed request's); commits on success."""
    from odoo import sql_db

    with sql_db.db_connect(dbname).cursor() as cr:
        # Odoo's cursors are REPEATABLE READ: two instances (replicas, or an old and a new master)
        # upserting the same minute row would fail with a serialization error. Under READ
        # COMMITTED the upsert waits for the other writer and adds to its row; the batch id keeps
        # a retried batch from counting twice.
        cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        yield cr


def spool_dir(cfg):
    return os.path.join(cfg.metrics_dir, "ledger") if cfg.metrics_dir else None


def install():
    from odoo.service import server

    cfg = obs_config.current()
    core_workflow.LEDGER.configure(
        connect=_tenant_cursor, interval=cfg.ledger_flush_interval, spool_dir=spool_dir(cfg)
    )

    worker_start = server.Worker.start

    @functools.wraps(worker_start)
    def worker_start_wrapper(self):
        result = worker_start(self)
        try:
            core_workflow.LEDGER.start()
        except Exception:
            _logger.warning("logistics_observability: workflow ledger flusher did not start", exc_info=True)
        return result

    server.Worker.start = worker_start_wrapper
