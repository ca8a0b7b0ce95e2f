"""Public metrics API: define and record metrics that every Odoo process shares.

Usage (in Odoo code: ``from odoo.addons.logistics_observability.core import metrics``)::

    orders = metrics.counter("odoo_acme_orders_total", "Orders imported.", ("tenant", "channel"))
    orders.labels(tenant=metrics.tenant_label(env.cr.dbname), channel="edi").inc()

    latency = metrics.histogram("odoo_acme_import_seconds", "Import time.", ("channel",),
                                buckets=(0.1, 0.5, 1, 5))
    with latency.labels(channel="edi").time():
        ...

    busy = metrics.gauge("odoo_acme_importers_busy", "Importers running.", (), mode="livesum")
    busy.inc(); ...; busy.dec()

Values are written to the multi-process store (:mod:`.store`), so a value
recorded in an HTTP worker, a cron worker or the gevent process shows in every
``/metrics`` answer, summed. Recording never raises: an internal error is
logged once per metric and swallowed (the observed operation goes on).
Label values must be bounded: use :func:`tenant_label` / :func:`route_label`
for database names and URL templates.

This module holds the definitions (:func:`counter`, :func:`gauge`, :func:`histogram`) and label
binding (``metric.labels(...)``). Their machinery lives one concept per module, its public names
re-exported here: this process's store handle and the series it updates in :mod:`.series`,
grouped updates (:class:`Group`) in :mod:`.groups`, the tenant/route label caps in
:mod:`.boundlabels`, what runs at scrape time (:class:`Family`, :func:`register_collector`,
:func:`collect`) in :mod:`.collection`.
"""

import math
import threading

from . import buckets as _buckets
from . import collection as _collection
from . import detail as _detail
from . import merge as _merge
from . import names as _names
from . import series as _series
from .born import born_together as _born_together
from .born import siblings_of as _siblings_of
from .boundlabels import ROUTE_OTHER, TENANT_OVERFLOW, route_label, tenant_label  # noqa: F401
from .fastlabels import MISSING as _MISSING
from .fastlabels import fast_labels as _fast_labels

# this process's store and its bound series (:mod:`.series`), the bounded label values
# (:mod:`.boundlabels`): re-exported, callers only import ``metrics``
from .groups import Group, group  # noqa: F401
from .series import (  # noqa: F401
    _NULL_CHILD,
    CounterChild,
    GaugeChild,
    HistogramChild,
    _Child,
    _log_once,
    configure,
    default_directory,
    get_store,
    wipe,
)

_NAME_RE = _names.NAME_RE
_LABEL_RE = _names.LABEL_RE
MAX_LABEL_VALUE = _names.MAX_LABEL_VALUE
_clip = _names.clip
MAX_CHILDREN = 100000
_registry = {}
_registry_lock = threading.Lock()


# ---------------------------------------------------------------------------
# definitions and label binding


class Metric:
    kind = None
    child_class = _Child

    def __init__(
        self,
        name,
        help,
        labelnames=(),
        buckets=(),
        mode="",
        born_together=None,
        detail_labels=(),
        full_buckets=None,
    ):
        if not _NAME_RE.match(name or ""):
            raise ValueError("invalid metric name %r" % (name,))
        labelnames = tuple(labelnames or ())
        for label in labelnames:
            if not _LABEL_RE.match(label) or label.startswith("__"):
                raise ValueError("invalid label name %r for %s" % (label, name))
        if len(set(labelnames)) != len(labelnames):
            raise ValueError("duplicate label names for %s" % name)
        self.name = name
        self.help = help or ""
        self.labelnames = labelnames
        self.detail_labels = tuple(detail_labels or ())
        if any(label not in labelnames for label in self.detail_labels):
            raise ValueError("%s: detail labels must be labels of the metric" % name)
        self._detail_pos = frozenset(labelnames.index(label) for label in self.detail_labels)
        self._grids = (tuple(float(b) for b in buckets), tuple(float(b) for b in (full_buckets or buckets)))
        self.mode = mode
        self.born_together = _born_together(name, labelnames, born_together)
        self.siblings = _siblings_of(self.born_together) if self.born_together else None
        self._children = {}  # label values as given -> child (at most MAX_CHILDREN)
        self._use_level()
        self._lock = threading.Lock()
        fast = _fast_labels(self)
        if fast is not None:
            self.labels = fast

    def _spec(self):
        return (
            self.kind,
            self.help,
            self.labelnames,
            self._grids,
            self.mode,
            self.born_together,
            self.detail_labels,
        )

    def _use_level(self):
        """Take the detail level's buckets (:mod:`.detail`); series bound before are forgotten."""
        self.buckets = self._grids[1] if _detail.full() else self._grids[0]
        self.width = _merge.width_of(self.kind, self.buckets, self.mode)
        self._sum_offset = len(self.buckets) + 1
        self._children.clear()
        self._default = None if self.labelnames else self.child_class(self, ())

    def exposed(self, values):
        """The label values a series is recorded under at the current detail level."""
        if self._detail_pos and not _detail.full():
            return _detail.blank(values, self._detail_pos)
        return values

    def labels(self, *values, **kwargs):
        """The series for these label values (positional in ``labelnames`` order, or by name).

        Metrics with labels replace this with :func:`_fast_labels`' function (same answers).
        """
        try:
            if kwargs:
                if values or len(kwargs) != len(self.labelnames):
                    raise ValueError("expected labels %s" % (self.labelnames,))
                key = tuple(map(kwargs.__getitem__, self.labelnames))
            else:
                if len(values) != len(self.labelnames):
                    raise ValueError("expected labels %s" % (self.labelnames,))
                key = values
            child = self._children.get(key)
            if child is None:
                child = self._new_child(key)
            return child
        except Exception:
            return self._bad_labels()

    def _bad_labels(self):
        _log_once(("labels", self.name), "metrics: bad labels for %s (update ignored)", self.name)
        return _NULL_CHILD

    def _slow_labels(self, key, more, kw):
        """The series of a new ``key`` (from the fast ``labels``), or the null series on bad labels."""
        if more or kw or _MISSING in key:
            return self._bad_labels()
        try:
            child = self._children.get(key)
            return child if child is not None else self._new_child(key)
        except Exception:
            return self._bad_labels()

    def _new_child(self, key):
        child = self.child_class(self, self.exposed(tuple(_clip(v) for v in key)))
        with self._lock:
            if len(self._children) < MAX_CHILDREN:
                child = self._children.setdefault(key, child)
        return child

    def _child(self, labels):
        if labels:
            return self.labels(**labels)
        if self._default is None:
            _log_once(
                ("labels", self.name),
                "metrics: %s needs labels %s (update ignored)",
                self.name,
                self.labelnames,
            )
            return _NULL_CHILD
        return self._default


class Counter(Metric):
    kind = "counter"
    child_class = CounterChild

    def __init__(self, name, help, labelnames=(), born_together=None, detail_labels=()):
        if not name.endswith("_total"):
            raise ValueError("counter names end with _total: %r" % name)
        super().__init__(name, help, labelnames, born_together=born_together, detail_labels=detail_labels)

    def inc(self, amount=1.0, **labels):
        self._child(labels).inc(amount)


class Gauge(Metric):
    kind = "gauge"
    child_class = GaugeChild

    def __init__(self, name, help, labelnames=(), mode="mostrecent"):
        if mode not in _merge.GAUGE_MODES:
            raise ValueError("gauge mode must be one of %s" % (_merge.GAUGE_MODES,))
        super().__init__(name, help, labelnames, mode=mode)

    def inc(self, amount=1.0, **labels):
        self._child(labels).inc(amount)

    def dec(self, amount=1.0, **labels):
        self._child(labels).dec(amount)

    def set(self, value, **labels):
        self._child(labels).set(value)

    def track_inprogress(self, **labels):
        return self._child(labels).track_inprogress()


class Histogram(Metric):
    kind = "histogram"
    child_class = HistogramChild

    def __init__(
        self, name, help, labelnames=(), buckets=_buckets.HTTP_DURATION, detail_labels=(), full_buckets=None
    ):
        bounds = _bounds(buckets)
        if "le" in tuple(labelnames or ()):
            raise ValueError("'le' is reserved in histograms")
        super().__init__(
            name,
            help,
            labelnames,
            buckets=bounds,
            detail_labels=detail_labels,
            full_buckets=_bounds(full_buckets) if full_buckets else None,
        )

    def observe(self, value, **labels):
        self._child(labels).observe(value)

    def time(self, **labels):
        return self._child(labels).time()


def _bounds(buckets):
    bounds = [float(b) for b in buckets if not math.isinf(float(b))]
    if not bounds or bounds != sorted(set(bounds)):
        raise ValueError("histogram buckets must be increasing: %r" % (buckets,))
    return bounds


def _define(cls, name, *args, **kwargs):
    metric = cls(name, *args, **kwargs)
    with _registry_lock:
        existing = _registry.get(name)
        if existing is not None:
            if existing._spec() != metric._spec():
                raise ValueError("metric %s already defined differently" % name)
            return existing
        _names.claim(name, metric.kind)  # ValueError when another metric exposes one of its names
        _registry[name] = metric
    return metric


def counter(name, help, labelnames=(), born_together=None, detail_labels=()):
    """A counter (name ends with ``_total``); values of every process are summed.

    ``born_together={"outcome": ("success", "failure")}``: a new series is written together
    with the series of the other listed values (same other labels), at 0, so the first
    failure after successes is an increase Prometheus sees at once. Keep it to small
    enumerations read by rules (each listed value is a series per label set).

    ``detail_labels``: labels left empty at the default detail level (:mod:`.detail`), e.g.
    ``("tenant",)`` for per-cron detail that would multiply every tenant's series.
    """
    return _define(Counter, name, help, labelnames, born_together=born_together, detail_labels=detail_labels)


def gauge(name, help, labelnames=(), mode="mostrecent"):
    """A gauge. ``mode`` says how the values of several processes combine:

    ``mostrecent`` (last value set by any process), ``livesum`` / ``livemax``
    (sum / max over live processes only: in-flight requests, busy workers),
    ``sum`` (over every process that ever set it in this run), ``max`` (highest
    value set by any process in this run).
    """
    return _define(Gauge, name, help, labelnames, mode=mode)


def histogram(name, help, labelnames=(), buckets=_buckets.HTTP_DURATION, detail_labels=(), full_buckets=None):
    """A histogram with fixed ``buckets`` (upper bounds; +Inf is implicit).

    ``full_buckets``: a finer grid used at the ``full`` detail level instead of ``buckets``;
    ``detail_labels`` as for :func:`counter`.
    """
    return _define(
        Histogram,
        name,
        help,
        labelnames,
        buckets=buckets,
        detail_labels=detail_labels,
        full_buckets=full_buckets,
    )


def registered():
    return dict(_registry)


def full_detail():
    """True at the opt-in ``full`` detail level (``observability_metrics_detail``, :mod:`.detail`):
    a scrape-time collector may then add its per-tenant detail families."""
    return _detail.full()


def _apply_detail_level():
    """The detail level changed: every metric takes its buckets, every series binds again."""
    with _registry_lock:
        for metric in _registry.values():
            metric._use_level()
    _series._gen += 1  # the children and groups bound before re-locate their series


_detail.on_change(_apply_detail_level)


# ---------------------------------------------------------------------------
# scrape time (see :mod:`.collection`): collectors' families and the merged store

Family = _collection.Family
FAMILY_TYPES = _collection.FAMILY_TYPES
FAMILY_COMBINE = _collection.FAMILY_COMBINE
register_collector = _collection.register_collector
unregister_collector = _collection.unregister_collector
collectors = _collection.collectors
set_build_info = _collection.set_build_info


def store_families():
    """Families of every metric recorded in any process of the instance."""
    return _collection.store_families(get_store())


def collect(run_collectors=True):
    """Every family to expose: build info, the store, then scrape-time collectors."""
    return _collection.collect(get_store, run_collectors)


def __getattr__(name):
    # the process's store state lives in :mod:`.series`; ``metrics._gen`` / ``metrics._STORE``
    # still read its current value (module attributes cannot alias an int)
    if name in ("_gen", "_STORE", "_settings"):
        return getattr(_series, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
