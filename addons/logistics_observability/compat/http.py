"""HTTP instrumentation (Odoo 18.0 and 19.0: the same WSGI and request entry points).

Wraps the WSGI entry point (``odoo.http.Application.__call__``) to time every
request and hand its tenant, route template, method, status and Odoo's own
per-thread SQL counters to ``core/server_metrics.py``, which defines and records
the HTTP metrics. The route *template* comes from
``Request._set_request_dispatcher(rule)`` (called for database and database-less
routes); static files get one fixed template and requests no controller matched
get ``__not_found__``. The tenant is the
database that served the request (``""`` when none did).

Everything here fails open: an error is logged once and the request goes on
untouched.
"""

import functools
import logging
import threading
import time

from ..core import context, odoo_facts, server_metrics, tracing
from ..core.logonce import LogOnce

_logger = logging.getLogger(__name__)

STATIC_ROUTE = "/<module>/static/<path:filename>"

_local = threading.local()
_log_errors = LogOnce(_logger, exc_info=True)


def _log_once(key):
    _log_errors(key, "logistics_observability: HTTP instrumentation error (%s); requests go on", key)


class _State:
    __slots__ = ("ctx", "in_flight", "start", "status")

    def __init__(self, environ):
        self.ctx = context.begin_request(environ)
        if tracing.ENABLED:
            tracing.request_begun(self.ctx)
        self.status = None
        self.start = time.perf_counter()
        _local.route = None
        _local.db = None
        server_metrics.request_started()
        self.in_flight = True


def _finish(state, environ):
    elapsed = time.perf_counter() - state.start
    in_flight, state.in_flight = state.in_flight, False
    thread = threading.current_thread()
    sql_count = int(getattr(thread, odoo_facts.THREAD_QUERY_COUNT, 0) or 0)
    sql_time = float(getattr(thread, odoo_facts.THREAD_QUERY_TIME, 0.0) or 0.0)
    dbname = getattr(thread, odoo_facts.THREAD_DBNAME, None) or getattr(_local, "db", None) or ""
    route, code = server_metrics.request_finished(
        dbname,
        getattr(_local, "route", None),
        environ.get("REQUEST_METHOD", "GET"),
        state.status,
        elapsed,
        sql_count,
        sql_time,
        in_flight,
    )
    # its log fields are built only if something reads the context (JSON logs do, text logs never)
    context.request_outcome(code, route, elapsed, sql_count, sql_time, dbname)
    if tracing.ENABLED:
        tracing.request_ended(state.ctx, environ.get("REQUEST_METHOD", "GET"), route, code, dbname, sql_count)


def _response_headers(headers, ctx):
    request_id = traceparent = True
    for name, _value in headers:
        lowered = name.lower()
        if lowered == "x-request-id":
            request_id = False
        elif lowered == "traceparent":
            traceparent = False
    if request_id:
        headers.append(("X-Request-Id", ctx["request_id"]))
    if traceparent:
        headers.append(("traceparent", context.traceparent_header(ctx)))


def install():
    from odoo import http

    app_call = http.Application.__call__

    @functools.wraps(app_call)
    def __call__(self, environ, start_response):
        try:
            state = _State(environ)
        except Exception:
            _log_once("begin")
            return app_call(self, environ, start_response)

        def _start_response(status, headers, exc_info=None):
            try:
                state.status = status
                _response_headers(headers, state.ctx)
            except Exception:
                _log_once("headers")
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            return start_response(status, headers)

        try:
            return app_call(self, environ, _start_response)
        finally:
            try:
                _finish(state, environ)
            except Exception:
                _log_once("finish")

    set_dispatcher = http.Request._set_request_dispatcher

    @functools.wraps(set_dispatcher)
    def _set_request_dispatcher(self, rule):
        try:
            _local.route = rule.rule
        except Exception:
            _log_once("route")
        return set_dispatcher(self, rule)

    serve_static = http.Request._serve_static

    @functools.wraps(serve_static)
    def _serve_static(self):
        _local.route = STATIC_ROUTE
        return serve_static(self)

    post_init = http.Request._post_init

    @functools.wraps(post_init)
    def _post_init(self):
        result = post_init(self)
        try:
            _local.db = self.db
        except Exception:
            _log_once("db")
        return result

    http.Application.__call__ = __call__
    http.Request._set_request_dispatcher = _set_request_dispatcher
    http.Request._serve_static = _serve_static
    http.Request._post_init = _post_init
