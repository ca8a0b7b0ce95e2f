"""``/metrics``: the multi-process store exposed through prometheus_client.

:func:`generate` renders everything once per scrape (concurrent scrapes of one format share a
fresh enough rendering) and :func:`metrics_response` answers ``GET /metrics`` (authorization,
format, gzip) for the Odoo controller on the main port and the dedicated metrics listener.

One concept per module, re-exported here (callers import ``exposition``):
:mod:`.libcollector` (:class:`StoreCollector`, the store as a prometheus_client collector, and
:func:`library_encode`, the library's encoders), :mod:`.textwriter` (:func:`encode`, a faster
writer of the same bytes, proved byte-identical by ``tests/unit/test_exposition_library.py``) and
:mod:`.negotiation` (``Accept`` / ``Accept-Encoding``, as the library's ``choose_encoder``).
"""

import gzip
import logging
from functools import partial

from prometheus_client import exposition as _pc  # noqa: F401 (tests read the library through it)

from . import auth, exemplars, metrics, security, turns
from .atfork import at_fork_in_child

# one concept per module, re-exported here (callers import ``exposition``): the library's view
# of the store and its encoders, the fast writer of the same bytes, content negotiation
from .libcollector import (  # noqa: F401
    COLLECTOR,
    OPENMETRICS,
    OPENMETRICS_CONTENT_TYPE,
    REGISTRY,
    TEXT_CONTENT_TYPE,
    UNDERSCORES,
    StoreCollector,
    library_encode,
    to_metric,
)
from .negotiation import gzip_accepted, negotiate
from .textwriter import encode

_logger = logging.getLogger(__name__)

GZIP_LEVEL = 1  # 500 tenants: 1.2x the size of level 6 in a third of its time (bench_exposition)


def exemplar_table():
    """The instance's exemplars (empty when they cannot be read: the answer goes on without)."""
    try:
        return exemplars.snapshot(metrics.get_store().directory)
    except Exception:
        _logger.warning("metrics: cannot read the exemplars", exc_info=True)
        return {}


_shared = {}  # (openmetrics, escaping) -> turns.Turns: the last answer of each format


def _reset_shared():
    _shared.clear()  # a lock held by a thread of the parent would never be released here


at_fork_in_child(_reset_shared)


def _render(openmetrics, escaping):
    return encode(COLLECTOR.families(), openmetrics, escaping, exemplar_table() if openmetrics else None)


def generate(openmetrics=False, escaping=UNDERSCORES):
    """One exposition of everything (text 0.0.4, or OpenMetrics 1.0 with exemplars).

    Concurrent scrapes of one format share a rendering when it is as fresh as their own
    (:class:`.turns.Turns`): HA Prometheus pairs cost about one rendering, not one each.
    """
    turn = _shared.setdefault((openmetrics, escaping), turns.Turns())
    return turn.run(partial(_render, openmetrics, escaping))


def metrics_response(headers, peer, cfg):
    """(status, [(header, value)], body) for a ``GET /metrics``.

    ``headers`` is a case-insensitive mapping of the request headers, ``peer``
    the socket peer address, ``cfg`` the :class:`~.config.Config`.
    """
    decision = auth.check(headers, peer, cfg.metrics_token if cfg else None)
    if decision != 200:
        security.record_endpoint_auth_failure("metrics", decision)
        return auth.deny(decision)
    _encoder, ctype, openmetrics, escaping = negotiate(headers.get("Accept"))
    try:
        body = generate(openmetrics, escaping)
    except Exception:
        _logger.exception("metrics: cannot render /metrics")
        return 500, [("Content-Type", "text/plain; charset=utf-8")], b"metrics unavailable\n"
    out = [("Content-Type", ctype), ("Cache-Control", "no-store"), ("Vary", "Accept, Accept-Encoding")]
    if gzip_accepted(headers.get("Accept-Encoding")):
        body = gzip.compress(body, compresslevel=GZIP_LEVEL)
        out.append(("Content-Encoding", "gzip"))
    return 200, out, body
