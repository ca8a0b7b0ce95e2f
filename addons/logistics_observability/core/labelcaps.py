"""Instance-wide caps on label values (the first N tenants / routes seen keep their name).

The admitted values of one ``kind`` are lines of ``labels-<kind>`` in the
metrics directory, shared by every process of the instance. The file is
guarded by a POSIX record lock (``lockf``), which a forked child does not
inherit, plus a thread lock re-created after fork: a fork while another thread
holds either lock cannot leave a lock held forever. Waiting is bounded: when
the lock is not free within ``wait`` seconds the caller gets ``None`` (use the
overflow label this time, ask again next time) only when the file, read without the lock, holds
``cap`` values already; otherwise the value keeps its own name this time (not cached: it is
written once the lock is free). A busy lock never moves a tenant's events to another label; the
cap may then be passed by the few values admitted at the same moment.
"""

import contextlib
import errno
import fcntl
import json
import os
import threading
import time

MAX_CACHED = 100000
DEFAULT_WAIT = 0.25


class LabelCaps:
    def __init__(self, directory, wait=DEFAULT_WAIT):
        self.directory = directory
        self.wait = wait
        self.cache = {}  # kind -> {value: admitted}
        # kind -> (inode, bytes, lines) of the file already read: a new value reads only the
        # lines appended since, so admitting the 2,000th tenant does not decode the first 1,999
        self.seen = {}
        self._lock = threading.Lock()

    def after_fork(self):
        self._lock = threading.Lock()

    def clear(self):
        self.cache = {}
        self.seen = {}

    def admit(self, kind, value, cap):
        """True when ``value`` is (or becomes) one of the first ``cap`` of ``kind``; None on timeout."""
        cache = self.cache.setdefault(kind, {})
        known = cache.get(value)
        if known is not None:
            return known
        deadline = time.monotonic() + self.wait
        if not self._lock.acquire(timeout=self.wait):
            return self._peek(kind, value, cap)
        try:
            ok = self._admit_locked(kind, value, cap, cache, deadline)
        finally:
            self._lock.release()
        if ok is None:
            return self._peek(kind, value, cap)
        if len(cache) < MAX_CACHED:
            cache[value] = ok
        return ok

    def _peek(self, kind, value, cap):
        """The lock is busy: True when ``value`` is admitted or there is room (uncached), False when
        the cap is reached, None when the file cannot be read."""
        try:
            with open(os.path.join(self.directory, "labels-%s" % kind), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            data = b""
        except OSError:
            return None
        count = 0
        for line in data.decode("utf-8", "replace").split("\n")[:-1]:  # a half-written last line is no value
            with contextlib.suppress(ValueError):
                if line:
                    if json.loads(line) == value:
                        return True
                    count += 1
        return count < cap

    def _admit_locked(self, kind, value, cap, cache, deadline):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        path = os.path.join(self.directory, "labels-%s" % kind)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            if not _lock_until(fd, deadline):
                return None
            st = os.fstat(fd)
            size = st.st_size
            ino, start, count = self.seen.get(kind, (None, 0, 0))
            if ino != st.st_ino or size < start:  # first read, or the file was replaced
                start = count = 0
            data = os.pread(fd, size - start, start) if size > start else b""
            for line in data.decode("utf-8", "replace").splitlines():
                with contextlib.suppress(ValueError):
                    if line:
                        cache[json.loads(line)] = True
                        count += 1
            self.seen[kind] = (st.st_ino, size, count)
            if value in cache:
                return True
            if count >= cap:
                return False
            line = (json.dumps(value) + "\n").encode()
            try:
                written = os.write(fd, line)
            except OSError:
                written = -1
            if written != len(line):
                os.ftruncate(fd, size)  # never leave half a line for the next reader
                raise OSError(errno.ENOSPC, "cannot append to %s" % path)
            self.seen[kind] = (st.st_ino, size + written, count + 1)
            return True
        finally:
            os.close(fd)  # also releases the record lock


def _lock_until(fd, deadline):
    delay = 0.001
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(delay, left))
        delay = min(delay * 2, 0.005)
