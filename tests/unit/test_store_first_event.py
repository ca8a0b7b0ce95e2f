"""Zero before the first event (Odoo-free): a new counter or histogram series reads 0 for the
store's hold, so Prometheus' ``rate()``/``increase()`` see its first increment, and the outcomes
of one label set are born together."""

import time

import pytest
from store_scrape import fork, scrape, value, wait

from logistics_observability.core import metrics, slotfile

RUNS = metrics.counter(
    "odoo_test_first_runs_total",
    "Test runs.",
    ("tenant", "workflow", "outcome"),
    born_together={"outcome": ("success", "failure")},
)
PLAIN = metrics.counter("odoo_test_first_plain_total", "Test counter.", ("tenant",))
HIST = metrics.histogram("odoo_test_first_seconds", "Test histogram.", ("tenant",), buckets=(0.1, 1.0))
GAUGE = metrics.gauge("odoo_test_first_gauge", "Test gauge.", ("tenant",))


@pytest.fixture
def mdir(tmp_path):
    directory = str(tmp_path / "metrics")
    metrics.configure(directory=directory, hold=0.0)
    metrics._log_once.clear()
    yield directory
    metrics.configure(directory=str(tmp_path / "unused"), hold=0.0)


def fork_and_wait(fn):
    wait(fork(fn))


def test_a_new_series_reads_zero_during_the_hold_then_its_value(mdir):
    metrics.configure(hold=0.6)
    PLAIN.labels("t1").inc(3)
    HIST.labels("t1").observe(0.5)
    GAUGE.labels("t1").set(7)
    assert value("odoo_test_first_plain_total", tenant="t1") == 0
    assert value("odoo_test_first_seconds_count", tenant="t1") == 0
    assert value("odoo_test_first_seconds_bucket", tenant="t1", le="+Inf") == 0
    assert value("odoo_test_first_seconds_sum", tenant="t1") == 0
    assert value("odoo_test_first_gauge", tenant="t1") == 7  # gauges are never held
    time.sleep(0.7)
    assert value("odoo_test_first_plain_total", tenant="t1") == 3
    assert value("odoo_test_first_seconds_count", tenant="t1") == 1
    assert value("odoo_test_first_seconds_sum", tenant="t1") == 0.5
    # an old series' later increments show at once
    PLAIN.labels("t1").inc()
    assert value("odoo_test_first_plain_total", tenant="t1") == 4


def test_hold_zero_shows_values_at_once(mdir):
    PLAIN.labels("t2").inc(2)
    assert value("odoo_test_first_plain_total", tenant="t2") == 2


def test_the_outcomes_of_a_label_set_are_born_together(mdir):
    RUNS.labels(tenant="a", workflow="dispatch", outcome="success").inc()
    assert value("odoo_test_first_runs_total", tenant="a", workflow="dispatch", outcome="failure") == 0
    assert value("odoo_test_first_runs_total", tenant="a", workflow="dispatch", outcome="success") == 1
    # an unlisted outcome is born alone, other label sets are not created
    RUNS.labels(tenant="a", workflow="dispatch", outcome="other").inc()
    runs = {k: v for k, v in scrape().items() if k[0] == "odoo_test_first_runs_total"}
    assert len(runs) == 3


def test_siblings_are_born_in_each_process_slot_too(mdir):
    fork_and_wait(lambda: RUNS.labels(tenant="b", workflow="invoice", outcome="failure").inc())
    assert value("odoo_test_first_runs_total", tenant="b", workflow="invoice", outcome="success") == 0
    assert value("odoo_test_first_runs_total", tenant="b", workflow="invoice", outcome="failure") == 1


def test_a_series_keeps_its_birth_across_processes_and_take_over(mdir):
    metrics.configure(hold=0.8)
    fork_and_wait(lambda: PLAIN.labels("c").inc(5))  # the child's slot is taken over by later processes
    assert value("odoo_test_first_plain_total", tenant="c") == 0
    time.sleep(0.9)
    assert value("odoo_test_first_plain_total", tenant="c") == 5
    # another process writing the same series later does not make it young again
    fork_and_wait(lambda: PLAIN.labels("c").inc(1))
    fork_and_wait(lambda: PLAIN.labels("c").inc(1))
    assert value("odoo_test_first_plain_total", tenant="c") == 7


def test_the_zero_sample_comes_before_the_first_increment_for_every_scraper(mdir):
    """Two scrapers (an HA pair) 0.2 s apart each see 0 before the value, never the value first."""
    metrics.configure(hold=0.5)
    seen = {"a": [], "b": []}
    PLAIN.labels("d").inc()
    start = time.monotonic()
    while time.monotonic() - start < 1.2:
        for scraper in ("a", "b"):
            seen[scraper].append(value("odoo_test_first_plain_total", tenant="d"))
            time.sleep(0.1)
    for samples in seen.values():
        assert samples[0] == 0
        assert samples[-1] == 1
        assert samples == sorted(samples)  # 0 ... 0 1 ... 1: never back to 0


def test_old_records_without_birth_are_not_held(mdir):
    metrics.configure(hold=60)
    PLAIN.labels("e").inc(2)
    st = metrics.get_store()
    layout = slotfile.Layout()
    owned = st.owned
    layout.feed(slotfile.read_range(owned.keys_fd, 0, owned.qmv[1]))
    assert layout.born and all(b > 0 for b in layout.born)
    # a record of an older writer: ["S", name, labels] without its birth
    rec = slotfile.record(["S", "odoo_test_first_plain_total", ["old"]])
    legacy = slotfile.Layout()
    legacy.feed(
        slotfile.record(["M", "odoo_test_first_plain_total", "counter", "h", ["tenant"], [], ""]) + rec
    )
    assert legacy.born == [0.0]


def test_born_together_declarations_are_checked():
    with pytest.raises(ValueError):
        metrics.counter("odoo_test_first_bad_total", "x", ("tenant",), born_together={"outcome": ("a", "b")})
    with pytest.raises(ValueError):
        metrics.counter("odoo_test_first_bad2_total", "x", ("outcome",), born_together={"outcome": ("a",)})
    with pytest.raises(ValueError):
        metrics.counter(
            "odoo_test_first_bad3_total", "x", ("outcome",), born_together={"outcome": ("a", "a")}
        )


def test_the_hold_is_configured_in_seconds_with_a_safe_default(caplog):
    from logistics_observability.core import config

    assert config.load({}, environ={}).new_series_hold == 90
    assert config.load({"observability_new_series_hold": "15"}, environ={}).new_series_hold == 15
    env = {"ODOO_OBSERVABILITY_NEW_SERIES_HOLD": "0"}
    assert config.load({"observability_new_series_hold": "15"}, environ=env).new_series_hold == 0
    for bad in ("-1", "nan", "soon", "7200"):
        cfg = config.load({"observability_new_series_hold": bad}, environ={})
        assert cfg.new_series_hold == 90  # the default stays, the key is named
        assert "observability_new_series_hold" in cfg.errors
    assert "invalid observability_new_series_hold" in caplog.text
