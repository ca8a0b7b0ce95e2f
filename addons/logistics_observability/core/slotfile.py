"""The slot file format: what a metrics directory holds, and the one walker of a keys file.

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

Only the records up to the committed length (header word 1) are published: the
writer (:mod:`.slot_writer`) and the readers (:mod:`.slot_reader`) walk them with
the same :class:`Layout`.
"""

import contextlib
import errno
import fcntl
import json
import math
import os
import re
import struct

from .merge import width_of
from .names import LABEL_RE, NAME_RE

MAGIC = 0x4F424D5354303031  # "OBMST001"
HEADER_FLOATS = 8  # 64 bytes
H_DROPPED_FULL = 2
H_DROPPED_SPACE = 3
KINDS = ("counter", "gauge", "histogram")
SLOT_RE = re.compile(r"^slot-(\d+)\.values$")
_HEAD = struct.Struct("<I")


def record(obj):
    """One record: its length, then its JSON."""
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


def _exposable(rec):
    """A metric description whose name and label names Prometheus accepts."""
    return bool(NAME_RE.match(rec[1])) and all(LABEL_RE.match(n) and n != "le" for n in rec[4])


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


def read_range(fd, start, end):
    chunks = []
    pos = start
    while pos < end:
        chunk = os.pread(fd, min(end - pos, 1 << 20), pos)
        if not chunk:
            break
        chunks.append(chunk)
        pos += len(chunk)
    return b"".join(chunks)


def try_lock(path, flags):
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


def zero(mv, start, end):
    """Zero the values ``mv[start:end]``."""
    mv[start:end] = memoryview(bytes(8 * (end - start))).cast("d")


def unlink(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
