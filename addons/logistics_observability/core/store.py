"""Multi-process metric store: one *slot* per live process, shared through files.

Layout of a metrics directory (one per Odoo instance)::

    slot-N.lock    held with flock(LOCK_EX) by the process owning slot N
    slot-N.keys    append-only records: u32 length + JSON
                   ["M", name, kind, help, labelnames, buckets, mode]  (metric description)
                   ["S", name, labelvalues]                            (one series)
    slot-N.values  mmap: 64-byte header (u64 magic, u64 committed bytes of slot-N.keys)
                   then float64 values; each series owns ``width`` consecutive values
    labels-KIND    admitted label values (tenant / route caps), one per line

A process claims the lowest slot whose lock is free, lazily, on its first
update, and keeps the lock until it dies (the kernel releases it on SIGKILL or
OOM kill). A writer appends a record, writes its values, *then* publishes the
new length of the keys file in the header, so a reader never sees a torn
series. A process taking over a dead slot re-reads its keys, drops any
unpublished tail and keeps adding to the counters it finds: nothing recorded
by a dead process is lost and the number of files is bounded by the number
of processes alive at the same time, not by how many ever lived.

Gauges say how values of several processes combine (``mode``):
``livesum``/``livemax`` only count live slots (reset when a slot is taken over),
``sum`` counts every slot, ``max`` is the highest value set by any process in
this run, ``mostrecent`` keeps the last value set by any process.
"""
import contextlib
import errno
import fcntl
import json
import logging
import mmap
import os
import re
import struct
import threading
import time

_logger = logging.getLogger(__name__)

MAGIC = 0x4F424D5354303031  # "OBMST001"
HEADER_FLOATS = 8  # 64 bytes
DEFAULT_CAPACITY = 1 << 20  # float64 values per slot (8 MiB, sparse)
MAX_SLOTS = 4096
_SLOT_RE = re.compile(r"^slot-(\d+)\.values$")

GAUGE_MODES = ("livesum", "livemax", "sum", "max", "mostrecent")
_LIVE_MODES = ("livesum", "livemax")


def width_of(kind, buckets, mode):
    if kind == "histogram":
        return len(buckets) + 2  # non-cumulative buckets (+Inf included), then sum
    if kind == "gauge" and mode == "mostrecent":
        return 2  # value, timestamp
    return 1


class StoreFull(Exception):
    pass


class _Null:
    """Sink used when the store cannot take a series: updates go nowhere."""

    def __init__(self):
        self.mv = memoryview(bytearray(8 * 64)).cast("d")


_NULL = _Null()


class _Owned:
    """The slot this process writes to."""

    def __init__(self, directory, number, lock_fd, capacity):
        self.number = number
        self.lock_fd = lock_fd
        base = os.path.join(directory, "slot-%d" % number)
        self.keys_fd = os.open(base + ".keys", os.O_RDWR | os.O_CREAT, 0o600)
        vfd = os.open(base + ".values", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            size = (HEADER_FLOATS + capacity) * 8
            if os.fstat(vfd).st_size < size:
                os.ftruncate(vfd, size)
            self.map = mmap.mmap(vfd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(vfd)
        self.mv = memoryview(self.map).cast("d")
        self.qmv = memoryview(self.map).cast("Q")
        self.capacity = capacity
        self.index = {}  # (name, labelvalues) -> first value index
        self.described = set()
        self.used = HEADER_FLOATS
        self._adopt()

    def _adopt(self):
        """Take over what a previous owner left: keep published series, drop the rest."""
        if self.qmv[0] != MAGIC:
            self.qmv[1] = 0
            os.ftruncate(self.keys_fd, 0)
            end = min(HEADER_FLOATS + 4096, HEADER_FLOATS + self.capacity)
            self.mv[HEADER_FLOATS:end] = memoryview(bytes(8 * (end - HEADER_FLOATS))).cast("d")
            self.qmv[0] = MAGIC
            return
        committed = self.qmv[1]
        data = _read_all(self.keys_fd, committed)
        metas = {}
        live_ranges = []
        for rec in _parse(data):
            if rec[0] == "M":
                metas[rec[1]] = rec
                self.described.add(rec[1])
            elif rec[0] == "S":
                meta = metas.get(rec[1])
                if meta is None:
                    continue
                width = width_of(meta[2], meta[5], meta[6])
                self.index[(rec[1], tuple(rec[2]))] = self.used
                if meta[2] == "gauge" and meta[6] in _LIVE_MODES:
                    live_ranges.append((self.used, width))
                self.used += width
        os.ftruncate(self.keys_fd, committed)
        # values written for an unpublished series, and live gauges of the dead owner
        tail = min(self.used + 4096, HEADER_FLOATS + self.capacity)
        for i in range(self.used, tail):
            self.mv[i] = 0.0
        for start, width in live_ranges:
            for i in range(start, start + width):
                self.mv[i] = 0.0

    def allocate(self, metric, labelvalues):
        """Index of a new series (caller holds the process lock)."""
        width = metric.width
        if self.used + width > HEADER_FLOATS + self.capacity:
            raise StoreFull(metric.name)
        payload = b""
        if metric.name not in self.described:
            payload += _record(["M", metric.name, metric.kind, metric.help, list(metric.labelnames),
                                list(metric.buckets), metric.mode])
        payload += _record(["S", metric.name, list(labelvalues)])
        committed = self.qmv[1]
        os.pwrite(self.keys_fd, payload, committed)
        idx = self.used
        for i in range(idx, idx + width):
            self.mv[i] = 0.0
        self.used += width
        self.described.add(metric.name)
        self.index[(metric.name, labelvalues)] = idx
        self.qmv[1] = committed + len(payload)  # publish
        return idx

    def close(self):
        for closer in (self.mv.release, self.qmv.release, self.map.close):
            with contextlib.suppress(BufferError, ValueError, OSError):
                closer()
        for fd in (self.keys_fd, self.lock_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def _record(obj):
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack("<I", len(raw)) + raw


def _read_all(fd, length):
    chunks = []
    pos = 0
    while pos < length:
        chunk = os.pread(fd, min(length - pos, 1 << 20), pos)
        if not chunk:
            break
        chunks.append(chunk)
        pos += len(chunk)
    return b"".join(chunks)


def _parse(data):
    """Records of a keys file (complete ones only), decoded in one JSON call."""
    pos = 0
    end = len(data)
    parts = []
    unpack = struct.unpack_from
    while pos + 4 <= end:
        (length,) = unpack("<I", data, pos)
        if pos + 4 + length > end:
            break
        parts.append(data[pos + 4:pos + 4 + length])
        pos += 4 + length
    if not parts:
        return []
    return json.loads(b"[" + b",".join(parts) + b"]")


def _try_lock(path, flags):
    """Open ``path`` and flock it; returns the fd or None when someone else holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, flags | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return None
        raise
    return fd


class _SlotReader:
    """Cached view of another (or our own) slot, for scrapes."""

    def __init__(self, directory, number):
        self.number = number
        self.path = os.path.join(directory, "slot-%d" % number)
        self.map = None
        self.mv = None
        self.qmv = None
        self.ino = None
        self.offset = 0
        self.metas = {}
        self.entries = []  # (metric name, labelvalues, first index, width)
        self.used = HEADER_FLOATS

    def refresh(self):
        st = os.stat(self.path + ".values")
        if self.map is None or st.st_ino != self.ino or st.st_size != len(self.map):
            self._reset()
            fd = os.open(self.path + ".values", os.O_RDONLY)
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
        if committed < self.offset:  # slot re-initialised
            self.offset = 0
            self.metas = {}
            self.entries = []
            self.used = HEADER_FLOATS
        if committed > self.offset:
            with open(self.path + ".keys", "rb") as f:
                f.seek(self.offset)
                data = f.read(committed - self.offset)
            for rec in _parse(data):
                if rec[0] == "M":
                    self.metas[rec[1]] = rec
                elif rec[0] == "S":
                    meta = self.metas.get(rec[1])
                    if meta is None:
                        continue
                    width = width_of(meta[2], meta[5], meta[6])
                    self.entries.append((rec[1], tuple(rec[2]), self.used, width))
                    self.used += width
            self.offset = committed
        return True

    def _reset(self):
        for obj in (self.mv, self.qmv):
            if obj is not None:
                obj.release()
        if self.map is not None:
            self.map.close()
        self.map = self.mv = self.qmv = None
        self.offset = 0
        self.metas = {}
        self.entries = []
        self.used = HEADER_FLOATS

    def values(self):
        return self.mv[:self.used].tolist()


class Store:
    """Per-process handle on a metrics directory."""

    def __init__(self, directory, capacity=DEFAULT_CAPACITY):
        self.directory = directory
        self.capacity = capacity
        self.lock = threading.Lock()
        self.gen = 0
        self.owned = None
        self.readers = {}
        self.admitted = {}
        self._full_logged = False

    # -- writer side -------------------------------------------------------
    def claim(self):
        """The slot of this process, claimed on first use (caller holds ``lock``)."""
        if self.owned is not None:
            return self.owned
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        for number in range(MAX_SLOTS):
            fd = _try_lock(os.path.join(self.directory, "slot-%d.lock" % number), fcntl.LOCK_EX)
            if fd is None:
                continue
            try:
                self.owned = _Owned(self.directory, number, fd, self.capacity)
            except Exception:
                os.close(fd)
                raise
            return self.owned
        raise StoreFull("no free slot in %s" % self.directory)

    def bind(self, metric, labelvalues):
        """(memoryview, index) where the series lives in this process' slot."""
        with self.lock:
            owned = self.claim()
            idx = owned.index.get((metric.name, labelvalues))
            if idx is None:
                try:
                    idx = owned.allocate(metric, labelvalues)
                except StoreFull:
                    if not self._full_logged:
                        self._full_logged = True
                        _logger.error("metrics store full (%s values per process): new series are dropped",
                                      self.capacity)
                    return _NULL.mv, 0
            return owned.mv, idx

    def after_fork(self):
        """In a forked child: forget the parent's slot (never write to it)."""
        self.lock = threading.Lock()
        if self.owned is not None:
            owned, self.owned = self.owned, None
            owned.close()  # closes only our copies; the parent keeps its lock
        for reader in self.readers.values():
            reader._reset()
        self.readers = {}
        self.gen += 1

    def wipe(self):
        """Remove the state of a previous run (slots no live process holds, label caps)."""
        with self.lock:
            if self.owned is not None:
                self.owned.close()
                self.owned = None
            for reader in self.readers.values():
                reader._reset()
            self.readers = {}
            self.admitted = {}
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
                        continue  # a live process (e.g. another instance) owns it
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
        """True when ``value`` is (or becomes) one of the first ``cap`` values of ``kind``.

        The admitted set is shared by every process of the instance, so the cap
        holds for the whole instance, not per process.
        """
        cache = self.admitted.setdefault(kind, {})
        known = cache.get(value)
        if known is not None:
            return known
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        path = os.path.join(self.directory, "labels-%s" % kind)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = _read_all(fd, os.fstat(fd).st_size).decode("utf-8", "replace")
            values = [json.loads(line) for line in data.splitlines() if line]
            for v in values:
                cache[v] = True
            if value in cache:
                return True
            if len(values) >= cap:
                ok = False
            else:
                os.write(fd, (json.dumps(value) + "\n").encode())
                ok = True
        finally:
            os.close(fd)
        if len(cache) < 100000:
            cache[value] = ok
        return ok

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
        """Merge every slot: {name: (meta, {labelvalues: [values]})} plus the slot count."""
        merged = {}
        slots = 0
        now_numbers = self.slot_numbers()
        for stale in set(self.readers) - set(now_numbers):
            self.readers.pop(stale)._reset()
        for number in now_numbers:
            reader = self.readers.get(number)
            if reader is None:
                reader = self.readers[number] = _SlotReader(self.directory, number)
            try:
                if not reader.refresh():
                    continue
            except FileNotFoundError:
                continue
            slots += 1
            live = None
            vals = reader.values()
            metas = reader.metas
            for name, lv, idx, width in reader.entries:
                entry = merged.get(name)
                if entry is None:
                    entry = merged[name] = (metas[name], {})
                meta, series = entry
                kind = meta[2]
                mode = meta[6]
                if kind == "gauge" and mode in _LIVE_MODES:
                    if live is None:
                        live = self.is_live(number)
                    if not live:
                        continue
                cur = series.get(lv)
                if width == 1:
                    v = vals[idx]
                    if cur is None:
                        series[lv] = [v]
                    elif kind != "gauge" or mode in ("sum", "livesum"):
                        cur[0] += v
                    elif mode in ("max", "livemax"):
                        if v > cur[0]:
                            cur[0] = v
                elif kind == "histogram":
                    if len(meta[5]) + 2 != width:
                        continue
                    part = vals[idx:idx + width]
                    if cur is None:
                        series[lv] = part
                    else:
                        for i in range(width):
                            cur[i] += part[i]
                else:  # mostrecent: value, timestamp
                    part = vals[idx:idx + 2]
                    if part[1] == 0.0:
                        continue
                    if cur is None or part[1] >= cur[1]:
                        series[lv] = part
        return merged, slots


def _unlink(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def now():
    return time.time()
