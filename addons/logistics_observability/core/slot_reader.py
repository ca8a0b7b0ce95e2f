"""The reader: a cached view of one slot (another process's or our own), for scrapes.

A reader maps the values file read-only and walks only the records published
since its last refresh (header word 1, see :mod:`.slotfile`), so a scrape costs
the new series, not every series. A slot re-initialised by a new owner, or whose
damaged tail a new owner cut, is walked again from the start.
"""

import mmap
import os

from .slotfile import HEADER_FLOATS, MAGIC, Layout, read_range


class SlotReader:
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
        self.plan = None  # summing.Summed's plan for this slot

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
                layout.feed(read_range(fd, layout.offset, committed))
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
