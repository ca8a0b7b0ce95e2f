"""OpenMetrics exemplars (``trace_id``, value, timestamp) of histogram buckets, shared by every process.

One fixed-size file per metrics directory, ``exemplars.bin``, mapped by every process of the
instance: a 2-way set-associative table of :data:`ENTRIES` entries of 7 words (metric name hash,
series hash, bucket index, value, timestamp, trace id high and low 64 bits). A series' bucket has
one entry; the latest observation wins (an older one never overwrites a newer one); when both
ways of a set are taken by other buckets, the older is evicted. Writers and readers lock the file
(POSIX record lock, per process, plus a thread lock), so a reader never sees half an entry. The
file's disk space is reserved when it is created, so a full disk disables exemplars (one log
line) rather than faulting on a page. Size is fixed: memory and disk stay bounded whatever the
number of series.

Writes are skipped while they are not useful: a process notes when it last wrote each bucket of a
series (:class:`Series`) and leaves a bucket whose exemplar it wrote less than :data:`FRESH` seconds
ago as it is (no lock, no table access). Each bucket's exemplar is then at most a few seconds
older than the bucket's latest observation, still the trace id of a run that landed there, which
is what Prometheus (one exemplar per scrape) and Grafana use; :func:`record` always writes.

Exemplars are a hint linking a slow bucket to the log line of one run; recording never raises.
"""

import contextlib
import fcntl
import hashlib
import logging
import mmap
import os
import struct
import threading
import time
from bisect import bisect_left

from . import context, detail, metrics, names
from . import series as _values
from .atfork import at_fork_in_child
from .logonce import LogOnce

_logger = logging.getLogger(__name__)

MAGIC = 0x4F42455845303031  # "OBEXE001"
ENTRIES = 1 << 14  # 16384 bucket exemplars, 900 KiB: a scrape reads the table in about a millisecond
_ENTRY = struct.Struct("<QQqddQQ")  # name hash, series hash, bucket, value, timestamp, trace hi, lo
_HEADER = 64
SIZE = _HEADER + ENTRIES * _ENTRY.size
FILENAME = "exemplars.bin"
_SETS = ENTRIES // 2
_GOLDEN = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1

#: Seconds during which a bucket's exemplar written by this process is kept (not rewritten).
FRESH = 2.0
_NEVER = float("-inf")
_monotonic = time.monotonic

_state = {"directory": None, "map": None, "fd": None, "failed": None}
_series = {}  # (name, label values) -> Series, bounded
detail.on_change(_series.clear)  # buckets and exposed label values follow the level
_KEYS_MAX = 100000
_epoch = [0]  # bumped by clear(): the notes of every Series are forgotten
_lock = threading.Lock()
_log_once = LogOnce(_logger, limit=100)


def _hash(text):
    value = int.from_bytes(
        hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little"
    )
    return value or 1  # 0 marks a free entry


def name_key(name):
    return _hash(name)


def series_key(name, labelvalues):
    return _hash(name + "\x00" + "\x00".join(labelvalues))


def _reset():
    mm, fd = _state["map"], _state["fd"]
    _state.update(directory=None, map=None, fd=None, failed=None)
    with contextlib.suppress(OSError, ValueError):
        if mm is not None:
            mm.close()
    with contextlib.suppress(OSError):
        if fd is not None:
            os.close(fd)


def _open(directory):
    """The table mapped for ``directory`` (created on first use), or None when it cannot be."""
    if _state["directory"] == directory:
        return _state["map"]
    _reset()
    _state["directory"] = directory
    path = os.path.join(directory, FILENAME)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
            try:
                if os.fstat(fd).st_size < SIZE:
                    os.posix_fallocate(fd, 0, SIZE)  # disk space first: no SIGBUS on a full disk
                    os.pwrite(fd, struct.pack("<QQ", MAGIC, ENTRIES), 0)
                elif struct.unpack("<QQ", os.pread(fd, 16, 0)) != (MAGIC, ENTRIES):
                    raise OSError("%s is not an exemplar table of this version" % path)
            finally:
                fcntl.lockf(fd, fcntl.LOCK_UN)
            mm = mmap.mmap(fd, SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(fd)
            raise
    except OSError as exc:
        _state["failed"] = str(exc)
        _log_once(("open", directory), "metrics: exemplars disabled for %s: %s", directory, exc)
        return None
    _state.update(map=mm, fd=fd)
    return mm


def _after_fork_in_child():
    global _lock
    _lock = threading.Lock()  # the parent's may have been held by another thread at fork time


at_fork_in_child(_after_fork_in_child)


def _set_of(skey, bucket):
    return ((skey + (bucket + 1) * _GOLDEN) & _MASK) % _SETS * 2


def _write(directory, nkey, skey, bucket, value, trace_id, when):
    """Write one bucket's exemplar under the locks; False when a later one is there or no table."""
    hi, lo = int(trace_id[:16], 16), int(trace_id[16:], 16)
    first = _set_of(skey, bucket)
    with _lock:
        mm = _open(directory)
        if mm is None:
            return False
        fd = _state["fd"]
        fcntl.lockf(fd, fcntl.LOCK_EX)
        try:
            ways = [(first + w, _ENTRY.unpack_from(mm, _HEADER + (first + w) * _ENTRY.size)) for w in (0, 1)]
            mine = [(i, e) for i, e in ways if e[0] == nkey and e[1] == skey and e[2] == bucket]
            if mine:
                index, entry = mine[0]
                if entry[4] > when:
                    return False  # a later exemplar is already there
            else:
                index, entry = min(ways, key=lambda w: w[1][4])  # free (0) or the oldest
            _ENTRY.pack_into(mm, _HEADER + index * _ENTRY.size, nkey, skey, bucket, value, when, hi, lo)
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN)
    return True


def _trace_of(trace_id):
    if trace_id is None:
        trace_id = context.trace_id()
    if not trace_id or len(trace_id) != 32:
        return None
    return trace_id


def record(directory, name, labelvalues, buckets, value, trace_id=None, when=None):
    """Remember ``trace_id`` as the exemplar of the bucket of ``value`` (the request's trace by default).

    ``buckets`` are the histogram's finite upper bounds; a value above them lands in +Inf.
    Always writes (unless a later exemplar is there): :meth:`Series.observe` skips fresh buckets.
    """
    try:
        trace_id = _trace_of(trace_id)
        if trace_id is None:
            return False
        value = float(value)
        when = time.time() if when is None else float(when)
        bucket = bisect_left(buckets, value)
        nkey, skey = name_key(name), series_key(name, tuple(labelvalues))
        return _write(directory, nkey, skey, bucket, value, trace_id, when)
    except Exception as exc:  # never fails the observed operation
        _log_once(("record", type(exc).__name__), "metrics: cannot record an exemplar: %s", exc)
        return False


class Series:
    """The exemplars of one histogram series as this process writes them: its table keys computed
    once, and when this process last wrote each of its buckets (:func:`time.monotonic`).

    :meth:`observe` writes a bucket's exemplar only when this process has not written it in the
    last :data:`FRESH` seconds; the notes are forgotten when the store is re-pointed, wiped or
    forked (``series._gen``) and when the table is cleared, so a new table gets its exemplars at once.
    """

    __slots__ = ("_buckets", "_directory", "_epoch", "_gen", "_nkey", "_skey", "_written")

    def __init__(self, name, labelvalues, buckets):
        self._buckets = tuple(buckets)
        self._nkey = name_key(name)
        self._skey = series_key(name, tuple(labelvalues))
        self._written = [_NEVER] * (len(self._buckets) + 1)
        self._directory = None
        self._gen = self._epoch = None

    def fresh(self, bucket, now, directory=None):
        """True when this process wrote ``bucket``'s exemplar less than :data:`FRESH` s before ``now``."""
        if self._gen != _values._gen or self._epoch != _epoch[0]:
            self._written = [_NEVER] * (len(self._buckets) + 1)
            self._gen, self._epoch = _values._gen, _epoch[0]
            return False
        if directory is not None and directory != self._directory:
            return False
        return now - self._written[bucket] < FRESH

    def observe(self, value, trace_id=None, directory=None):
        """Record ``trace_id`` (the request's by default) as the exemplar of ``value``'s bucket, unless
        this process wrote that bucket's exemplar less than :data:`FRESH` seconds ago. True when written."""
        try:
            bucket = bisect_left(self._buckets, value)
            now = _monotonic()
            if (
                now - self._written[bucket] < FRESH  # the common case first: one comparison
                and self._gen == _values._gen
                and self._epoch == _epoch[0]
                and (directory is None or directory == self._directory)
            ):
                return False
            if self.fresh(bucket, now, directory):
                return False
            trace_id = _trace_of(trace_id)
            if trace_id is None:
                return False
            if directory is None:
                directory = metrics.get_store().directory
            self._directory = directory
            self._written[bucket] = now
            return _write(directory, self._nkey, self._skey, bucket, float(value), trace_id, time.time())
        except Exception as exc:  # never fails the observed operation
            _log_once(("record", type(exc).__name__), "metrics: cannot record an exemplar: %s", exc)
            return False


def series(metric, labelvalues):
    """The :class:`Series` of ``metric`` and these label values as the store keeps them (shared)."""
    labelvalues = metric.exposed(tuple(names.clip(v) for v in labelvalues))  # clipped, detail level
    key = (metric.name, labelvalues)
    found = _series.get(key)
    if found is None:
        found = Series(metric.name, labelvalues, metric.buckets)
        if len(_series) < _KEYS_MAX:
            found = _series.setdefault(key, found)
    return found


def observe(metric, labelvalues, value, trace_id=None, directory=None):
    """Record an exemplar for ``metric`` (a :mod:`.metrics` histogram) and these label values.

    Call it next to ``metric.labels(*labelvalues).observe(value)``, with the same (capped) values.
    A bucket whose exemplar this process wrote less than :data:`FRESH` seconds ago is left as it is.
    """
    try:
        found = series(metric, labelvalues)
    except Exception as exc:  # never fails the observed operation
        _log_once(("record", type(exc).__name__), "metrics: cannot record an exemplar: %s", exc)
        return False
    return found.observe(value, trace_id, directory)


def snapshot(directory):
    """``{name hash: {(series hash, bucket): (trace_id, value, timestamp)}}`` of every entry."""
    with _lock:
        mm = _open(directory)
        if mm is None:
            return {}
        fd = _state["fd"]
        fcntl.lockf(fd, fcntl.LOCK_SH)
        try:
            data = mm[_HEADER:SIZE]
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN)
    out = {}
    words = memoryview(data).cast("Q")
    width = _ENTRY.size // 8
    for start in range(0, len(words), width):
        if words[start]:  # taken entries only
            nkey, skey, bucket, value, when, hi, lo = _ENTRY.unpack_from(data, start * 8)
            out.setdefault(nkey, {})[(skey, bucket)] = ("%016x%016x" % (hi, lo), value, when)
    return out


def clear(directory):
    """Forget every exemplar of ``directory`` (a new run of the instance).

    The table is unlinked, not zeroed: zeroing would allocate the whole table at the master's
    start, before any worker has reserved space for its metric slots (on a nearly full disk the
    optional table would starve the counters), and a process still mapping the old table keeps
    a valid mapping (no SIGBUS). The next recording creates a fresh table.
    """
    with _lock:
        _epoch[0] += 1
        if _state["directory"] == directory:
            _reset()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(directory, FILENAME))
