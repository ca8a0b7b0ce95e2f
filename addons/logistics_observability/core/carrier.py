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

from . import buckets, exemplars, metrics, workflow
from .httpstatus import status_class

_logger = logging.getLogger("odoo.addons.logistics_observability.workflow")

CARRIER_REQUESTS = metrics.counter(
    "odoo_carrier_requests_total",
    "Carrier operations (rate, send, tracking, cancel) by outcome.",
    ("tenant", "carrier", "operation", "outcome"),
    born_together={"outcome": (workflow.SUCCESS, workflow.FAILURE)},
)
CARRIER_DURATION = metrics.histogram(
    "odoo_carrier_request_duration_seconds",
    "Carrier operation duration.",
    ("tenant", "carrier", "operation"),
    buckets=buckets.CARRIER_DURATION,
)
CARRIER_HTTP = metrics.counter(
    "odoo_carrier_http_requests_total",
    "Outbound HTTP requests made by carrier operations, by status class or error "
    "(timeout, connection_error).",
    ("tenant", "carrier", "operation", "status"),
)
CARRIER_HTTP_DURATION = metrics.histogram(
    "odoo_carrier_http_request_duration_seconds",
    "Outbound HTTP request duration inside carrier operations.",
    ("tenant", "carrier", "operation"),
    buckets=buckets.CARRIER_DURATION,
)

_local = threading.local()


@contextlib.contextmanager
def carrier_call(carrier, operation, tenant=None, reference=None, sql_counter=None):
    """Observe one carrier operation: a ``carrier_call`` run plus per-carrier metrics.

    Outbound ``requests`` calls made inside are counted by :func:`install_requests_hook`.
    """
    tenant = tenant or workflow.default_tenant()
    label = metrics.tenant_label(tenant)  # once per operation: its run, its metrics, its HTTP calls
    run = workflow.start("carrier_call", tenant=tenant, reference=reference, sql_counter=sql_counter)
    run.label = label
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
        try:
            response = original(self, request, *args, **kwargs)
        except requests.Timeout:
            record_carrier_http("timeout", time.perf_counter() - t0, url)
            raise
        except requests.ConnectionError:
            record_carrier_http("connection_error", time.perf_counter() - t0, url)
            raise
        except Exception:
            record_carrier_http("error", time.perf_counter() - t0, url)
            raise
        record_carrier_http(status_class(response.status_code)[0], time.perf_counter() - t0, url)
        return response

    send._lo_original = original
    HTTPAdapter.send = send
    _requests_hooked = True
