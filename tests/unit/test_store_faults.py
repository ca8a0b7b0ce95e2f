"""The metric store in production shapes: concurrent scrapers, forks holding locks, full disks,
damaged and hostile slot files. Real processes, real files, a real (tiny) tmpfs."""

import contextlib
import json
import logging
import os
import signal
import struct
import subprocess
import sys
import threading
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from logistics_observability.core import exposition, metrics, slot_writer, slotfile
from logistics_observability.core.collectors import tenant


@pytest.fixture
def mdir(tmp_path):
    directory = str(tmp_path / "metrics")
    metrics.configure(directory=directory, max_tenants=2000, max_routes=200)
    metrics._log_once.clear()
    yield directory
    metrics.configure(
        directory=str(tmp_path / "unused"),
        max_tenants=2000,
        max_routes=200,
        capacity=slot_writer.DEFAULT_CAPACITY,
    )


def parse(text):
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def scrape():
    return parse(exposition.generate().decode())


def fork(fn):
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            fn()
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    return pid


def wait(pid, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("child %s hung for %ss" % (pid, timeout))


SERIES = metrics.counter("odoo_test_faults_total", "Fault test counter.", ("n",))
OTHER = metrics.counter("odoo_test_faults_other_total", "Fault test counter.", ("tenant",))


# -- item 2: concurrent scrapers ------------------------------------------------


def test_concurrent_scrapers_read_exact_values_while_series_are_added(mdir):
    """Series n is only ever incremented by n+1 once: any other value is a misread index."""
    total = 1500
    r, w = os.pipe()

    def writer():
        os.write(w, b"x")
        for n in range(total):
            SERIES.labels(str(n)).inc(n + 1)
            if n % 100 == 0:
                time.sleep(0.001)  # let the scrapers interleave with new series

    wrong = []
    stop = threading.Event()
    st = metrics.get_store()

    def scraper(i):
        while not stop.is_set():
            if i:
                st.merge()  # what the other scrapes of the listener do meanwhile
                continue
            for (name, labels), v in scrape().items():
                if name == "odoo_test_faults_total":
                    n = int(dict(labels)["n"])
                    if v not in (0.0, n + 1.0):
                        wrong.append((n, v))

    OTHER.labels("own").inc()  # this process has a slot too
    threads = [threading.Thread(target=scraper, args=(i,)) for i in range(3)]
    pid = fork(writer)
    os.read(r, 1)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads as often as a loaded machine does
    try:
        for t in threads:
            t.start()
        assert wait(pid) == 0
        time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join()
        sys.setswitchinterval(interval)
    final = scrape()
    assert not wrong, "%d misread samples, e.g. %s" % (len(wrong), wrong[:5])
    for n in range(total):
        assert final[("odoo_test_faults_total", (("n", str(n)),))] == n + 1


FRESH = metrics.counter("odoo_test_faults_fresh_total", "Fault test counter.", ("t",))


def test_concurrent_scrapes_share_an_answer_only_when_it_is_fresh_enough(mdir, monkeypatch):
    """Every scrape shows what was recorded before it arrived, shared answer or not."""
    wrong = []

    def run(i):
        for k in range(25):
            FRESH.labels(str(i)).inc()
            got = scrape().get(("odoo_test_faults_fresh_total", (("t", str(i)),)))
            if got != k + 1:
                wrong.append((i, k + 1, got))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not wrong, wrong[:5]

    # three scrapes at once: the first renders; the two that waited share the one started after them
    release = threading.Event()
    renders = []
    source = exposition.COLLECTOR.source

    def slow_source():
        renders.append(1)
        if len(renders) == 1:
            release.wait(10)
        return source()

    monkeypatch.setattr(exposition.COLLECTOR, "source", slow_source)
    bodies = []
    first = threading.Thread(target=lambda: bodies.append(exposition.generate()))
    first.start()
    while not renders:
        time.sleep(0.01)
    others = [threading.Thread(target=lambda: bodies.append(exposition.generate())) for _ in range(2)]
    for t in others:
        t.start()
    time.sleep(0.3)  # both are waiting for the first rendering
    release.set()
    for t in [first, *others]:
        t.join()
    assert len(bodies) == 3 and len(renders) == 2


# -- item 5: one bad series never fails a scrape -------------------------------------


def test_brand_new_empty_slot_file_is_skipped(mdir):
    OTHER.labels("db1").inc(3)
    open(os.path.join(mdir, "slot-9.values"), "wb").close()  # a process creating its slot right now
    open(os.path.join(mdir, "slot-9.keys"), "wb").close()
    got = scrape()
    assert got[("odoo_test_faults_other_total", (("tenant", "db1"),))] == 3


def test_lone_surrogate_label_is_exposed_replaced(mdir):
    OTHER.labels("db\ud800x").inc()
    OTHER.labels("fine").inc()
    body = exposition.generate()  # must not raise UnicodeEncodeError
    got = parse(body.decode())
    assert got[("odoo_test_faults_other_total", (("tenant", "db?x"),))] == 1
    assert got[("odoo_test_faults_other_total", (("tenant", "fine"),))] == 1


def test_hostile_series_in_a_slot_are_dropped_counted_and_logged_once(mdir, caplog):
    OTHER.labels("good").inc(2)

    def hostile():
        st = metrics.get_store()
        st.bind(OTHER, ("\udcff-raw",))  # bypasses the label clipping, as an old writer might
        mv, idx = st.bind(OTHER, ("after",))
        mv[idx] += 5

    assert wait(fork(hostile)) == 0
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        got = scrape()
        assert got[("odoo_test_faults_other_total", (("tenant", "good"),))] == 2
        assert got[("odoo_test_faults_other_total", (("tenant", "after"),))] == 5  # later series aligned
        assert got[("odoo_metrics_scrape_dropped_series", (("reason", "bad_series"),))] == 1
    assert caplog.text.count("left out of /metrics (bad_series") == 1


def test_damaged_keys_record_keeps_the_valid_prefix(mdir):
    OTHER.labels("before").inc(4)

    def child():
        OTHER.labels("c1").inc(1)
        st = metrics.get_store()
        owned = st.owned
        # a record that is not JSON, published: a damaged file
        raw = b"\xff{not json"
        rec = struct.pack("<I", len(raw)) + raw
        committed = owned.qmv[1]
        os.pwrite(owned.keys_fd, rec, committed)
        owned.qmv[1] = committed + len(rec)

    assert wait(fork(child)) == 0
    got = scrape()
    assert got[("odoo_test_faults_other_total", (("tenant", "before"),))] == 4
    assert got[("odoo_test_faults_other_total", (("tenant", "c1"),))] == 1
    assert got[("odoo_metrics_scrape_dropped_series", (("reason", "bad_slot"),))] == 1
    # the next owner of that slot keeps the valid prefix and goes on
    assert wait(fork(lambda: (OTHER.labels("c1").inc(1), OTHER.labels("c2").inc(1)))) == 0
    got = scrape()
    assert got[("odoo_test_faults_other_total", (("tenant", "c1"),))] == 2
    assert got[("odoo_test_faults_other_total", (("tenant", "c2"),))] == 1


def test_duplicate_collector_series_are_dropped_and_counted(mdir):
    def dup():
        fam = metrics.Family("odoo_test_dup", "gauge", "x", ("tenant",))
        fam.add(1, tenant="a")
        fam.add(2, tenant="a")
        return [fam]

    metrics.register_collector("dup", dup)
    try:
        text = exposition.generate().decode()
    finally:
        metrics.unregister_collector("dup")
    assert text.count('odoo_test_dup{tenant="a"}') == 1
    got = parse(text)  # prometheus_client's parser would accept duplicates; Prometheus does not
    assert got[("odoo_metrics_scrape_dropped_series", (("reason", "duplicate"),))] == 1


def test_tenant_collector_folds_overflow_tenants_into_one_series(mdir):
    metrics.configure(max_tenants=1)
    col = tenant.TenantCollector({"host": "127.0.0.1"})
    now = time.monotonic()
    backup = {
        "kinds": {},
        "drill_success_ts": None,
        "rpo_seconds": 3600.0,
        "drill_interval_seconds": 86400.0,
        "warnings": [],
    }
    for i, size in enumerate((100, 200, 300)):
        col.data["db%d" % i] = (
            now,
            {
                "size": size,
                "crons": [("base.job", 60.0 * (i + 1), i)],
                "queue": [("root", "pending", 2, 30.0 * i)],
                "mail": [("exception", 1)],
                "backup": backup,
            },
        )
    families = col.families()
    for fam in families:
        keys = [s[0] for s in fam.samples]
        assert len(keys) == len(set(keys)), fam.name
    by = {f.name: dict(f.samples) for f in families}
    assert by["odoo_pg_database_size_bytes"] == {("db0",): 100.0, ("__overflow__",): 500.0}
    assert by["odoo_queue_jobs"][("__overflow__", "", "pending")] == 4.0  # channels summed (default level)
    assert by["odoo_cron_lateness_seconds"][("__overflow__", "base.job")] == 180.0
    assert by["odoo_mail_queue"][("__overflow__", "exception")] == 2.0


# -- item 4: forks while a labels lock is held ------------------------------------


def test_fork_while_another_thread_admits_labels_never_hangs_the_child(mdir):
    stop = threading.Event()

    def admitter():
        i = 0
        while not stop.is_set():
            metrics.tenant_label("busy%d" % i)  # new values: the labels file lock is taken each time
            i += 1

    metrics.configure(max_tenants=100000)
    thread = threading.Thread(target=admitter, daemon=True)
    thread.start()
    try:
        for k in range(40):
            r, w = os.pipe()

            def child(k=k, w=w):
                os.write(w, metrics.tenant_label("child%d" % k).encode())

            pid = fork(child)
            assert wait(pid, timeout=5) == 0
            os.close(w)
            assert os.read(r, 100).decode() in ("child%d" % k, metrics.TENANT_OVERFLOW)
            os.close(r)
    finally:
        stop.set()
        thread.join()
    assert metrics.tenant_label("after") == "after"  # and the parent still admits


def test_busy_labels_lock_keeps_the_tenant_name_within_bounds(mdir):
    metrics.tenant_label("seen")
    path = os.path.join(mdir, "labels-tenant")
    r, w = os.pipe()
    holder = subprocess.Popen(
        [
            "python3",
            "-c",
            "import fcntl,os,sys,time; fd=os.open(sys.argv[1],os.O_RDWR); fcntl.lockf(fd,fcntl.LOCK_EX);"
            "os.write(int(sys.argv[2]),b'x'); time.sleep(30)",
            path,
            str(w),
        ],
        pass_fds=(w,),
    )
    try:
        assert os.read(r, 1) == b"x"
        start = time.monotonic()
        # the cap has room: the tenant keeps its name (a busy lock never moves its events elsewhere;
        # a full cap still overflows: tests/unit/test_labelcaps_busy.py)
        assert metrics.tenant_label("new-one") == "new-one"
        assert time.monotonic() - start < 1.0
        assert metrics.tenant_label("seen") == "seen"  # known values need no lock
    finally:
        holder.kill()
        holder.wait()
    assert metrics.tenant_label("new-one") == "new-one"  # and admitted for good once the lock is free
    assert '"new-one"' in open(os.path.join(mdir, "labels-tenant")).read()


# -- item 3: a full filesystem ------------------------------------------------------


@contextlib.contextmanager
def tiny_tmpfs(tmp_path, size="192k"):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): %s" % proc.stderr.strip())
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(mnt):
    fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while os.write(fd, b"\0" * 4096):
                pass
    finally:
        os.close(fd)


def test_full_filesystem_drops_series_counts_them_and_never_kills_a_process(tmp_path, caplog):
    with tiny_tmpfs(tmp_path) as mnt:
        directory = str(mnt / "metrics")
        metrics.configure(directory=directory)
        metrics._log_once.clear()
        try:
            OTHER.labels("before").inc(7)

            def writer():
                OTHER.labels("before").inc(1)
                fill(mnt)
                for n in range(20000):  # far more values than the filesystem can hold
                    SERIES.labels("full%d" % n).inc()
                OTHER.labels("before").inc(1)  # known series still count

            status = wait(fork(writer), timeout=60)
            assert not os.WIFSIGNALED(status), "writer killed by signal %s" % os.WTERMSIG(status)
            assert os.WEXITSTATUS(status) == 0
            # a new process on the full filesystem cannot set up its slot: it goes on, recording nothing
            status = wait(fork(lambda: OTHER.labels("new-proc").inc()), timeout=30)
            assert not os.WIFSIGNALED(status) and os.WEXITSTATUS(status) == 0
            got = scrape()
            assert got[("odoo_test_faults_other_total", (("tenant", "before"),))] == 9
            stored = [k for k in got if k[0] == "odoo_test_faults_total"]
            assert 0 < len(stored) < 20000
            assert all(got[k] == 1 for k in stored)
            assert got[("odoo_metrics_dropped_series_total", (("reason", "no_space"),))] >= 1
            # space comes back: the next process takes over the slot and records again
            os.unlink(mnt / "filler")
            assert wait(fork(lambda: SERIES.labels("later").inc(2))) == 0
            got = scrape()
            assert got[("odoo_test_faults_total", (("n", "later"),))] == 2
            assert got[("odoo_test_faults_other_total", (("tenant", "before"),))] == 9
        finally:
            metrics.configure(directory=str(tmp_path / "unused"))


def test_values_file_space_is_reserved_not_sparse(mdir):
    OTHER.labels("x").inc()
    st = os.stat(os.path.join(mdir, "slot-0.values"))
    assert st.st_blocks * 512 >= (slotfile.HEADER_FLOATS + slot_writer.RESERVE_CHUNK) * 8
    # ...and only what is used (plus one chunk), not the whole address space
    assert st.st_blocks * 512 < st.st_size


def test_labels_file_lines_survive_concurrent_processes(mdir):
    metrics.configure(max_tenants=1000)

    def child(k):
        for i in range(50):
            name = "p%d-%d" % (k, i)
            for _ in range(40):  # a busy lock gives the overflow label this once: ask again
                if metrics.tenant_label(name) == name:
                    break
            else:
                raise AssertionError(name)

    pids = [fork(lambda k=k: child(k)) for k in range(4)]
    for pid in pids:
        assert wait(pid, timeout=60) == 0
    with open(os.path.join(mdir, "labels-tenant"), "rb") as f:
        lines = f.read().decode().splitlines()
    expected = sorted("p%d-%d" % (k, i) for k in range(4) for i in range(50))
    assert sorted(json.loads(x) for x in lines) == expected


# -- the request hot path ---------------------------------------------------------

GH = metrics.histogram("odoo_test_faults_seconds", "Fault test histogram.", ("route",), buckets=(0.1, 1.0))


def test_group_records_like_single_updates_across_forks_and_new_directories(mdir, tmp_path):
    grp = metrics.group([OTHER.labels("g"), GH.labels("/g")])
    grp.record((2.0, 0.05))
    assert wait(fork(lambda: grp.record((3.0, 5.0)))) == 0  # a forked worker rebinds to its own slot
    got = scrape()
    assert got[("odoo_test_faults_other_total", (("tenant", "g"),))] == 5
    assert got[("odoo_test_faults_seconds_bucket", (("le", "0.1"), ("route", "/g")))] == 1
    assert got[("odoo_test_faults_seconds_count", (("route", "/g"),))] == 2
    assert got[("odoo_test_faults_seconds_sum", (("route", "/g"),))] == 5.05
    grp.record((-1.0, 0.5))  # a counter never goes down
    assert scrape()[("odoo_test_faults_other_total", (("tenant", "g"),))] == 5
    metrics.configure(directory=str(tmp_path / "other"))
    grp.record((1.0, 0.5))
    assert scrape()[("odoo_test_faults_other_total", (("tenant", "g"),))] == 1
    with pytest.raises(TypeError):
        metrics.group([metrics.gauge("odoo_test_faults_g", "x").labels()])


def test_a_slot_that_cannot_be_read_is_left_out_not_shown_as_zero(mdir):
    OTHER.labels("mine").inc(1)
    assert wait(fork(lambda: OTHER.labels("theirs").inc(4))) == 0
    assert scrape()[("odoo_test_faults_other_total", (("tenant", "theirs"),))] == 4
    theirs = next(n for n in metrics.get_store().slot_numbers() if n != metrics.get_store().owned.number)
    with open(os.path.join(mdir, "slot-%d.values" % theirs), "r+b") as f:
        f.write(b"\0" * 8)  # its header is no longer valid
    got = scrape()
    assert ("odoo_test_faults_other_total", (("tenant", "theirs"),)) not in got  # absent, never 0
    assert got[("odoo_test_faults_other_total", (("tenant", "mine"),))] == 1
