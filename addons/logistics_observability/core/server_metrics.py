"""The server's contract metrics: HTTP requests and live processes (docs/METRICS.md).

Odoo-free. The version layer (``compat/odoo<series>/http.py``, ``server.py``) only
extracts values from Odoo (route template, status, SQL counters, database) and calls
:func:`request_started` / :func:`request_finished` once per request, and
:func:`set_process_type` once per process.

A finished request's seven series (request count, duration, SQL queries and time per
route, tenant time, SQL time and queries) and the in-flight gauge are one :class:`metrics.Group`, updated
under one lock with slot positions resolved once per label combination, instead of
seven label lookups and locks. What a request's labels resolve to (status class, capped tenant and
route labels, the group, the duration series' exemplars) is kept per combination of the values
compat hands over, so a request seen before costs one dict lookup before the update.
"""

import logging

from . import buckets, detail, exemplars, metrics, names
from . import series as _series
from .httpstatus import status_class  # re-exported: server_metrics.status_class
from .logonce import LogOnce

_logger = logging.getLogger(__name__)

NOT_FOUND_ROUTE = "__not_found__"
METHODS = frozenset(("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"))

REQUESTS = metrics.counter(
    "odoo_http_requests_total",
    "HTTP requests answered, by tenant, route template, method and status class.",
    ("tenant", "route", "method", "status"),
    # per route and method: odoo_http_request_duration_seconds (no tenant)
    detail_labels=("route", "method"),
)
DURATION = metrics.histogram(
    "odoo_http_request_duration_seconds",
    "HTTP request duration by route template.",
    ("route", "method"),
    buckets=buckets.HTTP_DURATION,
)
SQL_QUERIES = metrics.histogram(
    "odoo_http_request_sql_queries", "SQL queries per HTTP request.", ("route",), buckets=buckets.SQL_QUERIES
)
SQL_SECONDS = metrics.histogram(
    "odoo_http_request_sql_seconds", "SQL time per HTTP request.", ("route",), buckets=buckets.SQL_SECONDS
)
TENANT_SECONDS = metrics.counter(
    "odoo_tenant_request_seconds_total", "Time spent serving HTTP requests, per tenant.", ("tenant",)
)
TENANT_SQL_SECONDS = metrics.counter(
    "odoo_tenant_sql_seconds_total", "SQL time of HTTP requests, per tenant.", ("tenant",)
)
TENANT_SQL_QUERIES = metrics.counter(
    "odoo_tenant_sql_queries_total", "SQL queries of HTTP requests, per tenant.", ("tenant",)
)
IN_FLIGHT = metrics.gauge(
    "odoo_http_requests_in_flight",
    "HTTP requests being served (sum over live processes).",
    (),
    mode="livesum",
)
WORKER_PROCESSES = metrics.gauge(
    "odoo_worker_processes", "Live Odoo server processes by type.", ("type",), mode="livesum"
)

INSTANCE_START = metrics.gauge(
    "odoo_instance_start_time_seconds",
    "Start of this Odoo instance (Unix time), while its master lives.",
    (),
    mode="livemax",
)

# label combinations are bounded by the tenant and route caps, but their product is not small:
# the cache of groups is cleared when full (a miss only costs one group's binding)
MAX_GROUPS = 4096
_groups = {}
detail.on_change(_groups.clear)  # groups hold series bound at the previous level
_requests = {}  # (dbname, route, method, status) as compat hands them -> _Resolved
_requests_gen = [None]  # _series._gen the entries were resolved for
_log_errors = LogOnce(_logger, exc_info=True)


def _log_once(key):
    _log_errors(key, "logistics_observability: HTTP metrics error (%s); requests go on", key)


def _group(tenant, route, method, klass):
    key = (tenant, route, method, klass)
    grp = _groups.get(key)
    if grp is None:
        if len(_groups) >= MAX_GROUPS:
            _groups.clear()
        duration = DURATION.labels(route, method)
        grp = _groups[key] = metrics.group(
            (
                REQUESTS.labels(tenant, route, method, klass),
                duration,
                SQL_QUERIES.labels(route),
                SQL_SECONDS.labels(route),
                TENANT_SECONDS.labels(tenant),
                TENANT_SQL_SECONDS.labels(tenant),
                TENANT_SQL_QUERIES.labels(tenant),
                IN_FLIGHT._default,  # -1 under the same lock: the request is no longer in flight
            )
        )
    return grp


class _Resolved:
    """What one combination of a request's raw values resolves to."""

    __slots__ = ("code", "exemplars", "group", "route")

    def __init__(self, group, exemplars_, route, code):
        self.group = group
        self.exemplars = exemplars_
        self.route = route
        self.code = code


def _resolve(key):
    dbname, route, method, status = key
    method = method.upper() if method else "GET"
    if method not in METHODS:
        method = "other"
    klass, code = status_class(status or "500")
    tenant = metrics.tenant_label(dbname)
    route_label = metrics.route_label(route or NOT_FOUND_ROUTE)
    resolved = _Resolved(
        _group(tenant, route_label, method, klass),
        exemplars.series(DURATION, (route_label, method)),
        route_label,
        code,
    )
    # a value the caps turned into their overflow label is asked again next time (a busy caps
    # lock gives the overflow label once); names the caps kept are final
    if tenant == names.clip(dbname) and route_label == names.clip(route or NOT_FOUND_ROUTE):
        if _requests_gen[0] != _series._gen or len(_requests) >= MAX_GROUPS:
            _requests.clear()
            _requests_gen[0] = _series._gen
        _requests[key] = resolved
    return resolved


_IN_FLIGHT = IN_FLIGHT._default


def request_started():
    _IN_FLIGHT._add(1.0)  # IN_FLIGHT.inc(), one call less


def request_finished(dbname, route, method, status, elapsed, sql_count, sql_time, in_flight=True):
    """Record one answered request; returns ``(route label, status code)`` for the request's log line.

    ``dbname``: the database that served it (``""`` for none); ``route``: its route template
    (``None`` when no controller matched); ``status``: the WSGI status line (``None``: 500).
    ``in_flight``: :func:`request_started` was called for it. Fails open.
    """
    recorded = False
    try:
        key = (dbname, route, method, status)
        resolved = _requests.get(key) if _requests_gen[0] == _series._gen else None
        if resolved is None:
            resolved = _resolve(key)
        resolved.group.record(
            (1.0, elapsed, sql_count, sql_time, elapsed, sql_time, sql_count, -1.0 if in_flight else 0.0)
        )
        recorded = True
        resolved.exemplars.observe(elapsed)  # this request's trace id, unless the bucket's is fresh
        return resolved.route, resolved.code
    except Exception:
        _log_once("finish")
        if in_flight and not recorded:
            IN_FLIGHT.dec()  # fail-open itself
        return route or NOT_FOUND_ROUTE, 500


def set_process_type(kind):
    """This process serves as ``kind`` (``http``, ``cron``, ``gevent``) while it lives."""
    try:
        WORKER_PROCESSES.labels(type=kind).set(1)
    except Exception:
        _logger.warning("logistics_observability: cannot report the process type", exc_info=True)


def instance_started(when):
    """The instance started at Unix time ``when`` (set by the process that wiped the directory)."""
    INSTANCE_START.set(when)  # fail-open, like every metric update
