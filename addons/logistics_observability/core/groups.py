"""Groups: series of counters and histograms updated together, the request path's hot update.

A :class:`Group` resolves its members' slot positions once per binding (a fork, a new directory
or a wipe binds again, as a child does: :mod:`.series`) and records one request's values under
one lock. Re-exported by :mod:`.metrics` (``metrics.group``, ``metrics.Group``).
"""

import bisect

from . import series as _series
from . import slot_writer as _slot_writer
from .series import CounterChild, GaugeChild, HistogramChild

_bisect_left = bisect.bisect_left


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
        st = _series.get_store()
        gen = _series._gen
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
            if self._gen != _series._gen or self._st is not _series._STORE:
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
            _series._log_once(
                ("group", self._children[0]._metric.name if self._children else ""),
                "metrics: cannot update a group of series (ignored)",
            )


_DROPPED, _HISTOGRAM, _COUNTER, _ADD = "dropped", "histogram", "counter", "add"


def group(children):
    """A :class:`Group` of bound series (``metric.labels(...)`` of counters and histograms)."""
    return Group(children)
