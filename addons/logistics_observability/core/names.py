"""Family names and the time series names they expose, with prometheus_client's rules.

A counter ``x_total`` exposes ``x``, ``x_total`` and ``x_created``; a histogram ``x`` exposes ``x``,
``x_bucket``, ``x_count``, ``x_sum`` and ``x_created``. Two families that share any of these
names would produce an exposition Prometheus rejects (or silently merges), so a metric defined
with a clashing name is refused (:func:`claim`, through the library's own registry check) and a
clashing scrape-time family is dropped with one log line (:func:`unique`).

Also the rules every name and label value follows (:data:`NAME_RE`, :data:`LABEL_RE`,
:func:`clip`), shared by the metric definitions and the scrape-time families.
"""

import logging
import re
import threading

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from .logonce import LogOnce

_logger = logging.getLogger(__name__)

_TYPES = {"counter": "counter", "gauge": "gauge", "histogram": "histogram", "untyped": "unknown"}
_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created")}
_log_once = LogOnce(_logger, logging.ERROR, limit=1000)

NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MAX_LABEL_VALUE = 200


def clip(value):
    """A label value as stored and exposed: text, at most ``MAX_LABEL_VALUE`` characters, UTF-8 safe."""
    if value is None:
        return ""
    value = (value if isinstance(value, str) else str(value))[:MAX_LABEL_VALUE]
    if not value.isascii():
        # lone surrogates (e.g. from surrogateescape'd bytes) cannot be exposed as UTF-8
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


_lock = threading.Lock()


def family_name(name, kind):
    """The family (``# TYPE``) name prometheus_client gives a metric: counters lose ``_total``."""
    return name[:-6] if kind == "counter" and name.endswith("_total") else name


def series_names(name, kind):
    base = family_name(name, kind)
    return (base, *(base + s for s in _SUFFIXES.get(kind, ())))


class _Declared:
    """A metric's names, as a collector that only describes itself."""

    def __init__(self, name, kind):
        self._metric = Metric(family_name(name, kind), "", _TYPES[kind])

    def describe(self):
        return [self._metric]

    def collect(self):
        return []


_declared = CollectorRegistry(auto_describe=False)


def claim(name, kind):
    """Reserve the names of a new metric; ``ValueError`` when another metric already exposes one."""
    with _lock:
        _declared.register(_Declared(name, kind))


def unique(families):
    """``families`` without those whose names clash with an earlier one (logged once per name)."""
    taken = set()
    for fam in families:
        names = series_names(fam.name, fam.type)
        if taken.isdisjoint(names):
            taken.update(names)
            yield fam
            continue
        _log_once(
            fam.name,
            "metrics: family %s (%s) clashes with another family's names %s; not exposed",
            fam.name,
            fam.type,
            sorted(taken.intersection(names)),
        )
