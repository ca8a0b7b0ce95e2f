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

What runs at scrape time (:class:`Family`, :func:`register_collector`, :func:`collect`) lives in
:mod:`.collection`; its public names are re-exported here.
"""

import bisect
import contextlib
import keyword
import logging
import math
import os
import tempfile
import threading
import time

from . import buckets as _buckets
from . import collection as _collection
from . import detail as _detail
from . import merge as _merge
from . import names as _names
from . import slot_writer as _slot_writer
from . import store as _store
from .atfork import at_fork_in_child
from .logonce import LogOnce

_logger = logging.getLogger(__name__)
_bisect_left = bisect.bisect_left

_NAME_RE = _names.NAME_RE
_LABEL_RE = _names.LABEL_RE
MAX_LABEL_VALUE = _names.MAX_LABEL_VALUE
TENANT_OVERFLOW = "__overflow__"
ROUTE_OTHER = "__other__"

_settings = {
    "directory": None,
    "max_tenants": 2000,
    "max_routes": 200,
    "capacity": _slot_writer.DEFAULT_CAPACITY,
    "hold": 0.0,
}
_STORE = None
_gen = 0  # bumped whenever bound series must be re-located (fork, new directory, wipe)
_registry = {}
_registry_lock = threading.Lock()


def default_directory():
    env = os.environ.get("ODOO_OBSERVABILITY_METRICS_DIR")
    if env:
        return env
    return os.path.join(tempfile.gettempdir(), "odoo-observability-%s-%s" % (os.getuid(), os.getpid()))


def configure(directory=None, max_tenants=None, max_routes=None, capacity=None, hold=None):
    """Point this process at a metrics directory and set the label caps.

    ``hold``: seconds a new counter or histogram series reads 0 in scrapes (0: off), so that
    Prometheus sees its first increment (see :meth:`.merge.Summed.hide_young`).
    """
    global _STORE, _gen
    if hold is not None:
        _settings["hold"] = float(hold)
        if _STORE is not None:
            _STORE.hold = _settings["hold"]
    if max_tenants is not None:
        _settings["max_tenants"] = int(max_tenants)
    if max_routes is not None:
        _settings["max_routes"] = int(max_routes)
    if capacity is not None:
        _settings["capacity"] = int(capacity)
    if directory is not None or capacity is not None:
        if directory is not None:
            _settings["directory"] = directory
        old = _STORE
        _STORE = None
        _gen += 1
        if old is not None:
            old.after_fork()  # releases our slot files in the old directory


def get_store():
    global _STORE
    st = _STORE
    if st is None:
        st = _STORE = _store.Store(
            _settings["directory"] or default_directory(), _settings["capacity"], _settings["hold"]
        )
    return st


def wipe():
    """Clear the state of a previous run of this instance (the master does it once at start)."""
    global _gen
    removed = get_store().wipe()
    _gen += 1
    return removed


def _after_fork_in_child():
    global _gen
    if _STORE is not None:
        _STORE.after_fork()
    _gen += 1


at_fork_in_child(_after_fork_in_child)


# past 10000 keys, every new one is logged (as before the shared helper)
_log_once = LogOnce(_logger, limit=10000, when_full="log", exc_info=True)


# ---------------------------------------------------------------------------
# label caps


_clip = _names.clip


def tenant_label(dbname):
    """``dbname`` while fewer than ``observability_max_tenants`` tenants were seen, else ``__overflow__``.

    No database gives ``""``. The cap holds for the whole instance.
    """
    dbname = _clip(dbname)
    if not dbname:
        return ""
    try:
        admitted = get_store().admit("tenant", dbname, _settings["max_tenants"])
        if admitted:
            return dbname
        if admitted is None:
            _log_once(
                "admit-tenant-busy",
                "metrics: tenant cap lock busy; %s counted as %s this time",
                dbname,
                TENANT_OVERFLOW,
                exc_info=False,
            )
    except Exception:
        _log_once("admit-tenant", "metrics: cannot check the tenant cap")
    return TENANT_OVERFLOW


def route_label(route):
    """A route template while fewer than ``observability_max_routes`` were seen, else ``__other__``."""
    route = _clip(route)
    if not route:
        return ROUTE_OTHER
    if route.startswith("__"):
        return route
    try:
        admitted = get_store().admit("route", route, _settings["max_routes"])
        if admitted:
            return route
        if admitted is None:
            _log_once(
                "admit-route-busy",
                "metrics: route cap lock busy; %s counted as %s this time",
                route,
                ROUTE_OTHER,
                exc_info=False,
            )
    except Exception:
        _log_once("admit-route", "metrics: cannot check the route cap")
    return ROUTE_OTHER


# ---------------------------------------------------------------------------
# metrics


class _Child:
    """One series (metric + label values) of this process.

    Bound on first use (and again after a fork, a new directory or a wipe: ``_gen``) to its
    place in this process' slot; an update is then one lock and one or two float writes.
    """

    __slots__ = ("_gen", "_idx", "_lock", "_metric", "_mv", "_values")

    def __init__(self, metric, values):
        self._metric = metric
        self._values = values
        self._gen = -1
        self._mv = None
        self._idx = 0
        self._lock = None

    def _bind(self):
        st = get_store()
        gen = _gen
        self._mv, self._idx = st.bind(self._metric, self._values)
        self._lock = st.lock
        self._gen = gen

    def _fail(self):
        _log_once(("update", self._metric.name), "metrics: cannot update %s (ignored)", self._metric.name)


class CounterChild(_Child):
    __slots__ = ()

    def inc(self, amount=1.0):
        try:
            if self._gen != _gen:
                self._bind()
            if not amount >= 0:
                raise ValueError("counters only go up (got %r)" % (amount,))
            lock = self._lock
            lock.acquire()  # acquire/release: half the cost of a with statement on this path
            try:
                self._mv[self._idx] += amount
            finally:
                lock.release()
        except Exception:
            self._fail()


class GaugeChild(_Child):
    __slots__ = ()

    def _add(self, amount):
        try:
            if self._gen != _gen:
                self._bind()
            with self._lock:
                self._mv[self._idx] += amount
                if self._metric.mode == "mostrecent":
                    self._mv[self._idx + 1] = time.time()
        except Exception:
            self._fail()

    def inc(self, amount=1.0):
        self._add(amount)

    def dec(self, amount=1.0):
        self._add(-amount)

    def set(self, value):
        try:
            value = float(value)
            if self._gen != _gen:
                self._bind()
            with self._lock:
                if self._metric.mode == "max":
                    # a slot may have belonged to a dead process: keep its high-water mark
                    value = max(value, self._mv[self._idx])
                self._mv[self._idx] = value
                if self._metric.mode == "mostrecent":
                    self._mv[self._idx + 1] = time.time()
        except Exception:
            self._fail()

    @contextlib.contextmanager
    def track_inprogress(self):
        self._add(1.0)
        try:
            yield
        finally:
            self._add(-1.0)


class HistogramChild(_Child):
    __slots__ = ("_bounds", "_sum")

    def __init__(self, metric, values):
        super().__init__(metric, values)
        self._bounds = metric.buckets
        self._sum = metric._sum_offset

    def observe(self, value):
        try:
            if self._gen != _gen:
                self._bind()
            i = _bisect_left(self._bounds, value)  # before the lock: raises on a non-number
            idx = self._idx
            mv = self._mv
            lock = self._lock
            lock.acquire()
            try:
                mv[idx + i] += 1.0
                mv[idx + self._sum] += value
            finally:
                lock.release()
        except Exception:
            self._fail()

    @contextlib.contextmanager
    def time(self):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - start)


class _NullChild:
    """Returned when labels are wrong: updates are dropped (and were logged once)."""

    def _noop(self, *args, **kwargs):
        return None

    inc = dec = set = observe = _noop

    @contextlib.contextmanager
    def time(self):
        yield

    track_inprogress = time


_NULL_CHILD = _NullChild()
MAX_CHILDREN = 100000


class Group:
    """Series of counters and histograms updated together: the hot path of a request.

    ``record(values)`` adds ``values[i]`` to counter ``i`` or observes it in histogram ``i``,
    under one lock acquisition with the slot positions resolved once, instead of one
    label lookup, lock and check per metric. A ``livesum`` or ``sum`` gauge may be a member:
    its value is added as given (``-1.0``: one request less in flight). Fails open like every update.
    """

    __slots__ = ("_children", "_gen", "_mv", "_plan", "_st")

    def __init__(self, children):
        self._children = tuple(children)
        for child in self._children:
            if isinstance(child, GaugeChild) and child._metric.mode in ("livesum", "sum"):
                continue
            if not isinstance(child, CounterChild | HistogramChild):
                raise TypeError("a group holds counter, histogram and livesum or sum gauge series")
        self._gen = -1
        self._mv = None
        self._plan = ()
        self._st = None

    def _bind(self):
        st = get_store()
        gen = _gen
        plan = []
        mv = None
        for child in self._children:
            cmv, idx = st.bind(child._metric, child._values)
            metric = child._metric
            if cmv is _slot_writer.NULL.mv:
                plan.append((_DROPPED, 0, None, 0))  # dropped series (store full): its values go nowhere
                continue
            mv = cmv
            if metric.kind == "histogram":
                plan.append((_HISTOGRAM, idx, metric.buckets, idx + metric._sum_offset))
            elif metric.kind == "gauge":
                plan.append((_ADD, idx, None, 0))
            else:
                plan.append((_COUNTER, idx, None, 0))
        self._mv, self._plan, self._st = mv if mv is not None else _slot_writer.NULL.mv, tuple(plan), st
        self._gen = gen

    def record(self, values):
        try:
            if self._gen != _gen or self._st is not _STORE:
                self._bind()
            mv = self._mv
            bisect_left = _bisect_left
            with self._st.lock:
                for (kind, idx, bounds, sum_idx), value in zip(self._plan, values, strict=True):
                    if kind is _HISTOGRAM:
                        mv[idx + bisect_left(bounds, value)] += 1.0
                        mv[sum_idx] += value
                    elif kind is _COUNTER:
                        if value >= 0:
                            mv[idx] += value
                    elif kind is _ADD:
                        mv[idx] += value
        except Exception:
            _log_once(
                ("group", self._children[0]._metric.name if self._children else ""),
                "metrics: cannot update a group of series (ignored)",
            )


_DROPPED, _HISTOGRAM, _COUNTER, _ADD = "dropped", "histogram", "counter", "add"


def group(children):
    """A :class:`Group` of bound series (``metric.labels(...)`` of counters and histograms)."""
    return Group(children)


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
    global _gen
    with _registry_lock:
        for metric in _registry.values():
            metric._use_level()
    _gen += 1


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
