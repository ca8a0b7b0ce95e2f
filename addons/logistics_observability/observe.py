"""Instrument a business workflow of your own addon in one line.

Decorator on a model method (tenant = the record's database, reference = the
records' names, SQL queries counted on the record's cursor)::

    from odoo.addons.logistics_observability import observe

    class StockPicking(models.Model):
        _inherit = "stock.picking"

        @observe.workflow("label_print")
        def action_print_labels(self):
            ...

Context manager anywhere you have an environment or a recordset::

    with observe.run(self.env, "customs_clearance", reference=picking.name) as run:
        answer = broker.submit(picking)
        if not answer.ok:
            run.fail(answer.reason)      # counted as a failure without raising

An exception inside marks the run failed and propagates unchanged; the run is
still counted (metrics, ledger, one log event) when the transaction rolls back.
"""

import functools
import logging

from .core import carrier as _carrier
from .core import workflow as _core

_logger = logging.getLogger(__name__)

SUCCESS = _core.SUCCESS
FAILURE = _core.FAILURE
register = _core.register
record_run = _core.record_run
carrier_call = _carrier.carrier_call
MAX_REFERENCES = 3


def sql_counter(cr):
    """A running count of the SQL queries executed on ``cr`` (``None`` if Odoo's cursor lost its
    counter: logged once, and the run records no SQL count)."""
    return _core.cursor_sql_counter(cr)


def references(records):
    """A short reference for a recordset: up to three names, then ``+N``."""
    try:
        names = []
        for rec in records[:MAX_REFERENCES]:
            name = rec["name"] if "name" in rec._fields else None
            names.append(str(name) if name and name != "/" else "%s,%s" % (rec._name, rec.id))
        ref = ",".join(names)
        if len(records) > MAX_REFERENCES:
            ref += ",+%d" % (len(records) - MAX_REFERENCES)
        return ref
    except Exception:
        return ",".join("%s,%s" % (records._name, i) for i in records.ids[:MAX_REFERENCES])


def run(env_or_records, name, reference=None, start_delay=None):
    """Context manager observing one run of workflow ``name`` in the environment's database.

    ``reference`` may be a string or a recordset (its names are read when the run ends).
    """
    env = getattr(env_or_records, "env", env_or_records)
    ref = reference
    if reference is not None and hasattr(reference, "_name") and hasattr(reference, "ids"):
        records = reference
        fallback = ",".join("%s,%s" % (records._name, i) for i in records.ids[:MAX_REFERENCES])

        def ref(r, records=records, fallback=fallback):
            # names may change on success (invoice numbers); avoid SQL on a failed transaction
            return references(records) if r.outcome == SUCCESS else fallback

    run = _core.start(
        name, tenant=env.cr.dbname, reference=ref, sql_counter=sql_counter(env.cr), start_delay=start_delay
    )
    if ref is not reference:
        run.reference_kind = records._name  # the span's attribute: the model, never the names
    return run


def workflow(name, reference=True):
    """Decorator for model methods: one run of ``name`` per call.

    ``reference=True`` uses the records' names; ``False`` omits it; a callable
    receives the recordset.
    """
    register(name)

    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                if reference is True:
                    ref = self
                elif callable(reference):
                    ref = reference(self)
                else:
                    ref = None
                observed = run(self, name, reference=ref)
            except Exception:
                _logger.debug("cannot observe %s", name, exc_info=True)
                return method(self, *args, **kwargs)
            with observed:
                return method(self, *args, **kwargs)

        return wrapper

    return decorator
