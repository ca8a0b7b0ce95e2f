"""The metric store's capacity: one process that served 2,000 tenants keeps every series, and a
slot that is too small (values or keys) drops new series and counts them, never more."""

import os

import pytest
from store_scrape import fork, scrape, wait

from logistics_observability.core import buckets, config, exposition, labelcaps, metrics, slot_writer

TENANTS = 2000
RUNS = metrics.counter("odoo_test_cap_runs_total", "Runs.", ("tenant", "workflow", "outcome"))
DURATION = metrics.histogram(
    "odoo_test_cap_duration_seconds", "Durations.", ("tenant", "workflow"), buckets=buckets.WORKFLOW_DURATION
)
LONG = metrics.counter("odoo_test_cap_long_total", "Long label values.", ("tenant",))
# per tenant: 2 histograms of buckets + _count + _sum, the rest counters: 100 series in /metrics
HISTOGRAM_SERIES = len(buckets.WORKFLOW_DURATION) + 3
COUNTERS = 100 - 2 * HISTOGRAM_SERIES


@pytest.fixture
def mdir(tmp_path):
    directory = str(tmp_path / "metrics")
    metrics.configure(directory=directory, max_tenants=TENANTS, capacity=slot_writer.DEFAULT_CAPACITY)
    metrics._log_once.clear()
    yield directory
    metrics.configure(directory=str(tmp_path / "unused"), capacity=slot_writer.DEFAULT_CAPACITY)


def _exposed(text, prefix):
    return sum(1 for line in text.splitlines() if line.startswith(prefix))


def _store_full(text):
    for line in text.splitlines():
        if line.startswith('odoo_metrics_dropped_series_total{reason="store_full"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_one_process_serving_2000_tenants_of_100_series_keeps_them_all(mdir):
    for t in range(TENANTS):
        tenant = metrics.tenant_label("tenant-logistics-%04d" % t)
        for w in ("sale_order_confirm", "stock_picking_validate"):
            DURATION.labels(tenant=tenant, workflow=w).observe(0.3)
        for c in range(COUNTERS):
            RUNS.labels(
                tenant=tenant, workflow="workflow_%02d" % (c // 2), outcome=("success", "failure")[c % 2]
            ).inc()
    text = exposition.generate().decode()
    assert _exposed(text, "odoo_test_cap_") == TENANTS * 100
    assert _store_full(text) == 0
    assert 'tenant="__overflow__"' not in text
    # bounded: memory and disk taken as series are written, far below the slot's bounds
    values = os.stat(os.path.join(mdir, "slot-0.values"))
    assert values.st_blocks * 512 <= 4 << 20 < values.st_size
    keys = os.path.getsize(os.path.join(mdir, "slot-0.keys"))
    assert keys <= 16 << 20 < slot_writer.key_limit(slot_writer.DEFAULT_CAPACITY)


def test_a_slot_too_small_for_its_values_drops_new_series_and_counts_them(mdir):
    metrics.configure(directory=mdir + "-small", capacity=3 * HISTOGRAM_SERIES)
    for t in range(10):
        DURATION.labels(tenant="db%d" % t, workflow="w").observe(1.0)
    got = scrape()
    kept = {k[1] for k in got if k[0] == "odoo_test_cap_duration_seconds_count"}
    assert len(kept) == 3
    assert all(got[("odoo_test_cap_duration_seconds_count", k)] == 1 for k in kept)
    assert got[("odoo_metrics_dropped_series_total", (("reason", "store_full"),))] == 7
    DURATION.labels(tenant="db0", workflow="w").observe(1.0)  # a stored series still counts
    assert scrape()[("odoo_test_cap_duration_seconds_count", (("tenant", "db0"), ("workflow", "w")))] == 2


def test_the_keys_file_is_bounded_too(mdir):
    capacity = 20000  # room for 20,000 counters, keys for about 6,000 of these
    metrics.configure(directory=mdir + "-keys", capacity=capacity)
    limit = slot_writer.key_limit(capacity)
    for t in range(8000):
        LONG.labels(tenant=("t%05d-" % t).ljust(200, "x")).inc()
    got = scrape()
    kept = sum(1 for k in got if k[0] == "odoo_test_cap_long_total")
    dropped = got[("odoo_metrics_dropped_series_total", (("reason", "store_full"),))]
    assert 4000 < kept < 8000 and kept + dropped == 8000
    assert os.path.getsize(os.path.join(mdir + "-keys", "slot-0.keys")) <= limit


def test_store_capacity_option_and_its_bounds():
    assert config.load({}, environ={}).store_capacity == slot_writer.DEFAULT_CAPACITY
    cfg = config.load({"observability_store_capacity": "4194304"}, environ={})
    assert cfg.store_capacity == 4 << 20
    cfg = config.load({}, environ={"ODOO_OBSERVABILITY_STORE_CAPACITY": "100"})
    assert cfg.store_capacity == slot_writer.DEFAULT_CAPACITY
    assert "observability_store_capacity" in cfg.errors


def test_admitting_tenants_reads_each_line_of_the_shared_caps_file_once(mdir, monkeypatch):
    """The 2,000th tenant costs one line, not the 1,999 before it (in every process)."""
    pread = os.pread
    read = []
    monkeypatch.setattr(labelcaps.os, "pread", lambda fd, n, at: read.append(n) or pread(fd, n, at))
    metrics.configure(max_tenants=TENANTS + 5)
    try:
        assert all(metrics.tenant_label("db%04d" % t) == "db%04d" % t for t in range(TENANTS))
        size = os.path.getsize(os.path.join(mdir, "labels-tenant"))
        assert sum(read) <= size
        # another process admits the last 5: this one reads them and then overflows
        assert wait(fork(lambda: [metrics.tenant_label("other%d" % t) for t in range(5)])) == 0
        assert metrics.tenant_label("late") == metrics.TENANT_OVERFLOW
        assert metrics.tenant_label("other4") == "other4"
        assert sum(read) <= os.path.getsize(os.path.join(mdir, "labels-tenant"))
    finally:
        metrics.configure(max_tenants=TENANTS)


def test_values_disk_space_is_reserved_a_chunk_at_a_time(mdir, monkeypatch):
    fallocate = os.posix_fallocate
    calls = []
    monkeypatch.setattr(os, "posix_fallocate", lambda fd, at, n: calls.append(n) or fallocate(fd, at, n))
    for t in range(20000):
        LONG.labels(tenant="t%d" % t).inc()
    assert len(calls) <= 20000 // slot_writer.RESERVE_CHUNK + 2
    assert sum(calls) <= (20000 + 2 * slot_writer.RESERVE_CHUNK) * 8
    assert scrape()[("odoo_test_cap_long_total", (("tenant", "t19999"),))] == 1
