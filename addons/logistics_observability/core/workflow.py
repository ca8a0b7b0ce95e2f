"""Business workflow runs: metrics, the per-tenant ledger and one log event per run.

Public API (Odoo-free; the Odoo-facing wrapper is ``logistics_observability.observe``)::

    from logistics_observability.core import workflow

    with workflow.start("label_print", tenant="db1", reference="WH/OUT/00012") as run:
        ...                      # an exception marks the run failed, then propagates
        if not ok:
            run.fail("printer offline")

Carrier operations (a ``carrier_call`` run plus per-carrier metrics) are in
:mod:`.carrier`.

A run is recorded in process memory (metrics store + ledger buffer) in the
``finally`` of the observed block, never in the observed transaction, so a
failure is counted even when its transaction rolls back. A run nested in a run
of the same workflow (e.g. ``button_validate`` calling itself through a wizard)
counts once, for the outermost run. Recording never raises.
"""

import logging
import re
import threading
import time

from . import buckets, context, detail, exemplars, metrics, odoo_facts, tracing
from .ledger_writer import Ledger

_logger = logging.getLogger("odoo.addons.logistics_observability.workflow")

#: Workflows of the product contract.
BUILTIN = ("order_release", "dispatch", "pod_sync", "invoicing", "carrier_call", "cron")
SUCCESS, FAILURE = "success", "failure"
OUTCOMES = (SUCCESS, FAILURE)
MAX_CUSTOM = 50
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_custom = set()
_custom_lock = threading.Lock()

#: The process-wide ledger buffer; the Odoo layer sets ``LEDGER.connect``.
LEDGER = Ledger()

# the outcomes of one tenant x workflow are born together: the first failure is an increase
RUNS = metrics.counter(
    "odoo_workflow_runs_total",
    "Business workflow runs by outcome.",
    ("tenant", "workflow", "outcome"),
    born_together={"outcome": OUTCOMES},
)
DURATION = metrics.histogram(
    "odoo_workflow_duration_seconds",
    "Business workflow run duration (pod_sync: dispatch-to-proof lag).",
    ("tenant", "workflow"),
    buckets=buckets.WORKFLOW_SLO,
    full_buckets=buckets.WORKFLOW_DURATION,
)
SQL_QUERIES = metrics.histogram(
    "odoo_workflow_sql_queries",
    "SQL queries per business workflow run.",
    ("tenant", "workflow"),
    buckets=buckets.SQL_QUERIES,
    detail_labels=("tenant",),
)
START_DELAY = metrics.histogram(
    "odoo_workflow_start_delay_seconds",
    "Delay between when a scheduled run was due and when it started.",
    ("tenant", "workflow"),
    buckets=buckets.START_DELAY_SLO,
    full_buckets=buckets.START_DELAY,
)
NO_TENANT_DURATION = buckets.NO_TENANT_DURATION  # (core/crons.py: the per-cron metrics)

_local = threading.local()
_enabled = True


def set_enabled(enabled):
    """Process-wide switch (benchmarks, emergencies): disabled runs record nothing."""
    global _enabled
    _enabled = bool(enabled)


def register(name):
    """Declare a custom workflow name (lowercase, digits, underscores); returns it."""
    if name in BUILTIN or name in _custom:
        return name
    if not _NAME_RE.match(name or ""):
        raise ValueError("invalid workflow name %r (use [a-z][a-z0-9_]*)" % (name,))
    with _custom_lock:
        if len(_custom) >= MAX_CUSTOM:
            raise ValueError("too many custom workflows (max %d)" % MAX_CUSTOM)
        _custom.add(name)
    return name


def known(name):
    return name in BUILTIN or name in _custom


def _active():
    names = getattr(_local, "active", None)
    if names is None:
        names = _local.active = []
    return names


def default_tenant():
    tenant = context.current().get("tenant")
    if tenant:
        return tenant
    return getattr(threading.current_thread(), odoo_facts.THREAD_DBNAME, None) or ""


def record_run(
    workflow,
    outcome,
    duration,
    tenant=None,
    sql_queries=None,
    reference=None,
    start_delay=None,
    when=None,
    log=True,
    reason=None,
    extra=None,
    label=None,
):
    """Record one finished run (metrics, ledger, log event). Never raises.

    ``label``: the tenant's label when the caller already computed it (one cap check per run).
    """
    if not _enabled:
        return
    try:
        tenant = tenant or default_tenant()
        if label is None:
            label = metrics.tenant_label(tenant)
        duration = max(0.0, float(duration))
        runs = RUNS.labels(tenant=label, workflow=workflow, outcome=outcome)
        # back to back, ledger (spooled to disk) first: a SIGKILL between two recordings of the
        # same run is as unlikely as can be
        LEDGER.record(
            tenant, workflow, outcome, duration, sql_queries or 0, start_delay=start_delay, when=when
        )
        runs.inc()
        if workflow not in NO_TENANT_DURATION or detail.full():
            DURATION.labels(tenant=label, workflow=workflow).observe(duration)
            exemplars.observe(DURATION, (label, workflow), duration)
        if sql_queries is not None:
            SQL_QUERIES.labels(tenant=label, workflow=workflow).observe(sql_queries)
        if start_delay is not None:
            START_DELAY.labels(tenant=label, workflow=workflow).observe(max(0.0, start_delay))
        if log:
            fields = {
                "workflow": workflow,
                "outcome": outcome,
                "duration_ms": round(duration * 1000.0, 3),
                "reference": reference,
                "tenant": tenant,
            }
            if sql_queries is not None:
                fields["sql.count"] = int(sql_queries)
            if start_delay is not None:
                fields["start_delay_ms"] = round(start_delay * 1000.0, 3)
            fields.update(extra or {})
            level = logging.WARNING if outcome == FAILURE else logging.INFO
            _logger.log(
                level,
                "workflow %s %s ref=%s duration=%.3fs sql=%s%s",
                workflow,
                outcome,
                reference or "-",
                duration,
                "-" if sql_queries is None else int(sql_queries),
                " reason=%s" % reason if reason else "",
                extra=_safe_extra(fields),
            )
    except Exception:
        _logger.debug("recording workflow run failed", exc_info=True)


def _safe_extra(fields):
    # LogRecord refuses to overwrite its own attributes
    return {k: v for k, v in fields.items() if k not in ("msg", "args", "name", "message")}


class Run:
    """One observed run; use :func:`start` to create it."""

    def __init__(self, name, tenant=None, reference=None, sql_counter=None, start_delay=None, on_finish=None):
        self.name = name
        self.tenant = tenant
        self.reference = reference
        self.sql_counter = sql_counter
        self.start_delay = start_delay
        self.on_finish = on_finish
        self.label = None  # the tenant's label, computed once when the run ends
        self.outcome = None
        self.reason = None
        self.extra = {}
        self.duration = None
        self._discard = False
        self._nested = False
        self._t0 = None
        self._sql0 = None
        self._span = None
        self.reference_kind = None  # e.g. the model of the referenced records (a span attribute)

    # -- control from inside the block -----------------------------------
    def fail(self, reason=None):
        """Mark the run failed without raising (e.g. a carrier answered an error)."""
        self.outcome = FAILURE
        self.reason = reason

    def succeed(self):
        self.outcome = SUCCESS

    def discard(self):
        """Do not record this run (nothing happened, e.g. a wizard was opened instead)."""
        self._discard = True

    def _sql_now(self):
        if self.sql_counter is None:
            return None
        try:
            count = self.sql_counter()
            return None if count is None else int(count)
        except Exception:
            return None

    def __enter__(self):
        if not _enabled:
            self._discard = self._nested = True
            return self
        active = _active()
        self._nested = self.name in active
        active.append(self.name)
        if tracing.ENABLED and not self._nested:
            self._span = tracing.begin("workflow %s" % self.name)
        self._t0 = time.perf_counter()
        self._sql0 = self._sql_now()
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if self._t0 is None:  # entered while disabled
                return False
            active = _active()
            if active:
                active.pop()
            if self._nested or self._discard:
                if self._span is not None:
                    tracing.end(self._span, keep=False)
                return False
            self.duration = time.perf_counter() - self._t0
            if exc_type is not None:
                self.outcome = FAILURE
                if self.reason is None:
                    self.reason = "%s: %s" % (exc_type.__name__, str(exc)[:200])
            elif self.outcome is None:
                self.outcome = SUCCESS
            sql = None
            if self._sql0 is not None:
                now = self._sql_now()
                sql = max(0, now - self._sql0) if now is not None else None
            tenant = self.tenant or default_tenant()
            self.tenant = tenant
            if self.label is None:
                self.label = metrics.tenant_label(tenant)  # once per run, for every series it records
            if self.on_finish is not None:
                try:
                    self.on_finish(self)
                except Exception:
                    _logger.debug("workflow on_finish hook failed", exc_info=True)
            if self._span is not None:
                tracing.end(self._span, self.outcome == FAILURE, _span_attributes(self))
            reference = self.reference
            if callable(reference):
                try:
                    reference = reference(self)
                except Exception:
                    reference = None
            record_run(
                self.name,
                self.outcome,
                self.duration,
                tenant=tenant,
                sql_queries=sql,
                reference=reference,
                start_delay=self.start_delay,
                reason=self.reason,
                extra=self.extra,
                label=self.label,
            )
        except Exception:
            _logger.debug("workflow run exit failed", exc_info=True)
        return False


_SPAN_EXTRA = ("carrier", "operation", "cron")


def _span_attributes(run):
    """A run's span attributes: names and outcome, never a record's values (nor its reference)."""
    attributes = {"odoo.workflow": run.name, "odoo.outcome": run.outcome, "odoo.tenant": run.tenant or ""}
    if run.reference_kind:
        attributes["odoo.reference.kind"] = run.reference_kind
    for key in _SPAN_EXTRA:
        value = run.extra.get(key)
        if isinstance(value, str):
            attributes["odoo.%s" % key] = value
    return attributes


_sql_count_missing = []


def cursor_sql_count(cr):
    """SQL statements executed so far on Odoo's cursor ``cr`` (its ``sql_log_count``, an
    :mod:`odoo_facts` name), or ``None`` when the cursor has no such counter: the run then records
    no SQL count (never a 0 that would hide a rename), and the first miss is logged once per process.
    """
    try:
        return int(getattr(cr, odoo_facts.CURSOR_SQL_LOG_COUNT))
    except AttributeError:
        if not _sql_count_missing:
            _sql_count_missing.append(True)
            _logger.warning(
                "Odoo's cursor has no %r counter: SQL counts of workflow and cron runs are not recorded",
                odoo_facts.CURSOR_SQL_LOG_COUNT,
            )
        return None
    except Exception:
        _logger.debug("cannot read the cursor's SQL count", exc_info=True)
        return None


def cursor_sql_counter(cr):
    """A running count of the SQL statements executed on Odoo's cursor ``cr`` (``sql_counter``)."""
    return lambda: cursor_sql_count(cr)


def start(name, tenant=None, reference=None, sql_counter=None, start_delay=None, on_finish=None):
    """A :class:`Run` of workflow ``name`` (registered on first use), to use as a context manager.

    The decorator for model methods is ``observe.workflow`` (the one public decorator).
    """
    return Run(
        register(name),
        tenant=tenant,
        reference=reference,
        sql_counter=sql_counter,
        start_delay=start_delay,
        on_finish=on_finish,
    )


# ---------------------------------------------------------------------------
# cron
