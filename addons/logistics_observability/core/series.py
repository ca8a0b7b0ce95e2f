"""This process's series: its handle on the store, and the bound series metrics update.

The value backend of :mod:`.metrics` (as prometheus_client's ``values.py``): which metrics
directory this process writes (:func:`configure`, :func:`get_store`, :func:`wipe`, reset in a
forked child), and the children ``metric.labels(...)`` returns (:class:`CounterChild`,
:class:`GaugeChild`, :class:`HistogramChild`, the null child of bad labels); the request path's
grouped update is :mod:`.groups`. A child binds to its place in this
process's slot on first use and again whenever ``_gen`` changes (fork, new directory, wipe);
an update is then one lock and one or two float writes.

Callers import :mod:`.metrics`, which re-exports the public names.
"""

import bisect
import contextlib
import logging
import os
import tempfile
import time

from . import slot_writer as _slot_writer
from . import store as _store
from .atfork import at_fork_in_child
from .logonce import LogOnce

# the API's logger: these messages were always "metrics: ..." of core.metrics
_logger = logging.getLogger(__name__.rpartition(".")[0] + ".metrics")
_bisect_left = bisect.bisect_left

_settings = {
    "directory": None,
    "max_tenants": 2000,
    "max_routes": 200,
    "capacity": _slot_writer.DEFAULT_CAPACITY,
    "hold": 0.0,
}
_STORE = None
_gen = 0  # bumped whenever bound series must be re-located (fork, new directory, wipe)


def default_directory():
    env = os.environ.get("ODOO_OBSERVABILITY_METRICS_DIR")
    if env:
        return env
    return os.path.join(tempfile.gettempdir(), "odoo-observability-%s-%s" % (os.getuid(), os.getpid()))


def configure(directory=None, max_tenants=None, max_routes=None, capacity=None, hold=None):
    """Point this process at a metrics directory and set the label caps.

    ``hold``: seconds a new counter or histogram series reads 0 in scrapes (0: off), so that
    Prometheus sees its first increment (see :meth:`.summing.Summed.hide_young`).
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
