"""A busy label-cap lock never puts a tenant's events under another label (core/labelcaps.py).

Another process holding the caps file's lock (a worker descheduled on a loaded machine) used to make
a new tenant's first events count as ``__overflow__``: numbers of one tenant in another series.
"""

import fcntl
import multiprocessing
import os

from logistics_observability.core import labelcaps


def _hold_lock(path, ready, release):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    ready.set()
    release.wait(30)
    os.close(fd)


def _holder(directory, kind):
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(os.path.join(directory, "labels-" + kind), ready, release))
    proc.start()
    assert ready.wait(30)
    return proc, release


def test_a_new_value_keeps_its_name_while_another_process_holds_the_lock(tmp_path):
    caps = labelcaps.LabelCaps(str(tmp_path), wait=0.05)
    assert caps.admit("tenant", "alpha", 3) is True
    proc, release = _holder(str(tmp_path), "tenant")
    try:
        # under the cap: its own name this time, not cached (admitted for good once the lock is free)
        assert caps.admit("tenant", "bravo", 3) is True
        assert "bravo" not in caps.cache["tenant"]
        # a value another process admitted is known without the lock
        other = labelcaps.LabelCaps(str(tmp_path), wait=0.05)
        assert other.admit("tenant", "alpha", 3) is True
    finally:
        release.set()
        proc.join(30)
    assert caps.admit("tenant", "bravo", 3) is True
    assert (tmp_path / "labels-tenant").read_text().split() == ['"alpha"', '"bravo"']


def test_a_full_cap_still_overflows_while_the_lock_is_busy(tmp_path):
    caps = labelcaps.LabelCaps(str(tmp_path), wait=0.05)
    assert caps.admit("tenant", "alpha", 1) is True
    proc, release = _holder(str(tmp_path), "tenant")
    try:
        assert caps.admit("tenant", "bravo", 1) is False
    finally:
        release.set()
        proc.join(30)
