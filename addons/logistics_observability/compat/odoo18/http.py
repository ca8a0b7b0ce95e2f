"""Odoo 18 HTTP instrumentation.

Wraps the WSGI entry point (``odoo.http.Application.__call__``) to time every
request, count it by tenant / route template / method / status class once its
response started, and record Odoo's own per-thread SQL counters. The route
*template* comes from ``Request._set_request_dispatcher(rule)`` (called for
database and database-less routes); static files get one fixed template and
requests no controller matched get ``__not_found__``. The tenant is the
database that served the request (``""`` when none did).

Everything here fails open: an error is logged once and the request goes on
untouched.
"""
import functools
import logging
import threading
import time

from ...core import buckets, context, exemplars, metrics

_logger = logging.getLogger(__name__)

STATIC_ROUTE = "/<module>/static/<path:filename>"
NOT_FOUND_ROUTE = "__not_found__"
METHODS = frozenset(("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"))

REQUESTS = metrics.counter(
    "odoo_http_requests_total", "HTTP requests answered, by tenant, route template, method and status class.",
    ("tenant", "route", "method", "status"))
DURATION = metrics.histogram(
    "odoo_http_request_duration_seconds", "HTTP request duration by route template.",
    ("route", "method"), buckets=buckets.HTTP_DURATION)
SQL_QUERIES = metrics.histogram(
    "odoo_http_request_sql_queries", "SQL queries per HTTP request.", ("route",), buckets=buckets.SQL_QUERIES)
SQL_SECONDS = metrics.histogram(
    "odoo_http_request_sql_seconds", "SQL time per HTTP request.", ("route",), buckets=buckets.SQL_SECONDS)
TENANT_SECONDS = metrics.counter(
    "odoo_tenant_request_seconds_total", "Time spent serving HTTP requests, per tenant.", ("tenant",))
TENANT_SQL_SECONDS = metrics.counter(
    "odoo_tenant_sql_seconds_total", "SQL time of HTTP requests, per tenant.", ("tenant",))
TENANT_SQL_QUERIES = metrics.counter(
    "odoo_tenant_sql_queries_total", "SQL queries of HTTP requests, per tenant.", ("tenant",))
IN_FLIGHT = metrics.gauge(
    "odoo_http_requests_in_flight", "HTTP requests being served (sum over live processes).", (),
    mode="livesum")

_local = threading.local()
_logged = set()


def _log_once(key):
    if key not in _logged:
        _logged.add(key)
        _logger.warning("logistics_observability: HTTP instrumentation error (%s); requests go on", key,
                        exc_info=True)


class _State:
    __slots__ = ("ctx", "in_flight", "start", "status")

    def __init__(self, environ):
        self.ctx = context.begin_request(environ)
        self.status = None
        self.start = time.perf_counter()
        _local.route = None
        _local.db = None
        IN_FLIGHT.inc()
        self.in_flight = True


def status_class(status):
    try:
        code = int(str(status).split(" ", 1)[0])
    except (TypeError, ValueError):
        return "5xx", 500
    if not 100 <= code <= 599:
        return "5xx", code
    return "%dxx" % (code // 100), code


def _finish(state, environ):
    elapsed = time.perf_counter() - state.start
    if state.in_flight:
        state.in_flight = False
        IN_FLIGHT.dec()
    thread = threading.current_thread()
    sql_count = int(getattr(thread, "query_count", 0) or 0)
    sql_time = float(getattr(thread, "query_time", 0.0) or 0.0)
    dbname = getattr(thread, "dbname", None) or getattr(_local, "db", None) or ""
    route = getattr(_local, "route", None) or NOT_FOUND_ROUTE
    method = environ.get("REQUEST_METHOD", "GET").upper()
    if method not in METHODS:
        method = "other"
    klass, code = status_class(state.status or "500")
    tenant = metrics.tenant_label(dbname)
    route = metrics.route_label(route)
    REQUESTS.labels(tenant, route, method, klass).inc()
    DURATION.labels(route, method).observe(elapsed)
    exemplars.observe(DURATION, (route, method), elapsed)  # this request's trace id
    SQL_QUERIES.labels(route).observe(sql_count)
    SQL_SECONDS.labels(route).observe(sql_time)
    TENANT_SECONDS.labels(tenant).inc(elapsed)
    TENANT_SQL_SECONDS.labels(tenant).inc(sql_time)
    TENANT_SQL_QUERIES.labels(tenant).inc(sql_count)
    context.finish_request(**{
        "http.status": code, "http.route": route, "duration_ms": round(elapsed * 1000.0, 3),
        "sql.count": sql_count, "sql.ms": round(sql_time * 1000.0, 3), "tenant": dbname,
    })


def _response_headers(headers, ctx):
    present = {name.lower() for name, _value in headers}
    if "x-request-id" not in present:
        headers.append(("X-Request-Id", ctx["request_id"]))
    if "traceparent" not in present:
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
