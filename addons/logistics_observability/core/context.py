"""Per-request / per-run correlation context, read by the JSON log formatter.

The HTTP hook calls :func:`begin_request` when a request starts and
:func:`finish_request` with the outcome; workflow runs call :func:`set_fields`.
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


def _hex(nbytes):
    return os.urandom(nbytes).hex()


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
    parsed = parse_traceparent(environ.get("HTTP_TRACEPARENT"))
    trace_id, parent_id, flags = parsed if parsed else (_hex(16), None, "01")
    request_id = environ.get("HTTP_X_REQUEST_ID", "")
    if not _REQUEST_ID.match(request_id):
        request_id = _hex(16)
    ctx = {
        "request_id": request_id,
        "trace_id": trace_id,
        "span_id": _hex(8),
        "parent_span_id": parent_id,
        "trace_flags": flags,
        "http.method": environ.get("REQUEST_METHOD"),
    }
    _local.ctx = ctx
    return ctx


def traceparent_header(ctx):
    return "00-%s-%s-%s" % (ctx["trace_id"], ctx["span_id"], ctx.get("trace_flags") or "01")


def finish_request(**fields):
    """Record the outcome of the current request (status, route, duration, sql...)."""
    ctx = getattr(_local, "ctx", None)
    if ctx is not None:
        ctx.update(fields)


def set_fields(**fields):
    """Add fields (tenant, uid, workflow...) to the current context, creating one if needed."""
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        ctx = _local.ctx = {}
    ctx.update(fields)


def current():
    """The current context dict (empty when outside any request)."""
    return getattr(_local, "ctx", None) or {}


def clear():
    _local.ctx = None
