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

import keyword
import math
import threading

from . import buckets as _buckets
from . import collection as _collection
from . import merge as _merge
from . import names as _names
from . import series as _series
from .boundlabels import ROUTE_OTHER, TENANT_OVERFLOW, route_label, tenant_label  # noqa: F401

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


_MISSING = object()
_FAST_LABELS = """def labels({params}, *__more, **__kw):
    key = ({names},)
    if __kw or __more:
        return __slow(key, __more, __kw)
    child = __get(key)
    if child is None:
        return __slow(key, __more, __kw)
    return child
"""


def _fast_labels(metric):
    """``metric.labels`` as a function whose parameters are the label names (positional or by
    name), so a known series costs one tuple and one dict lookup: no ``**kwargs`` dict, no
    per-call checks. A missing label is ``_MISSING`` in the key, never a known series.
    None when a label name cannot be a Python parameter."""
    names = metric.labelnames
    if not names or any(keyword.iskeyword(n) for n in names):
        return None
    namespace = {"_MISSING": _MISSING, "__get": metric._children.get, "__slow": metric._slow_labels}
    source = _FAST_LABELS.format(params=", ".join("%s=_MISSING" % n for n in names), names=", ".join(names))
    exec(source, namespace)
    fn = namespace["labels"]
    fn.__doc__ = Metric.labels.__doc__
    return fn


class Metric:
    kind = None
    child_class = _Child

    def __init__(self, name, help, labelnames=(), buckets=(), mode="", born_together=None):
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
        self.buckets = tuple(float(b) for b in buckets)
        self.mode = mode
        self.born_together = _born_together(name, labelnames, born_together)
        self.siblings = _siblings_of(self.born_together) if self.born_together else None
        self.width = _merge.width_of(self.kind, self.buckets, mode)
        self._sum_offset = len(self.buckets) + 1
        self._children = {}  # label values as given -> child (at most MAX_CHILDREN)
        self._lock = threading.Lock()
        self._default = None if labelnames else self.child_class(self, ())
        fast = _fast_labels(self)
        if fast is not None:
            self.labels = fast

    def _spec(self):
        return (self.kind, self.help, self.labelnames, self.buckets, self.mode, self.born_together)

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
        child = self.child_class(self, tuple(_clip(v) for v in key))
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


def _born_together(name, labelnames, spec):
    """``(label position, values)`` of a ``born_together`` declaration, checked."""
    if not spec:
        return None
    out = []
    for label, values in sorted(dict(spec).items()):
        values = tuple(values)
        if label not in labelnames or len(values) < 2 or len(values) > 16:
            raise ValueError("%s: born_together needs a label of the metric and 2 to 16 values" % name)
        if not all(isinstance(v, str) and v for v in values) or len(set(values)) != len(values):
            raise ValueError("%s: born_together values must be distinct non-empty strings" % name)
        out.append((labelnames.index(label), values))
    return tuple(out)


def _siblings_of(together):
    """The function giving the other series born with a series (its label values differ only
    in a ``born_together`` label, and hold one of its values)."""

    def siblings(labelvalues):
        found = []
        for pos, values in together:
            if labelvalues[pos] not in values:
                continue  # an unlisted value is born alone
            for value in values:
                if value != labelvalues[pos]:
                    found.append(labelvalues[:pos] + (value,) + labelvalues[pos + 1 :])
        return found

    return siblings


class Counter(Metric):
    kind = "counter"
    child_class = CounterChild

    def __init__(self, name, help, labelnames=(), born_together=None):
        if not name.endswith("_total"):
            raise ValueError("counter names end with _total: %r" % name)
        super().__init__(name, help, labelnames, born_together=born_together)

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

    def __init__(self, name, help, labelnames=(), buckets=_buckets.HTTP_DURATION):
        bounds = [float(b) for b in buckets if not math.isinf(float(b))]
        if not bounds or bounds != sorted(set(bounds)):
            raise ValueError("histogram buckets must be increasing: %r" % (buckets,))
        if "le" in tuple(labelnames or ()):
            raise ValueError("'le' is reserved in histograms")
        super().__init__(name, help, labelnames, buckets=bounds)

    def observe(self, value, **labels):
        self._child(labels).observe(value)

    def time(self, **labels):
        return self._child(labels).time()


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


def counter(name, help, labelnames=(), born_together=None):
    """A counter (name ends with ``_total``); values of every process are summed.

    ``born_together={"outcome": ("success", "failure")}``: a new series is written together
    with the series of the other listed values (same other labels), at 0, so the first
    failure after successes is an increase Prometheus sees at once. Keep it to small
    enumerations read by rules (each listed value is a series per label set).
    """
    return _define(Counter, name, help, labelnames, born_together=born_together)


def gauge(name, help, labelnames=(), mode="mostrecent"):
    """A gauge. ``mode`` says how the values of several processes combine:

    ``mostrecent`` (last value set by any process), ``livesum`` / ``livemax``
    (sum / max over live processes only: in-flight requests, busy workers),
    ``sum`` (over every process that ever set it in this run), ``max`` (highest
    value set by any process in this run).
    """
    return _define(Gauge, name, help, labelnames, mode=mode)


def histogram(name, help, labelnames=(), buckets=_buckets.HTTP_DURATION):
    """A histogram with fixed ``buckets`` (upper bounds; +Inf is implicit)."""
    return _define(Histogram, name, help, labelnames, buckets=buckets)


def registered():
    return dict(_registry)


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
