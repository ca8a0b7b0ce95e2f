"""Family names and the time series names they expose, with prometheus_client's rules.

A counter ``x_total`` exposes ``x``, ``x_total`` and ``x_created``; a histogram ``x`` exposes ``x``,
``x_bucket``, ``x_count``, ``x_sum`` and ``x_created``. Two families that share any of these
names would produce an exposition Prometheus rejects (or silently merges), so a metric defined
with a clashing name is refused (:func:`claim`, through the library's own registry check) and a
clashing scrape-time family is dropped with one log line (:func:`unique`).
"""

import logging
import threading

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

_logger = logging.getLogger(__name__)

_TYPES = {"counter": "counter", "gauge": "gauge", "histogram": "histogram", "untyped": "unknown"}
_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created")}
_logged = set()
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
        if fam.name not in _logged and len(_logged) < 1000:
            _logged.add(fam.name)
            _logger.error(
                "metrics: family %s (%s) clashes with another family's names %s; not exposed",
                fam.name,
                fam.type,
                sorted(taken.intersection(names)),
            )
