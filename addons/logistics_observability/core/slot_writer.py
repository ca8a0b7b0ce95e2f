"""The writer: the one slot this process owns and appends its series to.

A writer appends a record (see :mod:`.slotfile`), checks it was written whole,
zeroes its values, *then* publishes the new length of the keys file in the
header, so a reader never sees a torn series. A process taking over a dead slot
walks its published records (with the same :class:`.slotfile.Layout` as the
readers), drops any unpublished tail and keeps adding to the counters it finds:
nothing recorded by a dead process is lost.

Disk space of the values file is reserved (``posix_fallocate``) before a page is
written through the mmap, so a full filesystem means "series dropped and
counted", never SIGBUS.
"""

import contextlib
import errno
import mmap
import os
import time

from .slotfile import H_DROPPED_FULL, H_DROPPED_SPACE, HEADER_FLOATS, MAGIC, Layout, read_range, record, zero

# float64 values per slot: 8 MiB of address space, disk and memory reserved as used. 2,000 tenants
# of 100 series (a histogram's buckets each counted) take about 200,000: 5x margin.
DEFAULT_CAPACITY = 1 << 20
# the keys file's bound, per value of capacity (64 MiB at the default; a counter series' record
# is about 100 bytes, a histogram's about 5 per value), never below MIN_KEY_BYTES
KEY_BYTES_PER_VALUE = 64
MIN_KEY_BYTES = 1 << 20
RESERVE_CHUNK = 8192  # values reserved on disk at a time (64 KiB)


def key_limit(capacity):
    """Bytes the keys file of a slot of ``capacity`` values may reach."""
    return max(capacity * KEY_BYTES_PER_VALUE, MIN_KEY_BYTES)


class StoreFull(Exception):
    pass


class _Null:
    """Sink used when the store cannot take a series: updates go nowhere."""

    def __init__(self):
        self.mv = memoryview(bytearray(8 * 64)).cast("d")


NULL = _Null()


class OwnedSlot:
    """The slot this process writes to."""

    def __init__(self, directory, number, lock_fd, capacity):
        self.number = number
        self.lock_fd = lock_fd
        self.capacity = capacity
        self.limit = HEADER_FLOATS + capacity
        self.key_limit = key_limit(capacity)
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
            # only the new range: the kernel walks every page of the range it is given
            os.posix_fallocate(self.values_fd, self.reserved * 8, (floats - self.reserved) * 8)
            self.reserved = floats

    def _adopt(self):
        """Take over what a previous owner left: keep published series, drop the rest."""
        if self.qmv[0] != MAGIC:
            os.ftruncate(self.keys_fd, 0)
            zero(self.mv, 0, self.reserved)
            self.qmv[0] = MAGIC
            return
        committed = self.qmv[1]
        layout = Layout()
        layout.feed(read_range(self.keys_fd, 0, committed))
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
                zero(self.mv, idx, idx + layout.widths[name])
        self.described = set(layout.metas)
        self.used = layout.used

    described = frozenset()

    def allocate(self, metric, labelvalues):
        """Index of a new series, or None when it cannot be stored (counted); caller holds the lock."""
        width = metric.width
        end = self.used + width
        payload = b""
        if metric.name not in self.described:
            payload += record(
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
        payload += record(["S", metric.name, list(labelvalues), round(time.time(), 3)])
        committed = self.qmv[1]
        if end > self.limit or committed + len(payload) > self.key_limit:
            self.mv[H_DROPPED_FULL] += 1
            raise StoreFull(metric.name)
        if end > self.reserved:  # a chunk at a time: one system call per RESERVE_CHUNK values
            try:
                self.reserve(end + RESERVE_CHUNK)
            except OSError:
                try:
                    self.reserve(end)
                except OSError:
                    self.mv[H_DROPPED_SPACE] += 1
                    raise
        try:
            written = os.pwrite(self.keys_fd, payload, committed)
        except OSError:
            written = -1
        if written != len(payload):  # unpublished: readers never see it, takeover cuts it
            self.mv[H_DROPPED_SPACE] += 1
            raise OSError(errno.ENOSPC, "cannot write the keys of %s" % metric.name)
        idx = self.used
        zero(self.mv, idx, end)
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
