"""Scrape-time collection: what runs when ``/metrics`` is answered.

:class:`Family` is a metric family built at scrape time; collectors registered with
:func:`register_collector` return them (PostgreSQL, Redis, tenant databases...), each run bounded
in time and reported as ``odoo_collector_up`` / ``odoo_collector_duration_seconds``;
:func:`store_families` turns the merged store (every process' recorded series) into families;
:func:`collect` assembles one answer and counts the series it had to leave out
(``odoo_metrics_scrape_dropped_series``). Recording metrics is :mod:`.metrics` (whose names
re-export this module's public API).
"""

import logging
import threading
import time

from . import merge as _merge
from .atfork import at_fork_in_child
from .logonce import LogOnce
from .names import LABEL_RE as _LABEL_RE
from .names import NAME_RE as _NAME_RE
from .names import clip as _clip

_logger = logging.getLogger(__name__)
_collectors = {}
_build_info = {}
_log_once = LogOnce(_logger, exc_info=True)


def _after_fork_in_child():
    for state in _collectors.values():
        state.running = None  # the collector thread of the parent does not exist here


at_fork_in_child(_after_fork_in_child)

FAMILY_TYPES = ("counter", "gauge", "histogram", "untyped")
FAMILY_COMBINE = (None, "sum", "max", "min")


class Family:
    """A metric family produced at scrape time by a collector.

    ``Family("odoo_pg_up", "gauge", "PostgreSQL reachable.").add(1.0)``;
    histograms: ``Family(name, "histogram", help, ("x",), buckets=(...))`` then
    ``add_histogram(counts, sum_value, x="a")`` with non-cumulative ``counts``
    (one per bound, then +Inf).
    """

    columns = None  # a store family's series as .merge.Columns (see _StoreFamily)

    def __init__(self, name, type, help="", labelnames=(), buckets=None, combine=None):
        if combine not in FAMILY_COMBINE:
            raise ValueError("family combine must be one of %s" % (FAMILY_COMBINE,))
        if type not in FAMILY_TYPES:
            raise ValueError("family type must be one of %s" % (FAMILY_TYPES,))
        if not _NAME_RE.match(name or ""):
            raise ValueError("invalid metric name %r" % (name,))
        self.name = name
        self.type = type
        self.help = help or ""
        self.labelnames = tuple(labelnames or ())
        self.buckets = tuple(float(b) for b in (buckets or ()))
        self.samples = []  # (labelvalues, value) or (labelvalues, [counts..., sum])
        self.combine = combine
        self._at = {} if combine else None  # labelvalues -> index in samples

    def _key(self, labels):
        if set(labels) != set(self.labelnames):
            raise ValueError("%s expects labels %s, got %s" % (self.name, self.labelnames, sorted(labels)))
        return tuple(_clip(labels[n]) for n in self.labelnames)

    def add(self, value, **labels):
        """Add a sample; with ``combine``, a sample with the same labels is merged into the first
        (``sum``/``max``/``min``), e.g. every tenant beyond the cap folded into ``__overflow__``."""
        key = self._key(labels)
        value = float(value)
        if self._at is not None:
            at = self._at.get(key)
            if at is not None:
                old = self.samples[at][1]
                if self.combine == "sum":
                    value = old + value
                elif self.combine == "max":
                    value = max(old, value)
                else:
                    value = min(old, value)
                self.samples[at] = (key, value)
                return self
            self._at[key] = len(self.samples)
        self.samples.append((key, value))
        return self

    def add_histogram(self, counts, sum_value, **labels):
        counts = [float(c) for c in counts]
        if len(counts) != len(self.buckets) + 1:
            raise ValueError("%s: expected %d bucket counts" % (self.name, len(self.buckets) + 1))
        self.samples.append((self._key(labels), [*counts, float(sum_value)]))
        return self


class _StoreFamily(Family):
    """A family of the merged store as the merge left it (:class:`.merge.Columns`).

    ``columns`` lets the exposition write it without building a sample per series; ``samples``
    is built on first use, and from then on it is an ordinary family (``columns`` is None).
    """

    def __init__(self, name, type, help, labelnames, buckets, columns):
        super().__init__(name, type, help, labelnames, buckets=buckets)
        self._columns = columns
        self._samples = None

    @property
    def columns(self):
        return self._columns if self._samples is None else None

    @property
    def samples(self):
        if self._samples is None:
            self._samples = list(self._columns.items())
        return self._samples

    @samples.setter
    def samples(self, value):
        self._samples = value


class _CollectorState:
    def __init__(self, name, fn, timeout):
        self.name = name
        self.fn = fn
        self.timeout = timeout
        self.running = None
        self.last_log = 0.0


COLLECTOR_LOG_INTERVAL = 300.0


def register_collector(name, fn, timeout=5.0):
    """Run ``fn()`` (returning an iterable of :class:`Family`) on every scrape.

    Each run is bounded by ``timeout`` seconds; ``odoo_collector_up{collector}``
    and ``odoo_collector_duration_seconds{collector}`` report how it went. A
    failing or slow collector never fails the scrape.
    """
    _collectors[name] = _CollectorState(name, fn, float(timeout))


def unregister_collector(name):
    _collectors.pop(name, None)


def collectors():
    return sorted(_collectors)


def set_build_info(**labels):
    """Labels of ``odoo_build_info`` (version, release, env, region, service)."""
    _build_info.clear()
    _build_info.update({k: _clip(v) for k, v in labels.items()})


def _run_collectors():
    up = Family("odoo_collector_up", "gauge", "1 when the scrape-time collector succeeded.", ("collector",))
    took = Family(
        "odoo_collector_duration_seconds", "gauge", "Time the scrape-time collector took.", ("collector",)
    )
    down = Family(
        "odoo_collector_down_reason",
        "gauge",
        "1 for the reason a scrape-time collector reports down (or partial).",
        ("collector", "reason"),
    )
    states = [_collectors[n] for n in sorted(_collectors)]
    jobs = []
    for state in states:
        if state.running is not None and state.running.is_alive():
            jobs.append((state, None, {"error": "previous run still running", "reason": "still_running"}))
            continue
        box = {"start": time.perf_counter()}

        def target(state, box):
            try:
                box["result"] = [f for f in (state.fn() or ()) if isinstance(f, Family)]
            except Exception as exc:  # reported as collector_up 0
                box["error"] = exc
                # a collector whose dependency is down still reports what it has (e.g. odoo_pg_up 0)
                box["partial"] = [f for f in getattr(exc, "families", ()) or () if isinstance(f, Family)]
            box["end"] = time.perf_counter()

        thread = threading.Thread(
            target=target, args=(state, box), name="metrics-collector-%s" % state.name, daemon=True
        )
        state.running = thread
        thread.start()
        jobs.append((state, thread, box))
    families = []
    deadline = time.perf_counter()
    for state, thread, box in jobs:
        if thread is not None:
            thread.join(max(0.0, box["start"] + state.timeout - time.perf_counter()))
        ok = thread is not None and not thread.is_alive() and "result" in box
        elapsed = box.get("end", time.perf_counter()) - box.get("start", deadline)
        if ok:
            families.extend(_unique(box["result"], state.name))
        else:
            families.extend(_unique(box.get("partial", ()), state.name))
            reason = box.get("error") or "timed out after %ss" % state.timeout
            token = box.get("reason") or getattr(box.get("error"), "reason", None)
            if not isinstance(token, str) or not _LABEL_RE.match(token):
                token = "error" if "error" in box else "timeout"
            down.add(1.0, collector=state.name, reason=token[:40])
            now = time.time()
            if now - state.last_log > COLLECTOR_LOG_INTERVAL:
                state.last_log = now
                _logger.warning("metrics collector %s failed: %s", state.name, reason)
        up.add(1.0 if ok else 0.0, collector=state.name)
        took.add(max(0.0, elapsed), collector=state.name)
    if states:
        families.extend([up, took, down])
    return families


DROP_LOG_INTERVAL = 300.0
_drop_log = {}
_scrape = threading.local()  # .drops: {reason: count} of the answer being built in this thread


def _dropped(reason, count, where):
    """Count series left out of this answer; one log line per reason and interval."""
    drops = getattr(_scrape, "drops", None)
    if drops is not None:
        drops[reason] = drops.get(reason, 0) + count
    now = time.monotonic()
    if now - _drop_log.get(reason, -DROP_LOG_INTERVAL) >= DROP_LOG_INTERVAL:
        _drop_log[reason] = now
        _logger.warning("metrics: %s series left out of /metrics (%s, %s)", count, reason, where)


def _unique(families, collector):
    """Families whose series are unique (Prometheus rejects a scrape with duplicates)."""
    for fam in families:
        seen = set()
        kept = []
        for sample in fam.samples:
            if sample[0] in seen:
                continue
            seen.add(sample[0])
            kept.append(sample)
        if len(kept) != len(fam.samples):
            where = "%s from collector %s" % (fam.name, collector)
            _dropped("duplicate", len(fam.samples) - len(kept), where)
            fam.samples = kept
        yield fam


def store_families(store):
    """Families of every metric recorded in any process of the instance (``store``: :class:`.store.Store`)."""
    result = store.merge()
    merged = result.merged
    for reason, count in sorted(result.dropped.items()):
        _dropped(reason, count, "metrics store %s" % store.directory)
    families = []
    written = Family(
        "odoo_metrics_dropped_series_total",
        "counter",
        "Series the metric store could not take (store_full: slot capacity, no_space: disk).",
        ("reason",),
    )
    for reason, count in sorted(result.write_drops.items()):
        written.add(count, reason=reason)
    families.append(written)
    for name in sorted(merged):
        meta, series = merged[name]
        kind, help_, labelnames, buckets = meta[2], meta[3], meta[4], meta[5]
        buckets = buckets if kind == "histogram" else None
        try:
            if isinstance(series, _merge.Columns):  # summed: floats (lists for histograms)
                fam = _StoreFamily(name, kind, help_, labelnames, buckets, series)
            else:
                fam = Family(name, kind, help_, labelnames, buckets=buckets)
                fam.samples = [(lv, vals[0]) for lv, vals in series.items()]
        except ValueError:
            _dropped("bad_series", len(series), "metric %r" % name[:100])
            continue
        families.append(fam)
    return families


def collect(get_store, run_collectors=True):
    """Every family to expose: build info, the store (``get_store()``), then scrape-time collectors."""
    families = []
    if _build_info:
        names = sorted(_build_info)
        fam = Family("odoo_build_info", "gauge", "Odoo build and deployment taxonomy (always 1).", names)
        fam.add(1.0, **_build_info)
        families.append(fam)
    drops = _scrape.drops = {}
    try:
        families.extend(store_families(get_store()))
    except Exception:
        _log_once("read-store", "metrics: cannot read the metrics store")
    if run_collectors:
        families.extend(_run_collectors())
    scrape = Family(
        "odoo_metrics_scrape_dropped_series",
        "gauge",
        "Series left out of this answer because they could not be exposed.",
        ("reason",),
    )
    _scrape.drops = None
    for reason, count in sorted(drops.items()):
        scrape.add(count, reason=reason)
    families.append(scrape)
    return families
