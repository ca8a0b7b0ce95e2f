"""The multi-process store with real processes (fork, exec, SIGKILL)."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from store_scrape import fork, scrape, value, wait

from logistics_observability.core import exposition, metrics, slot_writer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def mdir(tmp_path):
    directory = str(tmp_path / "metrics")
    metrics.configure(directory=directory, max_tenants=2000, max_routes=200)
    metrics._log_once.clear()
    yield directory
    metrics.configure(directory=str(tmp_path / "unused"))


C = metrics.counter("odoo_test_store_total", "Test counter.", ("tenant",))
H = metrics.histogram("odoo_test_store_seconds", "Test histogram.", ("route",), buckets=(0.1, 1.0))
LIVE = metrics.gauge("odoo_test_store_live", "Live gauge.", (), mode="livesum")
RECENT = metrics.gauge("odoo_test_store_recent", "Most recent gauge.", ("k",))
GMAX = metrics.gauge("odoo_test_store_max", "Max gauge.", (), mode="max")


def test_values_of_all_processes_are_summed(mdir):
    C.labels("a").inc(2)
    pids = [fork(lambda i=i: C.labels("a").inc(10 + i)) for i in range(3)]
    for pid in pids:
        wait(pid)
    assert value("odoo_test_store_total", tenant="a") == 2 + 10 + 11 + 12


def test_sigkilled_process_loses_nothing_and_slot_is_reused(mdir):
    r, w = os.pipe()

    def victim():
        for _ in range(1000):
            C.labels("k").inc()
        H.labels("/x").observe(0.5)
        LIVE.inc(5)
        os.write(w, b"x")
        time.sleep(60)

    pid = fork(victim)
    assert os.read(r, 1) == b"x"
    assert value("odoo_test_store_live") == 5.0  # live while the process lives
    os.kill(pid, signal.SIGKILL)
    wait(pid)
    assert value("odoo_test_store_total", tenant="k") == 1000
    assert value("odoo_test_store_seconds_count", route="/x") == 1
    assert value("odoo_test_store_seconds_bucket", route="/x", le="1.0") == 1
    assert value("odoo_test_store_seconds_bucket", route="/x", le="0.1") == 0
    assert not value("odoo_test_store_live")  # dead processes do not count in livesum gauges
    # 50 more short-lived processes (recycled workers): totals add up, files stay bounded
    for _ in range(50):
        wait(fork(lambda: (C.labels("k").inc(), LIVE.inc())))
    assert value("odoo_test_store_total", tenant="k") == 1050
    assert not value("odoo_test_store_live")
    assert len(metrics.get_store().slot_numbers()) <= 2


def test_take_over_resets_live_gauges_but_keeps_counters(mdir):
    wait(fork(lambda: (LIVE.inc(3), C.labels("t").inc(7), GMAX.set(4))))
    wait(fork(lambda: (C.labels("t").inc(1), GMAX.set(2))))  # same slot, taken over
    assert value("odoo_test_store_total", tenant="t") == 8
    assert value("odoo_test_store_max") == 4
    assert not value("odoo_test_store_live")


def test_mostrecent_gauge_keeps_last_set(mdir):
    RECENT.labels("x").set(1)
    wait(fork(lambda: RECENT.labels("x").set(42)))
    assert value("odoo_test_store_recent", k="x") == 42
    RECENT.labels("x").set(7)
    assert value("odoo_test_store_recent", k="x") == 7


def test_exec_process_shares_the_store(mdir):
    """The gevent process is exec'd, not forked: it must write to the same store."""
    code = textwrap.dedent("""
        import sys, types
        pkg = types.ModuleType("logistics_observability"); pkg.__path__ = [sys.argv[1]]
        sys.modules["logistics_observability"] = pkg
        from logistics_observability.core import metrics
        metrics.configure(directory=sys.argv[2])
        metrics.counter("odoo_test_store_total", "Test counter.", ("tenant",)).labels("g").inc(5)
    """)
    addon = os.path.join(ROOT, "addons", "logistics_observability")
    subprocess.run([sys.executable, "-c", code, addon, mdir], check=True, timeout=30)
    C.labels("g").inc()
    assert value("odoo_test_store_total", tenant="g") == 6


def test_threads_lose_no_update(mdir):
    def work():
        child = C.labels("threads")
        for _ in range(5000):
            child.inc()
            H.labels("/t").observe(0.05)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert value("odoo_test_store_total", tenant="threads") == 40000
    assert value("odoo_test_store_seconds_count", route="/t") == 40000


def test_fork_child_never_writes_to_parent_slot(mdir):
    C.labels("p").inc()
    parent_slot = metrics.get_store().owned.number
    r, w = os.pipe()

    def child():
        C.labels("p").inc()
        os.write(w, str(metrics.get_store().owned.number).encode())

    wait(fork(child))
    assert int(os.read(r, 16)) != parent_slot
    assert value("odoo_test_store_total", tenant="p") == 2


def test_wipe_clears_a_previous_run_but_not_live_slots(mdir):
    r, w = os.pipe()

    def live():
        C.labels("live").inc(1)
        os.write(w, b"x")
        time.sleep(60)

    pid = fork(live)
    os.read(r, 1)
    wait(fork(lambda: C.labels("old").inc(3)))  # a dead process of the "previous run"
    try:
        assert value("odoo_test_store_total", tenant="old") == 3
        metrics.wipe()
        assert value("odoo_test_store_total", tenant="old") is None
        assert value("odoo_test_store_total", tenant="live") == 1
    finally:
        os.kill(pid, signal.SIGKILL)
        wait(pid)


def test_label_caps_hold_for_the_whole_instance(mdir):
    metrics.configure(max_tenants=3, max_routes=2)
    try:
        r, w = os.pipe()

        def child():
            got = [metrics.tenant_label("db%d" % i) for i in range(2)]
            os.write(w, ",".join(got).encode())

        wait(fork(child))
        assert os.read(r, 100).decode() == "db0,db1"
        assert metrics.tenant_label("db5") == "db5"  # third distinct value in the instance
        assert metrics.tenant_label("db6") == metrics.TENANT_OVERFLOW
        assert metrics.tenant_label("db0") == "db0"
        assert metrics.tenant_label("") == ""
        assert metrics.route_label("/a") == "/a"
        assert metrics.route_label("/b") == "/b"
        assert metrics.route_label("/c") == metrics.ROUTE_OTHER
    finally:
        metrics.configure(max_tenants=2000, max_routes=200)


def test_full_store_drops_new_series_without_raising(tmp_path, caplog):
    metrics._log_once.clear()
    metrics.configure(directory=str(tmp_path / "small"), capacity=4)
    try:
        for i in range(10):
            C.labels("full%d" % i).inc()
        assert "metrics store full" in caplog.text
        assert caplog.text.count("metrics store full") == 1
        found = {k[1] for k in scrape() if k[0] == "odoo_test_store_total"}
        assert len(found) == 4
    finally:
        metrics.configure(directory=str(tmp_path / "unused"), capacity=slot_writer.DEFAULT_CAPACITY)


def test_broken_store_never_raises(tmp_path, caplog):
    metrics._log_once.clear()
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    metrics.configure(directory=str(blocker / "metrics"))
    try:
        C.labels("x").inc()
        H.labels("/y").observe(1)
        LIVE.set(1)
        assert metrics.tenant_label("db") == metrics.TENANT_OVERFLOW
        text = exposition.generate().decode()  # still answers
        assert "odoo_test_store_total" not in text
        assert "cannot update odoo_test_store_total" in caplog.text
        C.labels("x").inc()
        assert caplog.text.count("cannot update odoo_test_store_total") == 1
    finally:
        metrics.configure(directory=str(tmp_path / "unused"))


def test_counter_refuses_to_go_down(mdir):
    C.labels("neg").inc(3)
    C.labels("neg").inc(-1)
    assert value("odoo_test_store_total", tenant="neg") == 3


def test_bad_labels_are_ignored(mdir, caplog):
    C.labels(nope="x").inc()
    C.inc()  # missing labels
    assert "bad labels" in caplog.text or "needs labels" in caplog.text
