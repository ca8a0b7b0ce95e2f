"""The ledger's spool: every run on disk, in its process's own file, before it counts anywhere.

With a spool directory, every run is appended to the process's own spool file
(``ledger-<pid>-<random>.<seq>.spool``) before :meth:`.ledger_writer.Ledger.record`
returns; the process holds an ``flock`` on its lock file (``ledger-<tag>.lock``) for
its whole life. Taking a batch to flush closes the current spool file (it *is* the
batch, named by it) and starts the next one. A file is deleted once its batch is
committed in every tenant. Any flusher that can lock a dead process's lock file
adopts its files and writes them (:meth:`.ledger_writer.Ledger.adopt`).
"""

import contextlib
import errno
import fcntl
import logging
import os
import uuid

from .ledger import add_run

# the ledger's log lines keep one logger name, whichever room they come from
_logger = logging.getLogger(__name__.rpartition(".")[0] + ".ledger")

#: Largest spool file; past it runs are kept in memory only (and the loss of durability logged).
MAX_SPOOL_BYTES = 64 * 1024 * 1024


def spool_line(tenant, key, duration, sql_queries, start_delay):
    fields = (
        tenant,
        str(key[0]),
        key[1],
        key[2],
        repr(float(duration)),
        str(int(sql_queries or 0)),
        "" if start_delay is None else repr(float(start_delay)),
    )
    line = "\t".join(fields)
    if line.count("\t") != 6 or "\n" in line:
        raise ValueError("tab or newline in a ledger key")
    return (line + "\n").encode("utf-8")


def read_spool(path):
    """{tenant: rows} of a spool file; a torn or unreadable line is skipped (and logged)."""
    buffer = {}
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:  # adopted meanwhile by another process
        return buffer
    bad = 0
    for raw in data.split(b"\n"):
        if not raw:
            continue
        try:
            tenant, minute, workflow, outcome, duration, sql, delay = raw.decode("utf-8").split("\t")
            add_run(
                buffer.setdefault(tenant, {}),
                (int(minute), workflow, outcome),
                float(duration),
                int(sql),
                float(delay) if delay else None,
            )
        except (ValueError, UnicodeDecodeError):
            bad += 1
    if bad:
        _logger.warning("workflow ledger: %d unreadable line(s) in %s skipped", bad, path)
    return buffer


class Batch:
    """Runs taken for one flush: ``rows`` {tenant: {key: Row}}, written under ``id``; ``path`` is
    its spool file (deleted once every tenant has it)."""

    __slots__ = ("id", "path", "rows")

    def __init__(self, batch_id, rows, path=None):
        self.id, self.rows, self.path = batch_id, rows, path


def try_lock(path):
    """An fd holding an exclusive flock on ``path``, or None when another process holds it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def unlink(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class Spool:
    """This process's lock and spool files in ``directory`` (None: no spool).

    Not thread-safe: the ledger calls it under its own lock.
    """

    def __init__(self, directory=None):
        self.directory = directory
        self._reset()

    def _reset(self):
        self.tag = None  # "<pid>-<random>": names this process's lock and spool files
        self._lock_fd = None
        self._fd = None
        self._seq = 0
        self._size = 0
        self._broken = False

    def close(self):
        """Close our files (in a forked child too: closing our copy leaves the parent's flock)."""
        for fd in (self._fd, self._lock_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._reset()

    def path(self, tag, seq):
        return os.path.join(self.directory, "ledger-%s.%06d.spool" % (tag, seq))

    def lock_path(self, tag):
        return os.path.join(self.directory, "ledger-%s.lock" % tag)

    def _open(self):
        """Open this process's next spool file; False without one."""
        if not self.directory or self._broken:
            return False
        try:
            if self._lock_fd is None:
                os.makedirs(self.directory, mode=0o700, exist_ok=True)
                tag = "%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
                lock_path = self.lock_path(tag)
                # locked under a temporary name, then renamed: a lock file is never seen unlocked
                fd = try_lock(lock_path + ".tmp")
                if fd is None:
                    raise OSError(errno.EAGAIN, "cannot lock the ledger spool")
                os.rename(lock_path + ".tmp", lock_path)
                self.tag, self._lock_fd = tag, fd
            self._seq += 1
            self._fd = os.open(
                self.path(self.tag, self._seq),
                os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                0o600,
            )
            self._size = 0
            return True
        except OSError as exc:
            self._broken = True
            _logger.error(
                "workflow ledger: cannot spool runs in %s (%s); a killed process may lose " "its last runs",
                self.directory,
                exc,
            )
            return False

    def append(self, line):
        """Append one run; never raises."""
        if self._fd is None and not self._open():
            return
        if self._size + len(line) > MAX_SPOOL_BYTES:
            return  # bounded: the rest of this interval is kept in memory only
        try:
            os.write(self._fd, line)
            self._size += len(line)
        except OSError as exc:
            if not self._broken:
                _logger.error("workflow ledger: spool write failed (%s); runs kept in memory only", exc)
            self._broken = True

    def cut(self):
        """Close the current spool file: ``(batch id, its path)``, or ``(None, None)`` without one.
        The next run starts the next file."""
        if self._fd is None:
            return None, None
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = None
        return "%s.%06d" % (self.tag, self._seq), self.path(self.tag, self._seq)

    def remove(self):
        """Everything is written: delete our files, the lock file while still holding its lock."""
        tag, seq = self.tag, self._seq
        lock_fd = self._lock_fd
        self._lock_fd = None
        self.close()
        if tag:
            unlink(self.path(tag, seq))
            unlink(self.lock_path(tag))
        if lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(lock_fd)
