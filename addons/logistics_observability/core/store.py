"""Multi-process metric store: one *slot* per live process, shared through files.

Layout of a metrics directory (one per Odoo instance)::

    slot-N.lock    held with flock(LOCK_EX) by the process owning slot N
    slot-N.keys    append-only records: u32 length + JSON array whose first item is a tag:
                   ["M", name, kind, help, labelnames, buckets, mode(, options)]  metric description
                   ["S", name, labelvalues(, born)]                              one series
                   any other tag: skipped by readers (room for later record types)
    slot-N.values  mmap: 64-byte header, then float64 values; each series owns the
                   ``width`` consecutive values after the previous one
    labels-KIND    admitted label values (tenant / route caps, see :mod:`.labelcaps`)

Header words: 0 magic (u64), 1 committed bytes of slot-N.keys (u64), 2 series
dropped because the slot is full, 3 series dropped because the disk is full or
a write failed (float64 counters), 4-7 reserved (zero).

``born`` (Unix seconds) is when the series was first written in this slot: a counter or
histogram younger than the store's ``hold`` reads 0 in every scrape (see :mod:`.merge`), so
Prometheus has a 0 sample before its first increment. Records without it are old series.

The ``options`` dict of an ``M`` record may carry ``"extra": n``: every series
of that metric then owns ``n`` more values after its own (reserved for per-series
data such as exemplars); readers skip them, so older readers stay correct.

A process claims the lowest slot whose lock is free, lazily, on its first
update, and keeps the lock until it dies (the kernel releases it on SIGKILL or
OOM kill). A writer appends a record, checks it was written whole, zeroes its
values, *then* publishes the new length of the keys file in the header, so a
reader never sees a torn series. A process taking over a dead slot walks its
published records (with the same :class:`Layout` as the readers), drops any
unpublished tail and keeps adding to the counters it finds: nothing recorded
by a dead process is lost and the number of files is bounded by the number of
processes alive at the same time, not by how many ever lived.

Disk space of the values file is reserved (``posix_fallocate``) before a page is
written through the mmap, so a full filesystem means "series dropped and
counted", never SIGBUS. How values of several slots combine is in :mod:`.merge`.
"""

import contextlib
import errno
import fcntl
import json
import logging
import math
import mmap
import os
import re
import struct
import threading
import time

from . import labelcaps, turns
from .merge import GAUGE_MODES, Merger, Summed, width_of

_logger = logging.getLogger(__name__)

__all__ = ["GAUGE_MODES", "Layout", "Store", "StoreFull", "width_of"]

MAGIC = 0x4F424D5354303031  # "OBMST001"
HEADER_FLOATS = 8  # 64 bytes
H_DROPPED_FULL = 2
H_DROPPED_SPACE = 3
DEFAULT_CAPACITY = 1 << 20  # float64 values per slot (8 MiB address space, reserved as used)
RESERVE_CHUNK = 8192  # values reserved on disk at a time (64 KiB)
MAX_SLOTS = 4096
CLAIM_RETRY = 10.0  # seconds before a process retries a slot it could not set up
KINDS = ("counter", "gauge", "histogram")
_SLOT_RE = re.compile(r"^slot-(\d+)\.values$")
_HEAD = struct.Struct("<I")


class StoreFull(Exception):
    pass


class StoreUnavailable(Exception):
    pass


class _Null:
    """Sink used when the store cannot take a series: updates go nowhere."""

    def __init__(self):
        self.mv = memoryview(bytearray(8 * 64)).cast("d")


_NULL = _Null()


# -- records -----------------------------------------------------------------


def _record(obj):
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return _HEAD.pack(len(raw)) + raw


def _split(data):
    """Raw JSON of the complete records at the start of ``data``."""
    pos = 0
    end = len(data)
    parts = []
    while pos + 4 <= end:
        (length,) = _HEAD.unpack_from(data, pos)
        if pos + 4 + length > end:
            break
        parts.append(data[pos + 4 : pos + 4 + length])
        pos += 4 + length
    return parts


def _decode(parts):
    """Decoded records, in one JSON call; on damage, the records before the first bad one."""
    if not parts:
        return []
    try:
        return json.loads(b"[" + b",".join(parts) + b"]")
    except ValueError:
        out = []
        for raw in parts:
            try:
                out.append(json.loads(raw))
            except ValueError:
                break
        return out


def _valid_meta(rec):
    if len(rec) < 7:
        return None
    _tag, name, kind, help_, labelnames, buckets, mode = rec[:7]
    if (
        not isinstance(name, str)
        or kind not in KINDS
        or not isinstance(help_, str)
        or not isinstance(labelnames, list)
        or not all(isinstance(n, str) for n in labelnames)
        or not isinstance(buckets, list)
        or not isinstance(mode, str)
        or not all(isinstance(b, int | float) for b in buckets)
    ):
        return None
    options = rec[7] if len(rec) > 7 and isinstance(rec[7], dict) else {}
    extra = options.get("extra", 0)
    if not isinstance(extra, int) or not 0 <= extra <= 4096:
        return None
    return width_of(kind, buckets, mode) + extra


_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _exposable(rec):
    """A metric description whose name and label names Prometheus accepts."""
    return bool(_NAME_RE.match(rec[1])) and all(_LABEL_RE.match(n) and n != "le" for n in rec[4])


def _valid_labels(values, count):
    if count is None or not isinstance(values, list) or len(values) != count:
        return None
    try:
        for v in values:
            v.encode("utf-8")  # lone surrogates cannot be exposed
    except (AttributeError, UnicodeError):
        return None
    return tuple(values)


class Layout:
    """Where each published series of one slot lives: the one walker of a keys file.

    ``entries`` are ``(name, labelvalues, first index)``; labelvalues is ``None``
    for a series that cannot be exposed (it keeps its place so later series stay
    aligned). ``born[i]`` is when entry ``i`` was written (0.0 when unknown).
    ``broken`` is set when a record cannot be decoded: nothing after it is trusted.
    """

    __slots__ = ("born", "broken", "entries", "labels", "metas", "offset", "used", "widths")

    def __init__(self):
        self.metas = {}
        self.widths = {}
        self.labels = {}  # name -> number of labels, None when the metric cannot be exposed
        self.entries = []
        self.born = []
        self.used = HEADER_FLOATS
        self.offset = 0  # bytes of the keys file walked
        self.broken = False

    def feed(self, data):
        """Walk the complete records of ``data`` (the keys file from ``offset`` on)."""
        if self.broken:
            return
        parts = _split(data)
        records = _decode(parts)
        for raw, rec in zip(parts, records, strict=False):
            if not self._apply(rec):
                self.broken = True
                return
            self.offset += 4 + len(raw)
        if len(records) < len(parts):
            self.broken = True

    def _apply(self, rec):
        if not isinstance(rec, list) or not rec:
            return False
        tag = rec[0]
        if tag == "S":
            if len(rec) < 3 or rec[1] not in self.widths:
                return False
            name = rec[1]
            self.entries.append((name, _valid_labels(rec[2], self.labels[name]), self.used))
            born = rec[3] if len(rec) > 3 else 0.0
            self.born.append(float(born) if isinstance(born, int | float) and math.isfinite(born) else 0.0)
            self.used += self.widths[name]
        elif tag == "M":
            width = _valid_meta(rec)
            if width is None or not isinstance(rec[1], str):
                return False
            if rec[1] in self.metas:
                return self.metas[rec[1]][:7] == rec[:7]
            self.metas[rec[1]] = rec
            self.widths[rec[1]] = width
            self.labels[rec[1]] = len(rec[4]) if _exposable(rec) else None
        return True  # other tags: later record types, nothing to place


def _read_range(fd, start, end):
    chunks = []
    pos = start
    while pos < end:
        chunk = os.pread(fd, min(end - pos, 1 << 20), pos)
        if not chunk:
            break
        chunks.append(chunk)
        pos += len(chunk)
    return b"".join(chunks)


def _try_lock(path, flags):
    """Open ``path`` and flock it; returns the fd or None when someone else holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, flags | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return None
        raise
    return fd


# -- writer --------------------------------------------------------------------


class _Owned:
    """The slot this process writes to."""

    def __init__(self, directory, number, lock_fd, capacity):
        self.number = number
        self.lock_fd = lock_fd
        self.capacity = capacity
        self.limit = HEADER_FLOATS + capacity
        self.reserved = 0
        self.map = self.mv = self.qmv = None
        base = os.path.join(directory, "slot-%d" % number)
        self.keys_fd = os.open(base + ".keys", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self.values_fd = os.open(base + ".values", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            # disk space for the header and a first chunk *before* the file grows: a reader never
            # maps a header that is a hole (reading a hole of a full tmpfs is SIGBUS too)
            self.reserve(HEADER_FLOATS + RESERVE_CHUNK)
            size = self.limit * 8
            if os.fstat(self.values_fd).st_size < size:
                os.ftruncate(self.values_fd, size)  # address space only; pages are reserved as used
            self.map = mmap.mmap(self.values_fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            self.mv = memoryview(self.map).cast("d")
            self.qmv = memoryview(self.map).cast("Q")
            self.index = {}  # (name, labelvalues) -> first value index
            self.used = HEADER_FLOATS
            self._adopt()
        except BaseException:
            self.close(keep_lock=True)
            raise

    def reserve(self, floats):
        """Make sure the first ``floats`` values have disk space (raises OSError when not)."""
        floats = min(floats, self.limit)
        if floats > self.reserved:
            os.posix_fallocate(self.values_fd, 0, floats * 8)
            self.reserved = floats

    def _adopt(self):
        """Take over what a previous owner left: keep published series, drop the rest."""
        if self.qmv[0] != MAGIC:
            os.ftruncate(self.keys_fd, 0)
            _zero(self.mv, 0, self.reserved)
            self.qmv[0] = MAGIC
            return
        committed = self.qmv[1]
        layout = Layout()
        layout.feed(_read_range(self.keys_fd, 0, committed))
        if layout.used > self.limit:
            raise StoreFull("slot %d is larger than this process' capacity" % self.number)
        self.reserve(layout.used)  # already allocated by the previous owner: works on a full disk too
        if layout.offset != committed:  # damaged tail: keep what could be walked
            self.qmv[1] = layout.offset
        os.ftruncate(self.keys_fd, layout.offset)
        for name, lv, idx in layout.entries:
            meta = layout.metas[name]
            if lv is not None:
                self.index[(name, lv)] = idx
            if meta[2] == "gauge" and meta[6] in ("livesum", "livemax"):
                _zero(self.mv, idx, idx + layout.widths[name])
        self.described = set(layout.metas)
        self.used = layout.used

    described = frozenset()

    def allocate(self, metric, labelvalues):
        """Index of a new series, or None when it cannot be stored (counted); caller holds the lock."""
        width = metric.width
        end = self.used + width
        if end > self.limit:
            self.mv[H_DROPPED_FULL] += 1
            raise StoreFull(metric.name)
        try:
            self.reserve(end + RESERVE_CHUNK)
        except OSError:
            try:
                self.reserve(end)
            except OSError:
                self.mv[H_DROPPED_SPACE] += 1
                raise
        payload = b""
        if metric.name not in self.described:
            payload += _record(
                [
                    "M",
                    metric.name,
                    metric.kind,
                    metric.help,
                    list(metric.labelnames),
                    list(metric.buckets),
                    metric.mode,
                ]
            )
        payload += _record(["S", metric.name, list(labelvalues), round(time.time(), 3)])
        committed = self.qmv[1]
        try:
            written = os.pwrite(self.keys_fd, payload, committed)
        except OSError:
            written = -1
        if written != len(payload):  # unpublished: readers never see it, takeover cuts it
            self.mv[H_DROPPED_SPACE] += 1
            raise OSError(errno.ENOSPC, "cannot write the keys of %s" % metric.name)
        idx = self.used
        _zero(self.mv, idx, end)
        self.used = end
        if metric.name not in self.described:
            self.described = self.described | {metric.name}
        self.index[(metric.name, labelvalues)] = idx
        self.qmv[1] = committed + len(payload)  # publish
        return idx

    def close(self, keep_lock=False):
        for obj in (self.mv, self.qmv, self.map):
            if obj is not None:
                with contextlib.suppress(BufferError, ValueError, OSError):
                    obj.release() if isinstance(obj, memoryview) else obj.close()
        fds = [self.keys_fd, self.values_fd] + ([] if keep_lock else [self.lock_fd])
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


# -- reader --------------------------------------------------------------------


class _SlotReader:
    """Cached view of another (or our own) slot, for scrapes (callers serialise ``refresh``)."""

    def __init__(self, directory, number):
        self.number = number
        self.path = os.path.join(directory, "slot-%d" % number)
        self.map = None
        self.mv = None
        self.qmv = None
        self.ino = None
        self.seen = 0
        self.layout = Layout()
        self.plan = None  # merge.Summed's plan for this slot

    def refresh(self):
        """False when the slot holds nothing to read yet."""
        st = os.stat(self.path + ".values")
        if st.st_size < HEADER_FLOATS * 8:
            return False  # being created
        if self.map is None or st.st_ino != self.ino or st.st_size != len(self.map):
            self._reset()
            fd = os.open(self.path + ".values", os.O_RDONLY | os.O_CLOEXEC)
            try:
                self.map = mmap.mmap(fd, st.st_size, mmap.MAP_SHARED, mmap.PROT_READ)
            finally:
                os.close(fd)
            self.ino = st.st_ino
            self.mv = memoryview(self.map).cast("d")
            self.qmv = memoryview(self.map).cast("Q")
        if self.qmv[0] != MAGIC:
            return False
        committed = self.qmv[1]
        layout = self.layout
        if committed < layout.offset or (layout.broken and committed != self.seen):
            layout = self.layout = Layout()  # slot re-initialised, or its damaged tail cut by a new owner
        if committed > layout.offset and not layout.broken:
            fd = os.open(self.path + ".keys", os.O_RDONLY | os.O_CLOEXEC)
            try:
                layout.feed(_read_range(fd, layout.offset, committed))
            finally:
                os.close(fd)
        self.seen = committed
        if layout.used > len(self.mv):
            raise ValueError("slot %d: series beyond the values file" % self.number)
        return True

    def _reset(self):
        for obj in (self.mv, self.qmv):
            if obj is not None:
                obj.release()
        if self.map is not None:
            self.map.close()
        self.map = self.mv = self.qmv = None
        self.layout = Layout()
        self.plan = None

    def values(self):
        return self.mv[: self.layout.used].tolist()


class MergeResult:
    """What :meth:`Store.merge` read: series, live slot files, drops by reason."""

    def __init__(self, merger, slots, write_drops):
        self.merged = merger.merged
        self.dropped = merger.dropped
        self.slots = slots
        self.write_drops = write_drops  # {"store_full": n, "no_space": n} over every slot


class Store:
    """Per-process handle on a metrics directory."""

    def __init__(self, directory, capacity=DEFAULT_CAPACITY, hold=0.0):
        self.directory = directory
        self.capacity = capacity
        self.hold = hold  # seconds a new counter or histogram series reads 0 (see merge.Summed.hide_young)
        self.lock = threading.Lock()
        self.reads = turns.Turns()  # scrapes take turns at merging (the readers' caches stay exact)
        self.gen = 0
        self.owned = None
        self.readers = {}
        self.summed = Summed()
        self.caps = labelcaps.LabelCaps(directory)
        self._logged = set()
        self._retry_at = 0.0
        self._unavailable = None

    def _log_once(self, key, level, msg, *args):
        if key not in self._logged:
            self._logged.add(key)
            _logger.log(level, msg, *args)

    # -- writer side -------------------------------------------------------
    def claim(self):
        """The slot of this process, claimed on first use (caller holds ``lock``)."""
        if self.owned is not None:
            return self.owned
        if self._unavailable is not None and time.monotonic() < self._retry_at:
            raise StoreUnavailable(self._unavailable)
        try:
            self.owned = self._claim()
            self._unavailable = None
        except Exception as exc:
            self._unavailable = "%s: %s" % (type(exc).__name__, exc)
            self._retry_at = time.monotonic() + CLAIM_RETRY
            self._log_once(
                ("claim", self._unavailable),
                logging.ERROR,
                "metrics store in %s unusable in this process (%s): updates are dropped, " "Odoo goes on",
                self.directory,
                self._unavailable,
            )
            raise
        return self.owned

    def _claim(self):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        for number in range(MAX_SLOTS):
            fd = _try_lock(os.path.join(self.directory, "slot-%d.lock" % number), fcntl.LOCK_EX)
            if fd is None:
                continue
            try:
                return _Owned(self.directory, number, fd, self.capacity)
            except Exception:
                os.close(fd)
                raise
        raise StoreFull("no free slot in %s" % self.directory)

    def bind(self, metric, labelvalues):
        """(memoryview, index) where the series lives in this process' slot.

        A new series is written with the siblings its metric declares (``metric.siblings``:
        the other outcomes of the same tenant and workflow), all at 0, so the first increment
        of a sibling is an increase Prometheus sees.
        """
        with self.lock:
            owned = self.claim()
            idx = owned.index.get((metric.name, labelvalues))
            if idx is None:
                try:
                    idx = owned.allocate(metric, labelvalues)
                    siblings = getattr(metric, "siblings", None)
                    if siblings is not None:
                        with contextlib.suppress(StoreFull, OSError):  # counted as dropped
                            for values in siblings(labelvalues):
                                if (metric.name, values) not in owned.index:
                                    owned.allocate(metric, values)
                except StoreFull:
                    self._log_once(
                        "full",
                        logging.ERROR,
                        "metrics store full (%s values per process): new series are dropped "
                        "and counted in odoo_metrics_dropped_series_total",
                        self.capacity,
                    )
                    return _NULL.mv, 0
                except OSError as exc:
                    self._log_once(
                        "space",
                        logging.ERROR,
                        "metrics store in %s: no space for new series (%s); they are dropped "
                        "and counted in odoo_metrics_dropped_series_total",
                        self.directory,
                        exc,
                    )
                    return _NULL.mv, 0
            return owned.mv, idx

    def after_fork(self):
        """In a forked child: forget the parent's slot (never write to it)."""
        self.lock = threading.Lock()
        self.reads = turns.Turns()
        self.caps.after_fork()
        if self.owned is not None:
            owned, self.owned = self.owned, None
            owned.close()  # closes only our copies; the parent keeps its lock
        for reader in self.readers.values():
            reader._reset()
        self.readers = {}
        self.summed = Summed()
        self.gen += 1

    def wipe(self):
        """Remove the state of a previous run (slots no live process holds, label caps)."""
        with self.lock, self.reads.lock:
            if self.owned is not None:
                self.owned.close()
                self.owned = None
            for reader in self.readers.values():
                reader._reset()
            self.readers = {}
            self.summed = Summed()
            self.reads.last = None
            self.caps.clear()
            self.gen += 1
            if not os.path.isdir(self.directory):
                os.makedirs(self.directory, mode=0o700, exist_ok=True)
                return 0
            removed = 0
            for name in os.listdir(self.directory):
                path = os.path.join(self.directory, name)
                match = _SLOT_RE.match(name)
                if match:
                    lock_path = os.path.join(self.directory, "slot-%s.lock" % match.group(1))
                    fd = _try_lock(lock_path, fcntl.LOCK_EX)
                    if fd is None:
                        continue  # a live process owns it
                    try:
                        for ext in (".values", ".keys"):
                            _unlink(lock_path[:-5] + ext)
                        removed += 1
                    finally:
                        os.close(fd)
                elif name.startswith("labels-"):
                    _unlink(path)
            return removed

    # -- label caps ------------------------------------------------------
    def admit(self, kind, value, cap):
        """See :meth:`.labelcaps.LabelCaps.admit` (None: the lock was busy, use the overflow value)."""
        return self.caps.admit(kind, value, cap)

    # -- reader side -------------------------------------------------------
    def slot_numbers(self):
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        numbers = []
        for name in names:
            match = _SLOT_RE.match(name)
            if match:
                numbers.append(int(match.group(1)))
        return sorted(numbers)

    def is_live(self, number):
        owned = self.owned
        if owned is not None and owned.number == number:
            return True
        try:
            fd = _try_lock(os.path.join(self.directory, "slot-%d.lock" % number), fcntl.LOCK_SH)
        except OSError:
            return False
        if fd is None:
            return True
        os.close(fd)
        return False

    def merge(self):
        """Every slot merged (a :class:`MergeResult`, read-only); concurrent callers take turns.

        Three concurrent scrapers cost about one merge, not three (:class:`.turns.Turns`).
        """
        return self.reads.run(self._merge)

    def _merge(self):
        merger = Merger()
        summed = self.summed
        acc = None
        slow = []
        slots = 0
        write_drops = {"store_full": 0.0, "no_space": 0.0}
        now_numbers = self.slot_numbers()
        included = []
        for stale in set(self.readers) - set(now_numbers):
            self.readers.pop(stale)._reset()
            summed.partial = True
        for number in now_numbers:
            reader = self.readers.get(number)
            if reader is None:
                reader = self.readers[number] = _SlotReader(self.directory, number)
            try:
                if not reader.refresh():
                    continue
                vals = reader.values()
            except FileNotFoundError:
                continue  # wiped meanwhile
            except Exception as exc:
                self._log_once(
                    ("slot", number, type(exc).__name__),
                    logging.ERROR,
                    "metrics store: slot %s of %s unreadable (%s); left out of scrapes",
                    number,
                    self.directory,
                    exc,
                )
                merger.drop("bad_slot")
                if reader.plan is not None:
                    self.summed.partial = True
                reader._reset()
                continue
            slots += 1
            layout = reader.layout
            if layout.broken:
                self._log_once(
                    ("broken", number),
                    logging.ERROR,
                    "metrics store: slot %s of %s has a damaged record; series after it are " "left out",
                    number,
                    self.directory,
                )
                merger.drop("bad_slot")
            write_drops["store_full"] += vals[H_DROPPED_FULL]
            write_drops["no_space"] += vals[H_DROPPED_SPACE]
            plan = reader.plan = summed.plan(reader.plan, layout)
            included.append((plan, vals))
            if plan.bad:
                merger.drop("bad_series", plan.bad)
            if plan.conflicts:
                merger.drop("conflicting_definition", plan.conflicts)
            if plan.slow:
                slow.append((layout.metas, plan.slow, vals, number))
        for plan, vals in included:  # once every plan knows the whole output layout
            acc = summed.add(acc, plan, vals)
        present = None
        if summed.partial or len(included) != sum(r.plan is not None for r in self.readers.values()):
            # a slot that held series was not read this time: show only what was read
            present = set()
            for plan, _vals in included:
                present.update(plan.own)
        summed.hide_young(acc, time.time(), self.hold)
        summed.fill(merger.merged, acc, present)
        for metas, entries, vals, number in slow:
            merger.add_slot(metas, entries, vals, lambda number=number: self.is_live(number))
        return MergeResult(merger, slots, write_drops)


def _zero(mv, start, end):
    mv[start:end] = memoryview(bytes(8 * (end - start))).cast("d")


def _unlink(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
