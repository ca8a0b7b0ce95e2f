"""Carrier operations: a ``carrier_call`` workflow run plus per-carrier metrics, and the
outbound ``requests`` calls made inside one (Odoo-free).

``observe.carrier_call`` is the public entry; the version layer installs the
``requests`` hook once per process (``compat/<series>/outbound.py``).
"""

import contextlib
import functools
import logging
import threading
import time

from . import buckets, context, exemplars, metrics, tracing, workflow
from .httpstatus import status_class

_logger = logging.getLogger("odoo.addons.logistics_observability.workflow")

# per carrier across tenants at the default detail level; a tenant's carrier calls are its
# carrier_call workflow runs
_PER_TENANT = ("tenant",)

CARRIER_REQUESTS = metrics.counter(
    "odoo_carrier_requests_total",
    "Carrier operations (rate, send, tracking, cancel) by outcome.",
    ("tenant", "carrier", "operation", "outcome"),
    born_together={"outcome": (workflow.SUCCESS, workflow.FAILURE)},
    detail_labels=_PER_TENANT,
)
CARRIER_DURATION = metrics.histogram(
    "odoo_carrier_request_duration_seconds",
    "Carrier operation duration.",
    ("tenant", "carrier", "operation"),
    buckets=buckets.CARRIER_DURATION,
    detail_labels=_PER_TENANT,
)
CARRIER_HTTP = metrics.counter(
    "odoo_carrier_http_requests_total",
    "Outbound HTTP requests made by carrier operations, by status class or error "
    "(timeout, connection_error).",
    ("tenant", "carrier", "operation", "status"),
    detail_labels=_PER_TENANT,
)
CARRIER_HTTP_DURATION = metrics.histogram(
    "odoo_carrier_http_request_duration_seconds",
    "Outbound HTTP request duration inside carrier operations.",
    ("tenant", "carrier", "operation"),
    buckets=buckets.CARRIER_DURATION,
    detail_labels=_PER_TENANT,
)

_local = threading.local()


@contextlib.contextmanager
def carrier_call(carrier, operation, tenant=None, reference=None, sql_counter=None, reference_kind=None):
    """Observe one carrier operation: a ``carrier_call`` run plus per-carrier metrics.
    ``reference_kind``: what the reference names (e.g. a model), for the run's span.

    Outbound ``requests`` calls made inside are counted by :func:`install_requests_hook`.
    """
    tenant = tenant or workflow.default_tenant()
    label = metrics.tenant_label(tenant)  # once per operation: its run, its metrics, its HTTP calls
    run = workflow.start("carrier_call", tenant=tenant, reference=reference, sql_counter=sql_counter)
    run.label = label
    run.reference_kind = reference_kind
    run.extra.update({"carrier": carrier, "operation": operation})

    def finish(r):
        CARRIER_REQUESTS.labels(tenant=label, carrier=carrier, operation=operation, outcome=r.outcome).inc()
        CARRIER_DURATION.labels(tenant=label, carrier=carrier, operation=operation).observe(r.duration)
        exemplars.observe(CARRIER_DURATION, (label, carrier, operation), r.duration)

    run.on_finish = finish
    stack = getattr(_local, "carriers", None)
    if stack is None:
        stack = _local.carriers = []
    stack.append((label, carrier, operation))
    try:
        with run:
            yield run
    finally:
        stack.pop()


def current_carrier():
    stack = getattr(_local, "carriers", None)
    return stack[-1] if stack else None


def record_carrier_http(status, duration, url=None):
    """Count one outbound HTTP request of the current carrier operation; no-op outside one."""
    current = current_carrier()
    if current is None:
        return
    try:
        label, carrier, operation = current
        CARRIER_HTTP.labels(tenant=label, carrier=carrier, operation=operation, status=status).inc()
        CARRIER_HTTP_DURATION.labels(tenant=label, carrier=carrier, operation=operation).observe(duration)
        _logger.debug(
            "carrier %s %s HTTP %s in %.3fs",
            carrier,
            operation,
            status,
            duration,
            extra={
                "carrier": carrier,
                "operation": operation,
                "http.url": url,
                "duration_ms": round(duration * 1000.0, 3),
            },
        )
    except Exception:
        _logger.debug("recording carrier HTTP request failed", exc_info=True)


def _propagate(request):
    """Put the trace context in the outgoing request's ``traceparent``: a client span's when
    tracing is on (returned, to end with :func:`_end_span`), else the request's own. Fails open."""
    try:
        headers = request.headers
        if tracing.ENABLED:
            span = tracing.begin("HTTP %s" % (request.method or "GET"), kind="client")
            if span is not None:
                span.attributes.update(_client_attributes(request))
                headers["traceparent"] = span.traceparent()
            return span
        ctx = context.current()
        if ctx.get("trace_id") and ctx.get("span_id"):
            headers["traceparent"] = context.traceparent_header(ctx)
    except Exception:
        _logger.debug("traceparent propagation failed", exc_info=True)
    return None


def _client_attributes(request):
    """Method, scheme, host and port of an outbound request: never its path or query (tracking
    numbers, keys)."""
    import urllib.parse

    parts = urllib.parse.urlsplit(request.url or "")
    attributes = {"http.request.method": request.method or "GET", "url.scheme": parts.scheme}
    if parts.hostname:
        attributes["server.address"] = parts.hostname
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    if port:
        attributes["server.port"] = port
    current = current_carrier()
    if current is not None:
        attributes.update({"odoo.carrier": current[1], "odoo.operation": current[2]})
    return attributes


def _end_span(span, status_code, error_type):
    if span is None:
        return
    attributes = {"error.type": error_type} if error_type else {"http.response.status_code": status_code}
    tracing.end(span, error_type is not None or status_code >= 500, attributes)


_requests_hooked = False


def install_requests_hook():
    """Time every ``requests`` call made inside a carrier operation (idempotent)."""
    global _requests_hooked
    if _requests_hooked:
        return
    try:
        import requests
    except ImportError:
        return
    from requests.adapters import HTTPAdapter

    # at the transport adapter, below Session.send, so wrappers of Session.send (test runners,
    # retry helpers) still reach it
    original = HTTPAdapter.send

    @functools.wraps(original)
    def send(self, request, *args, **kwargs):
        if current_carrier() is None:
            return original(self, request, *args, **kwargs)
        t0 = time.perf_counter()
        url = (getattr(request, "url", "") or "").split("?", 1)[0][:200]
        span = _propagate(request)
        try:
            response = original(self, request, *args, **kwargs)
        except requests.Timeout:
            _end_span(span, None, "timeout")
            record_carrier_http("timeout", time.perf_counter() - t0, url)
            raise
        except requests.ConnectionError:
            _end_span(span, None, "connection_error")
            record_carrier_http("connection_error", time.perf_counter() - t0, url)
            raise
        except Exception:
            _end_span(span, None, "error")
            record_carrier_http("error", time.perf_counter() - t0, url)
            raise
        _end_span(span, response.status_code, None)
        record_carrier_http(status_class(response.status_code)[0], time.perf_counter() - t0, url)
        return response

    send._lo_original = original
    HTTPAdapter.send = send
    _requests_hooked = True
