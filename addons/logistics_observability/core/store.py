"""Multi-process metric store: one *slot* per live process, shared through files.

The :class:`Store` is a process's handle on a metrics directory. A process claims the
lowest slot whose lock is free, lazily, on its first update, and keeps the lock until
it dies (the kernel releases it on SIGKILL or OOM kill); a new process taking a dead
slot keeps adding to what it holds, so the number of files is bounded by the number
of processes alive at the same time, not by how many ever lived. A scrape reads every
slot and merges them.

Rooms: the file format and its walker in :mod:`.slotfile`, the owned slot in
:mod:`.slot_writer`, a slot's cached view in :mod:`.slot_reader`, a scrape's pass
over every slot in :mod:`.slot_scan`, how values of several slots combine in
:mod:`.merge`.
"""

import contextlib
import fcntl
import logging
import os
import threading
import time

from . import labelcaps, turns
from .logonce import LogOnce
from .slot_scan import MergeResult, Scan
from .slot_writer import DEFAULT_CAPACITY, NULL, OwnedSlot, StoreFull
from .slotfile import SLOT_RE, try_lock, unlink

_logger = logging.getLogger(__name__)

__all__ = ["MergeResult", "Store", "StoreUnavailable"]

MAX_SLOTS = 4096
CLAIM_RETRY = 10.0  # seconds before a process retries a slot it could not set up


class StoreUnavailable(Exception):
    pass


class Store:
    """Per-process handle on a metrics directory."""

    def __init__(self, directory, capacity=DEFAULT_CAPACITY, hold=0.0):
        self.directory = directory
        self.capacity = capacity
        self.hold = hold  # seconds a new counter or histogram series reads 0 (see summing.Summed.hide_young)
        self.lock = threading.Lock()
        self.reads = turns.Turns()  # scrapes take turns at merging (the readers' caches stay exact)
        self.gen = 0
        self.owned = None
        self.scan = Scan(directory)  # the slots' readers, kept from one scrape to the next
        self.caps = labelcaps.LabelCaps(directory)
        self._log_once = LogOnce(_logger, logging.ERROR)
        self._retry_at = 0.0
        self._unavailable = None

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
                "metrics store in %s unusable in this process (%s): updates are dropped, " "Odoo goes on",
                self.directory,
                self._unavailable,
            )
            raise
        return self.owned

    def _claim(self):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        for number in range(MAX_SLOTS):
            fd = try_lock(os.path.join(self.directory, "slot-%d.lock" % number), fcntl.LOCK_EX)
            if fd is None:
                continue
            try:
                return OwnedSlot(self.directory, number, fd, self.capacity)
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
                        "metrics store full (%s values, %s key bytes per process): new series are "
                        "dropped and counted in odoo_metrics_dropped_series_total",
                        self.capacity,
                        owned.key_limit,
                    )
                    return NULL.mv, 0
                except OSError as exc:
                    self._log_once(
                        "space",
                        "metrics store in %s: no space for new series (%s); they are dropped "
                        "and counted in odoo_metrics_dropped_series_total",
                        self.directory,
                        exc,
                    )
                    return NULL.mv, 0
            return owned.mv, idx

    def after_fork(self):
        """In a forked child: forget the parent's slot (never write to it)."""
        self.lock = threading.Lock()
        self.reads = turns.Turns()
        self.caps.after_fork()
        if self.owned is not None:
            owned, self.owned = self.owned, None
            owned.close()  # closes only our copies; the parent keeps its lock
        self.scan.reset()
        self.gen += 1

    def wipe(self):
        """Remove the state of a previous run (slots no live process holds, label caps)."""
        with self.lock, self.reads.lock:
            if self.owned is not None:
                self.owned.close()
                self.owned = None
            self.scan.reset()
            self.reads.last = None
            self.caps.clear()
            self.gen += 1
            if not os.path.isdir(self.directory):
                os.makedirs(self.directory, mode=0o700, exist_ok=True)
                return 0
            removed = 0
            for name in os.listdir(self.directory):
                path = os.path.join(self.directory, name)
                match = SLOT_RE.match(name)
                if match:
                    lock_path = os.path.join(self.directory, "slot-%s.lock" % match.group(1))
                    fd = try_lock(lock_path, fcntl.LOCK_EX)
                    if fd is None:
                        continue  # a live process owns it
                    try:
                        for ext in (".values", ".keys"):
                            unlink(lock_path[:-5] + ext)
                        removed += 1
                    finally:
                        os.close(fd)
                elif name.startswith("labels-"):
                    unlink(path)
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
            match = SLOT_RE.match(name)
            if match:
                numbers.append(int(match.group(1)))
        return sorted(numbers)

    def is_live(self, number):
        owned = self.owned
        if owned is not None and owned.number == number:
            return True
        try:
            fd = try_lock(os.path.join(self.directory, "slot-%d.lock" % number), fcntl.LOCK_SH)
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
        return self.scan.merge(self.slot_numbers(), self.hold, self.is_live, self._log_once)
