"""OpenTelemetry traces of the request path (Odoo-free): which spans a process keeps.

The hooks check the one boolean :data:`ENABLED` before calling anything here, so with
``observability_tracing`` off a request pays that check and nothing else.

One trace id everywhere: a request's server span has the trace id and span id that
:mod:`.context` generated or continued for it (the ones in its JSON log lines and behind its
exemplars). Every span is handed to the SDK when it *ends*, with the ids it was given when it
began (:mod:`.tracing_sdk` makes the SDK use them) and its real start time, so a span that is not
kept costs no SDK object at all.

Sampling (docs/DESIGN.md "Traces"): the head decision is parent-based (an incoming
``traceparent``'s sampled flag), else the trace id against ``observability_tracing_ratio`` (as
OpenTelemetry's ``TraceIdRatioBased``: the same trace is kept by every process). A span of an
unsampled trace is still kept when it failed or was slow (:data:`SLOW_SECONDS`), and then the
request's server span too, so errors and slow requests are exported at any ratio (their spans
that ended well and fast are not).
"""

import logging
import threading
import time

from . import context

_logger = logging.getLogger(__name__)

#: Is tracing on in this process? The hooks' one check on the request path.
ENABLED = False
#: A span of an unsampled trace is kept when it lasted at least this long (seconds).
SLOW_SECONDS = 1.0

_bound = [int(0.1 * (1 << 64))]  # trace ids whose low 64 bits are below it are sampled
_local = threading.local()


def configure(cfg):
    """Switch tracing on or off for this process from the :class:`config.Config` ``cfg``. Starts
    no thread and no exporter: the SDK is set up in the process that ends its first kept span
    (a worker, after the fork; never the prefork master). Tracing asked for without the
    OpenTelemetry packages logs one error and stays off."""
    global ENABLED
    _bound[0] = int(cfg.tracing_ratio * (1 << 64))
    if not cfg.tracing:
        ENABLED = False
        return False
    from . import tracing_sdk

    ENABLED = tracing_sdk.configure(cfg)
    return ENABLED


def set_enabled(enabled):
    """Tests and benchmarks: tracing on or off without touching the SDK set-up."""
    global ENABLED
    ENABLED = bool(enabled)


def sampled_by_ratio(trace_id):
    return int(trace_id[16:], 16) < _bound[0]


class _Trace:
    """The trace the current thread works in: its id, the head decision, the open spans' ids."""

    __slots__ = ("keep", "root", "sampled", "stack", "trace_id")

    def __init__(self, trace_id, span_id, sampled, root):
        self.trace_id = trace_id
        self.sampled = sampled
        self.keep = False  # an unsampled trace kept a failed or slow span: keep its root span too
        self.stack = [span_id]
        self.root = root


def request_begun(ctx):
    """An HTTP request began with the :mod:`.context` dict ``ctx``: decide and note its trace.
    The echoed ``traceparent`` carries the decision."""
    parent = ctx.get("parent_span_id")
    if parent:
        sampled = bool(int(ctx.get("trace_flags") or "00", 16) & 1)
    else:
        sampled = sampled_by_ratio(ctx["trace_id"])
    ctx["trace_flags"] = "01" if sampled else "00"
    _local.trace = _Trace(ctx["trace_id"], ctx["span_id"], sampled, "request")
    _local.start_ns = time.time_ns()


def request_ended(ctx, method, route, status_code, tenant, sql_count):
    """The request of ``ctx`` was answered: its server span, when kept. Fails open."""
    trace = getattr(_local, "trace", None)
    _local.trace = None
    if trace is None or trace.root != "request":
        return
    try:
        end_ns = time.time_ns()
        start_ns = _local.start_ns
        error = status_code >= 500
        if not (trace.sampled or trace.keep or error or end_ns - start_ns >= SLOW_SECONDS * 1e9):
            return
        from . import tracing_sdk

        attributes = {
            "http.request.method": method,
            "http.route": route,
            "http.response.status_code": status_code,
            "odoo.tenant": tenant or "",
        }
        if sql_count is not None:
            attributes["odoo.sql.count"] = sql_count
        tracing_sdk.emit(
            "%s %s" % (method, route),
            "server",
            trace.trace_id,
            ctx["span_id"],
            ctx.get("parent_span_id"),
            start_ns,
            end_ns,
            attributes,
            error,
        )
    except Exception:
        _logger.debug("server span failed", exc_info=True)


class Span:
    """A span begun by :func:`begin`: its id is the parent of the spans begun inside it."""

    __slots__ = ("attributes", "kind", "name", "parent_id", "span_id", "start_ns", "trace")

    def __init__(self, trace, name, kind, span_id, parent_id):
        self.trace = trace
        self.name = name
        self.kind = kind
        self.span_id = span_id
        self.parent_id = parent_id
        self.attributes = {}
        self.start_ns = time.time_ns()

    def traceparent(self):
        return "00-%s-%s-%s" % (self.trace.trace_id, self.span_id, "01" if self.trace.sampled else "00")


def begin(name, kind="internal"):
    """Begin a span in the current trace (a new trace, by the ratio, outside any). Never raises;
    returns ``None`` on error. End it with :func:`end`, in the same thread."""
    try:
        trace_id, span_id, _ = context.new_ids()
        trace = getattr(_local, "trace", None)
        if trace is None:
            trace = _local.trace = _Trace(trace_id, None, sampled_by_ratio(trace_id), name)
            trace.stack = []
        span = Span(trace, name, kind, span_id, trace.stack[-1] if trace.stack else None)
        trace.stack.append(span_id)
        return span
    except Exception:
        _logger.debug("span begin failed", exc_info=True)
        return None


def end(span, error=False, attributes=None, keep=True):
    """End ``span`` (from :func:`begin`; ``None`` is ignored): handed to the SDK when its trace is
    sampled, or when it failed or was slow (never with ``keep=False``: a discarded run). Never
    raises."""
    if span is None:
        return
    try:
        trace = span.trace
        if trace.stack and trace.stack[-1] == span.span_id:
            trace.stack.pop()
        if span.parent_id is None and getattr(_local, "trace", None) is trace:
            _local.trace = None  # the root of a trace begun outside a request
        if not keep:
            return
        end_ns = time.time_ns()
        slow = end_ns - span.start_ns >= SLOW_SECONDS * 1e9
        if not (trace.sampled or error or slow or (span.parent_id is None and trace.keep)):
            return
        trace.keep = True
        if attributes:
            span.attributes.update(attributes)
        from . import tracing_sdk

        tracing_sdk.emit(
            span.name,
            span.kind,
            trace.trace_id,
            span.span_id,
            span.parent_id,
            span.start_ns,
            end_ns,
            span.attributes,
            error,
        )
    except Exception:
        _logger.debug("span end failed", exc_info=True)


def current_traceparent():
    """The ``traceparent`` of the innermost open span of this thread's trace (``None``: none)."""
    trace = getattr(_local, "trace", None)
    if trace is None or not trace.stack:
        return None
    return "00-%s-%s-%s" % (trace.trace_id, trace.stack[-1], "01" if trace.sampled else "00")


def clear():
    """Forget this thread's trace (tests)."""
    _local.trace = None
