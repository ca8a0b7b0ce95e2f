"""Per-request / per-run correlation context, read by the JSON log formatter.

The HTTP hook calls :func:`begin_request` when a request starts and
:func:`request_outcome` (or :func:`finish_request`) with the outcome; workflow runs call
:func:`set_fields`. The outcome's fields are built when the context is first read.
The context of the last request stays readable until the next one begins, so
werkzeug's access log line (emitted after the WSGI app returned) still finds
its request's fields.

W3C Trace Context: an incoming valid ``traceparent`` is continued (same
trace id, new span id); otherwise a new trace is started.
"""

import os
import re
import threading

_local = threading.local()

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


#: Requests' random ids drawn from the system's CSPRNG per ``os.urandom`` call (40 bytes each).
POOL_DRAWS = 64
_pool = []  # 80 hex digits per request, not yet used; list.pop and extend are atomic (GIL)


def _refill():
    raw = os.urandom(40 * POOL_DRAWS).hex()
    _pool.extend([raw[i : i + 80] for i in range(0, len(raw), 80)])


def _after_fork_in_child():
    del _pool[:]  # never the parent's ids: a forked worker draws its own


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def new_ids():
    """``(trace id, span id, request id)``: 32, 16 and 32 lowercase hex digits of ``os.urandom``
    (the system's CSPRNG, as ``secrets`` uses), one 40-byte draw per request taken from a
    per-process pool that one call fills for :data:`POOL_DRAWS` requests (a forked child empties
    it), instead of three calls per request. Each draw is used once. The trace and span ids are
    never all zero (W3C Trace Context calls those invalid): drawn again then."""
    while True:
        try:
            raw = _pool.pop()
        except IndexError:
            _refill()
            continue
        trace_id, span_id = raw[:32], raw[32:48]
        if trace_id != _ZERO_TRACE and span_id != _ZERO_SPAN:
            return trace_id, span_id, raw[48:]


def parse_traceparent(value):
    """Return (trace_id, parent_span_id, flags) or None for a missing/invalid header."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if not match:
        return None
    version, trace_id, span_id, flags = match.groups()
    if version == "ff" or trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return trace_id, span_id, flags


def begin_request(environ):
    """Start the context of an HTTP request from its WSGI environ; returns it."""
    trace_id, span_id, request_id = new_ids()
    header = environ.get("HTTP_TRACEPARENT")
    parsed = parse_traceparent(header) if header else None
    if parsed:
        trace_id, parent_id, flags = parsed
    else:
        parent_id, flags = None, "01"
    given = environ.get("HTTP_X_REQUEST_ID")
    if given and _REQUEST_ID.match(given):
        request_id = given
    ctx = {
        "request_id": request_id,
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent_id,
        "trace_flags": flags,
        "http.method": environ.get("REQUEST_METHOD"),
    }
    local = _local
    local.ctx = ctx
    local.outcome = None
    return ctx


def traceparent_header(ctx):
    return "00-%s-%s-%s" % (ctx["trace_id"], ctx["span_id"], ctx.get("trace_flags") or "01")


def outcome_fields(status, route, elapsed, sql_count, sql_time, tenant):
    """The log fields of a request's outcome (what :func:`request_outcome` defers)."""
    return {
        "http.status": status,
        "http.route": route,
        "duration_ms": round(elapsed * 1000.0, 3),
        "sql.count": sql_count,
        "sql.ms": round(sql_time * 1000.0, 3),
        "tenant": tenant,
    }


def request_outcome(status, route, elapsed, sql_count, sql_time, tenant):
    """Record the outcome of the current request: status code, route label, duration and SQL time
    (seconds), SQL queries, tenant. The fields (:func:`outcome_fields`) are built when the context
    is first read (:func:`current`), so a request whose context nobody reads (text logs) pays for
    one tuple, not a dict and two roundings."""
    if getattr(_local, "ctx", None) is not None:
        _local.outcome = (status, route, elapsed, sql_count, sql_time, tenant)


def _settle(ctx):
    outcome = getattr(_local, "outcome", None)
    if outcome is not None:
        _local.outcome = None
        ctx.update(outcome_fields(*outcome))


def finish_request(**fields):
    """Record the outcome of the current request (status, route, duration, sql...)."""
    ctx = getattr(_local, "ctx", None)
    if ctx is not None:
        _settle(ctx)
        ctx.update(fields)


def set_fields(**fields):
    """Add fields (tenant, uid, workflow...) to the current context, creating one if needed."""
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        ctx = _local.ctx = {}
    else:
        _settle(ctx)
    ctx.update(fields)


def trace_id():
    """The current request's trace id (None outside any request)."""
    ctx = getattr(_local, "ctx", None)
    return ctx.get("trace_id") if ctx else None


def current():
    """The current context dict (empty when outside any request)."""
    ctx = getattr(_local, "ctx", None)
    if not ctx:
        return {}
    _settle(ctx)
    return ctx


def clear():
    _local.ctx = None
    _local.outcome = None
