"""Exemplars: shared across processes (latest wins), bounded, only in OpenMetrics, written as the
library writes them."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

from logistics_observability.core import context, exemplars, exposition, metrics

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(autouse=True)
def mdir(tmp_path):
    metrics.configure(directory=str(tmp_path / "metrics"))
    yield str(tmp_path / "metrics")
    metrics.configure(directory=str(tmp_path / "unused"))


def _hist():
    return metrics.histogram("odoo_test_ex_seconds", "Latency.", ("route", "method"), buckets=(0.1, 0.5, 1.0))


def test_latest_exemplar_wins_across_processes(mdir):
    h = _hist()
    h.labels("/a", "GET").observe(0.3)
    pids = []
    for n, when in enumerate((100.0, 300.0, 200.0)):  # the middle one is the latest
        pid = os.fork()
        if pid == 0:
            ok = exemplars.record(mdir, h.name, ["/a", "GET"], h.buckets, 0.3, "%032x" % (n + 1), when=when)
            os._exit(0 if ok or when == 200.0 else 1)
        os.waitpid(pid, 0)
        pids.append(pid)
    table = exemplars.snapshot(mdir)[exemplars.name_key(h.name)]
    key = (exemplars.series_key(h.name, ("/a", "GET")), 1)  # 0.3 is in the le="0.5" bucket
    assert table[key] == ("%032x" % 2, 0.3, 300.0)
    assert len(table) == 1


def test_request_trace_id_becomes_the_exemplar_in_openmetrics_only(mdir):
    h = _hist()
    context.begin_request({"HTTP_TRACEPARENT": "00-%s-00f067aa0ba902b7-01" % TRACE})
    try:
        h.labels("/a", "GET").observe(0.7)
        assert exemplars.observe(h, ("/a", "GET"), 0.7)
        h.labels("/a", "GET").observe(5.0)
        assert exemplars.observe(h, ("/a", "GET"), 5.0, trace_id="f" * 32)
    finally:
        context.clear()
    assert not exemplars.observe(h, ("/a", "GET"), 0.2)  # no request, no trace: nothing recorded
    om = exposition.generate(True).decode()
    assert '_bucket{le="1.0",method="GET",route="/a"} 1.0 # {trace_id="%s"} 0.7 ' % TRACE in om
    assert '_bucket{le="+Inf",method="GET",route="/a"} 2.0 # {trace_id="%s"} 5.0 ' % ("f" * 32) in om
    assert '_bucket{le="0.1",method="GET",route="/a"} 0.0\n' in om
    fam = next(f for f in parse_openmetrics(om) if f.name == "odoo_test_ex_seconds")
    found = {s.labels["le"]: s.exemplar for s in fam.samples if s.exemplar}
    assert found["1.0"].labels == {"trace_id": TRACE} and found["1.0"].value == 0.7
    assert " # " not in exposition.generate(False).decode()


def test_table_is_bounded_and_fails_open(mdir, tmp_path):
    h = _hist()
    for i in range(exemplars.ENTRIES + 500):
        exemplars.record(mdir, h.name, ["/r%d" % i, "GET"], h.buckets, 0.05, TRACE, when=float(i))
    assert os.path.getsize(os.path.join(mdir, exemplars.FILENAME)) == exemplars.SIZE
    table = exemplars.snapshot(mdir)[exemplars.name_key(h.name)]
    assert 0.6 * exemplars.ENTRIES <= len(table) <= exemplars.ENTRIES  # hashed into 2-way sets
    # the newest ones survive eviction
    newest = exemplars.series_key(h.name, ("/r%d" % (exemplars.ENTRIES + 499), "GET"))
    assert table[(newest, 0)][2] == float(exemplars.ENTRIES + 499)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert exemplars.record(str(blocker / "m"), h.name, ["/a", "GET"], h.buckets, 0.3, TRACE) is False
    assert exemplars.snapshot(str(blocker / "m")) == {}
    exemplars.clear(mdir)
    assert exemplars.snapshot(mdir) == {}


def test_a_fresh_bucket_is_not_written_again(mdir, monkeypatch):
    h = _hist()
    clock = [1000.0]
    monkeypatch.setattr(exemplars, "_monotonic", lambda: clock[0])
    writes = []
    real_write = exemplars._write
    monkeypatch.setattr(exemplars, "_write", lambda *a: writes.append(a[5]) or real_write(*a))
    series = exemplars.series(h, ("/fresh", "GET"))
    assert exemplars.series(h, ("/fresh", "GET")) is series  # one note per series and process

    def exemplar(bucket):
        table = exemplars.snapshot(mdir)[exemplars.name_key(h.name)]
        return table[(exemplars.series_key(h.name, ("/fresh", "GET")), bucket)][0]

    assert series.observe(0.3, "1" * 32)
    assert not series.observe(0.4, "2" * 32)  # same bucket, written 0 s ago: kept, no table access
    clock[0] += exemplars.FRESH - 0.01
    assert not exemplars.observe(h, ("/fresh", "GET"), 0.3, trace_id="3" * 32)
    assert exemplar(1) == "1" * 32
    assert series.observe(0.05, "4" * 32)  # another bucket has its own note
    clock[0] += 0.01
    assert exemplars.observe(h, ("/fresh", "GET"), 0.3, trace_id="5" * 32)  # FRESH s old: written again
    assert exemplar(1) == "5" * 32 and exemplar(0) == "4" * 32
    assert writes == ["1" * 32, "4" * 32, "5" * 32]
    # a new table (the instance's restart) or a new store gets its exemplars at once
    exemplars.clear(mdir)
    assert series.observe(0.3, "6" * 32) and exemplar(1) == "6" * 32
    metrics.configure(directory=mdir + "-2")
    assert series.observe(0.3, "7" * 32)
    assert exemplars.snapshot(mdir + "-2")[exemplars.name_key(h.name)]
    # no trace (outside a request): nothing written, nothing noted
    assert not series.observe(0.8) and series.observe(0.8, "8" * 32)


def test_a_forked_process_writes_its_own_exemplars_at_once(mdir):
    h = _hist()
    assert exemplars.observe(h, ("/fork", "GET"), 0.3, trace_id="1" * 32)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if exemplars.observe(h, ("/fork", "GET"), 0.3, trace_id="2" * 32) else 1)
    assert os.waitpid(pid, 0)[1] == 0
    table = exemplars.snapshot(mdir)[exemplars.name_key(h.name)]
    assert table[(exemplars.series_key(h.name, ("/fork", "GET")), 1)][0] == "2" * 32


TRACES = st.text("0123456789abcdef", min_size=32, max_size=32)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(["/a", "/b", 'we"ird\\']), st.floats(0, 3)), min_size=1, max_size=8),
    st.lists(st.tuples(st.integers(0, 7), TRACES, st.floats(0, 10), st.floats(1e9, 2e9)), max_size=8),
)
def test_exemplars_written_byte_identical_to_the_library(observations, chosen):
    fam = metrics.Family("odoo_test_exh_seconds", "histogram", "H.", ("route",), buckets=(0.5, 1.0, 2.0))
    for route, value in observations:
        counts = [0.0, 0.0, 0.0, 0.0]
        counts[min(3, sum(value > b for b in (0.5, 1.0, 2.0)))] = 1.0
        fam.add_histogram(counts, value, route=route)
    entries = {}
    for idx, trace, value, when in chosen:
        lv = fam.samples[idx % len(fam.samples)][0]
        entries[(exemplars.series_key(fam.name, lv), idx % 4)] = (trace, value, when)
    table = {exemplars.name_key(fam.name): entries}
    for openmetrics in (False, True):
        assert exposition.encode([fam], openmetrics, table=table) == exposition.library_encode(
            [fam], openmetrics, table=table
        )
