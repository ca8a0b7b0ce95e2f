"""Which Odoo instance a metrics directory belongs to.

A metrics directory belongs to exactly one live instance: its master (or the
single threaded process) holds ``instance.lock`` with ``flock`` *before* it wipes
anything, and keeps it for its lifetime; forked workers inherit the lock, so
the directory stays claimed while any process of the instance lives. A second
live instance configured with the same directory cannot take the lock: it gets
a private directory of its own next to the default location instead (and the
caller logs one line naming ``observability_metrics_dir``), so it never reads,
wipes or adds to the first one's values.

A master that re-executes itself (Odoo 19's graceful reload) passes its lock on: the lock's file
descriptor stays open across the exec and is named in ``ODOO_OBSERVABILITY_INSTANCE_FD``
(:func:`pass_on`); the new master recognises it as its own (same file, lock held by that open
file) and neither wipes nor falls back to a private directory (:func:`claim`).

The default directory is local and per boot (``/dev/shm``, else the temporary
directory), never the filestore volume that several replicas may share.
"""

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile

LOCK_NAME = "instance.lock"
PRIVATE_PREFIX = "private-"
#: Environment variable naming the instance lock's descriptor across a master's re-exec.
INSTANCE_FD_ENV = "ODOO_OBSERVABILITY_INSTANCE_FD"


def local_base():
    """``<per-boot tmpfs or tmp>/odoo-observability-<uid>``, created 0700 and checked to be ours."""
    shm = "/dev/shm"
    root = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else tempfile.gettempdir()
    base = os.path.join(root, "odoo-observability-%d" % os.getuid())
    with contextlib.suppress(FileExistsError):
        os.mkdir(base, 0o700)
    st = os.lstat(base)
    if not os.path.isdir(base) or os.path.islink(base) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        # someone else prepared it (shared /tmp): do not trust it
        return tempfile.mkdtemp(prefix="odoo-observability-")
    return base


def default_directory(http_port):
    return os.path.join(local_base(), str(http_port or 8069))


class Claim:
    """The instance lock on ``directory`` (``directory`` is where this instance keeps its metrics)."""

    def __init__(self, directory, fd, requested, inherited=False):
        self.directory = directory
        self.fd = fd
        self.requested = requested
        #: True when a re-exec'd master took over its predecessor's lock (nothing to wipe)
        self.inherited = inherited

    @property
    def private(self):
        return self.directory != self.requested

    def release(self):
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def _lock(directory):
    os.makedirs(directory, mode=0o700, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(directory, 0o700)
    fd = os.open(os.path.join(directory, LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return None
        raise
    os.ftruncate(fd, 0)
    os.write(fd, b"%d\n" % os.getpid())
    return fd


def holder(directory):
    """PID written by the instance holding ``directory`` (None when free or unknown)."""
    path = os.path.join(directory, LOCK_NAME)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return None  # free
        with contextlib.suppress(ValueError, OSError):
            return int(os.pread(fd, 32, 0).decode().strip() or 0) or None
        return None
    finally:
        os.close(fd)


def pass_on(claim_):
    """Keep ``claim_``'s lock open across an ``exec`` of this process and name it for the new
    program (see :func:`claim`)."""
    if claim_ is None or claim_.fd is None:
        return False
    os.set_inheritable(claim_.fd, True)
    os.environ[INSTANCE_FD_ENV] = str(claim_.fd)
    return True


def _inherited(directory):
    """The lock on ``directory`` passed on by the program this process was before its exec."""
    raw = os.environ.pop(INSTANCE_FD_ENV, None)
    if not raw:
        return None
    try:
        fd = int(raw)
        held = os.fstat(fd)
        lock = os.stat(os.path.join(directory, LOCK_NAME))
        if (held.st_dev, held.st_ino) != (lock.st_dev, lock.st_ino):
            return None
        # succeeds only when this open file holds the lock (it is ours, not another instance's)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.set_inheritable(fd, False)
        os.ftruncate(fd, 0)
        os.write(fd, b"%d\n" % os.getpid())
    except (ValueError, OSError):
        return None
    return fd


def claim(directory):
    """Take ``directory`` for this instance, or a private directory when another live instance has it."""
    fd = _inherited(directory)
    if fd is not None:
        return Claim(directory, fd, directory, inherited=True)
    fd = _lock(directory)
    if fd is not None:
        return Claim(directory, fd, directory)
    base = local_base()
    _remove_stale_private(base)
    private = tempfile.mkdtemp(prefix="%s%d-" % (PRIVATE_PREFIX, os.getpid()), dir=base)
    fd = _lock(private)
    return Claim(private, fd, directory)


def _remove_stale_private(base):
    """Private directories of instances that are gone (bounded files)."""
    with contextlib.suppress(OSError):
        for name in os.listdir(base):
            path = os.path.join(base, name)
            if not name.startswith(PRIVATE_PREFIX) or not os.path.isdir(path):
                continue
            fd = None
            with contextlib.suppress(OSError):
                fd = _lock(path)
            if fd is not None:
                shutil.rmtree(path, ignore_errors=True)
                os.close(fd)
