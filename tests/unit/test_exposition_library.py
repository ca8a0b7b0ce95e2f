"""/metrics through prometheus_client: the fast writer is byte-identical to the library's encoders,
content negotiation (q-values, Prometheus 3's text 1.0.0), gzip, and family name clashes."""

import gzip
import logging
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics import exposition as om
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

from logistics_observability.core import buckets, config, exposition, metrics


@pytest.fixture(autouse=True)
def mdir(tmp_path):
    metrics.configure(directory=str(tmp_path / "metrics"))
    yield
    for name in metrics.collectors():
        metrics.unregister_collector(name)
    metrics.configure(directory=str(tmp_path / "unused"))


NAMES = st.from_regex(r"\Aodoo_[a-z][a-z0-9_:]{0,12}\Z")
LABELS = st.lists(
    st.sampled_from(["a", "kind", "le_x", "method", "route", "tenant", "zone", "_x", "Z"]),
    max_size=4,
    unique=True,
)
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(0, 10**7).map(float),
    st.sampled_from([0.0, -0.0, 1e6, 999999.0, 1234567.0, 1e16, 5e-324]),
)


@st.composite
def family(draw):
    kind = draw(st.sampled_from(["counter", "gauge", "histogram", "untyped"]))
    name = draw(NAMES)
    if kind == "counter" and draw(st.booleans()):
        name += "_total"
    labelnames = draw(LABELS)
    bounds = sorted(set(draw(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=5))))
    fam = metrics.Family(
        name, kind, draw(st.text(max_size=30)), labelnames, buckets=bounds if kind == "histogram" else None
    )
    for _ in range(draw(st.integers(0, 4))):
        labels = {n: draw(st.text(max_size=12)) for n in labelnames}
        if kind == "histogram":
            counts = draw(
                st.lists(st.integers(0, 10**9).map(float), min_size=len(bounds) + 1, max_size=len(bounds) + 1)
            )
            fam.add_histogram(counts, draw(VALUES), **labels)
        else:
            fam.add(draw(VALUES), **labels)
    return fam


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(family(), max_size=5), st.sampled_from([om.UNDERSCORES, om.ALLOWUTF8]))
def test_fast_writer_is_byte_identical_to_the_library(families, escaping):
    for openmetrics in (False, True):
        assert exposition.encode(families, openmetrics, escaping) == exposition.library_encode(
            families, openmetrics, escaping
        )


def test_fast_writer_matches_the_library_on_a_real_store():
    req = metrics.counter(
        "odoo_test_library_requests_total", "Requests.", ("tenant", "route", "method", "status")
    )
    dur = metrics.histogram(
        "odoo_test_library_duration_seconds",
        'Duration "x".\nSecond line \\.',
        ("tenant", "workflow"),
        buckets=buckets.WORKFLOW_DURATION,
    )
    for i in range(50):
        req.labels("t%02d" % i, "/web/login", "GET", "2xx").inc(i + 1)
        dur.labels('we"ird\\\n%d' % i, "dispatch").observe(i * 7.5)
    metrics.set_build_info(version="18.0", release="r1", env="prod", region="eu", service="odoo")
    families = exposition.COLLECTOR.families()
    assert families
    for openmetrics in (False, True):
        fast = exposition.generate(openmetrics)
        assert fast == exposition.library_encode(families, openmetrics)
        assert fast == (om.generate_latest if openmetrics else exposition._pc.generate_latest)(
            exposition.REGISTRY
        )
    parsed = {f.name: f for f in parse_openmetrics(exposition.generate(True).decode())}
    assert parsed["odoo_test_library_requests"].type == "counter"
    assert parsed["odoo_test_library_duration_seconds"].samples[0].labels["tenant"] == 'we"ird\\\n0'


def test_fast_writer_stays_identical_as_the_store_grows_between_scrapes():
    """The writer reuses last scrape's lines per family: series added since (here, by another
    process too), changed values and both escapings still give the library's bytes."""
    req = metrics.counter("odoo_test_grow_total", "Grow.", ("tenant", "route"))
    gauge = metrics.gauge("odoo_test_grow_sum", "Grow.", ("tenant",), mode="sum")
    for round_ in range(4):
        for i in range(round_ * 20, round_ * 20 + 30):
            req.labels("t%03d" % i, "/r/%d" % (i % 3)).inc(i + 0.5)
            gauge.labels("t%03d" % (i % 7)).inc(-1.0 if i % 2 else 0.0)
        pid = os.fork()
        if pid == 0:
            req.labels("child%d" % round_, "/c").inc(3)
            os._exit(0)
        os.waitpid(pid, 0)
        families = exposition.COLLECTOR.families()
        for escaping in (om.UNDERSCORES, om.ALLOWUTF8):
            for openmetrics in (False, True):
                assert exposition.generate(openmetrics, escaping) == exposition.library_encode(
                    families, openmetrics, escaping
                )
    text = exposition.generate().decode()
    assert 'odoo_test_grow_total{route="/c",tenant="child3"} 3.0' in text
    assert 'odoo_test_grow_total{route="/r/0",tenant="t000"} 0.5' in text


@pytest.mark.parametrize(
    "accept,ctype",
    [
        (None, "text/plain; version=0.0.4; charset=utf-8"),
        ("", "text/plain; version=0.0.4; charset=utf-8"),
        # Prometheus 2.x
        (
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
            "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
        ),
        # Prometheus 3 preferring the text format 1.0.0
        (
            "text/plain;version=1.0.0;escaping=allow-utf-8,application/openmetrics-text;version=1.0.0;q=0.9,*/*;q=0.1",
            "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
        ),
        # q-values, not order, decide; q=0 refuses
        (
            "text/plain;version=0.0.4;q=0.2,application/openmetrics-text;version=1.0.0;q=0.8",
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
        ),
        ("application/openmetrics-text;q=0,text/plain", "text/plain; version=0.0.4; charset=utf-8"),
        (
            "application/openmetrics-text;version=0.0.1,text/plain;version=0.0.4;q=0.1",
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        ("application/openmetrics-text", "application/openmetrics-text; version=1.0.0; charset=utf-8"),
        ("application/json", "text/plain; version=0.0.4; charset=utf-8"),
        (
            "text/plain;q=bogus,application/openmetrics-text;q=0.1",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
    ],
)
def test_content_negotiation(accept, ctype):
    cfg = config.load({}, environ={})
    metrics.counter("odoo_test_neg_total", "X.").inc()
    headers = {"Accept": accept} if accept is not None else {}
    status, out, body = exposition.metrics_response(headers, "127.0.0.1", cfg)
    assert status == 200
    assert dict(out)["Content-Type"] == ctype
    assert body.endswith(b"# EOF\n") == ctype.startswith("application/openmetrics-text")
    assert b"odoo_test_neg_total 1.0\n" in body


@pytest.mark.parametrize(
    "accept_encoding,gzipped",
    [
        ("gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("x-gzip", True),
        ("gzip;q=0", False),
        ("identity", False),
        (None, False),
        ("GZIP", True),
    ],
)
def test_gzip_when_accepted(accept_encoding, gzipped):
    cfg = config.load({}, environ={})
    metrics.counter("odoo_test_gz_total", "X.", ("tenant",)).labels("t1").inc()
    headers = {"Accept-Encoding": accept_encoding} if accept_encoding else {}
    _status, out, body = exposition.metrics_response(headers, "127.0.0.1", cfg)
    out = dict(out)
    assert ("Content-Encoding" in out) == gzipped
    assert "Accept-Encoding" in out["Vary"]
    plain = gzip.decompress(body) if gzipped else body
    assert plain == exposition.generate()


def test_family_name_clash_is_refused_at_definition():
    metrics.counter("odoo_test_clash_total", "X.")
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        metrics.gauge("odoo_test_clash", "X.")  # the counter's family name
    metrics.histogram("odoo_test_clash_seconds", "X.", buckets=(1.0,))
    for name in ("odoo_test_clash_seconds_count", "odoo_test_clash_seconds_bucket"):
        with pytest.raises(ValueError, match="Duplicated timeseries"):
            metrics.gauge(name, "X.")
    # the same definition again is still the same metric
    assert metrics.counter("odoo_test_clash_total", "X.") is metrics.registered()["odoo_test_clash_total"]


def test_scrape_time_family_clash_is_dropped_and_logged(caplog):
    metrics.gauge("odoo_test_dup_up", "From the store.").set(1)

    def clashing():
        return [metrics.Family("odoo_test_dup_up", "gauge", "From a collector.").add(0)]

    metrics.register_collector("clashing", clashing)
    with caplog.at_level(logging.ERROR):
        text = exposition.generate().decode()
    assert text.count("# TYPE odoo_test_dup_up gauge") == 1
    assert "odoo_test_dup_up 1.0\n" in text and "odoo_test_dup_up 0.0" not in text
    assert "odoo_test_dup_up (gauge) clashes" in caplog.text


def test_numbers_are_written_as_go_does():
    fam = metrics.Family("odoo_test_num", "gauge", "X.", ("k",))
    for i, v in enumerate((1234567.0, 999999.0, -0.0, math.inf, -math.inf, 1e16, 0.1, math.nan)):
        fam.add(v, k=str(i))
    text = exposition.encode([fam]).decode()
    for expected in (
        '{k="0"} 1.234567e+06',
        '{k="1"} 999999.0',
        '{k="2"} -0.0',
        '{k="3"} +Inf',
        '{k="4"} -Inf',
        '{k="5"} 1e+16',
        '{k="6"} 0.1',
        '{k="7"} NaN',
    ):
        assert expected in text
