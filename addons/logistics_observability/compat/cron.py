"""Scheduled actions: observe ``ir.cron._callback`` (one call per run/batch; 18.0 and 19.0).

``_callback(cron_name, server_action_id)`` runs the server action on the job's
own cursor and re-raises after rolling back, so an exception is a failed run.
The override is an ``ir.cron`` model extension (active only in databases where
the addon is installed); it is defined here, with everything that depends on
the signature and fields (the same in 18.0 and 19.0), when :mod:`..` imports this package.
"""

import logging
import time

from odoo import models

from ..core import crons as core_crons
from ..core import tracing
from ..core import workflow as core_workflow

_logger = logging.getLogger(__name__)

_labels = {}  # (dbname, cron id) -> XML id or ir_cron_<id>
MAX_LABELS = 10000


def cron_label(cron):
    key = (cron.env.cr.dbname, cron.id)
    label = _labels.get(key)
    if label is None:
        try:
            label = cron.sudo().get_external_id().get(cron.id) or "ir_cron_%s" % cron.id
        except Exception:
            label = "ir_cron_%s" % cron.id
        if len(_labels) < MAX_LABELS:
            _labels[key] = label
    return label


def _start_delay(cron):
    try:
        nextcall = cron.nextcall
        if not nextcall:
            return None
        due = (
            nextcall.timestamp()
            if nextcall.tzinfo
            else (nextcall - nextcall.__class__(1970, 1, 1)).total_seconds()
        )
        return max(0.0, time.time() - due)
    except Exception:
        return None


def observed_callback(cron, callback, cron_name, server_action_id):
    try:
        tenant = cron.env.cr.dbname
        label = cron_label(cron)
        delay = _start_delay(cron)
        cr = cron.env.cr
        sql0 = core_workflow.cursor_sql_count(cr)
    except Exception:
        _logger.debug("cannot observe cron %s", cron_name, exc_info=True)
        return callback(cron_name, server_action_id)
    span = tracing.begin("cron %s" % label) if tracing.ENABLED else None
    t0 = time.perf_counter()
    outcome = core_workflow.FAILURE
    try:
        result = callback(cron_name, server_action_id)
        outcome = core_workflow.SUCCESS
        return result
    finally:
        if span is not None:
            tracing.end(
                span,
                outcome == core_workflow.FAILURE,
                {"odoo.cron": label, "odoo.outcome": outcome, "odoo.tenant": tenant},
            )
        sql1 = core_workflow.cursor_sql_count(cr) if sql0 is not None else None
        sql = max(0, sql1 - sql0) if sql1 is not None else None
        core_crons.record_cron(
            tenant,
            label,
            outcome,
            time.perf_counter() - t0,
            start_delay=delay,
            sql_queries=sql,
            reference=cron_name,
        )


def install():
    """Nothing to patch process-wide: :class:`IrCron` is registered with the addon's models."""


class IrCron(models.Model):
    _inherit = "ir.cron"

    def _callback(self, cron_name, server_action_id):
        return observed_callback(self, super()._callback, cron_name, server_action_id)
