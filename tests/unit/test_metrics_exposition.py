"""Exposition formats, collectors, auth decisions and configuration parsing."""

import logging
import os
import time

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from logistics_observability.core import auth, config, exposition, metrics


@pytest.fixture(autouse=True)
def mdir(tmp_path):
    metrics.configure(directory=str(tmp_path / "metrics"))
    yield
    for name in metrics.collectors():
        metrics.unregister_collector(name)
    metrics.configure(directory=str(tmp_path / "unused"))


def samples(text, openmetrics=False):
    parser = parse_openmetrics if openmetrics else parse_text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for fam in parser(text) for s in fam.samples}


def test_text_and_openmetrics_parse_with_prometheus_client():
    c = metrics.counter("odoo_test_expo_total", 'Help with "quotes" and \\ and\nnewline.', ("tenant",))
    c.labels('we"ird\\db\nx').inc(3)
    h = metrics.histogram("odoo_test_expo_seconds", "Hist.", ("route",), buckets=(0.1, 1))
    h.labels("/a").observe(0.05)
    h.labels("/a").observe(5)
    metrics.set_build_info(version="18.0", release="r1", env="prod", region="eu", service="odoo")
    for openmetrics in (False, True):
        text = exposition.generate(openmetrics).decode()
        got = samples(text, openmetrics)
        assert got[("odoo_test_expo_total", (("tenant", 'we"ird\\db\nx'),))] == 3
        assert got[("odoo_test_expo_seconds_bucket", (("le", "0.1"), ("route", "/a")))] == 1
        assert got[("odoo_test_expo_seconds_bucket", (("le", "+Inf"), ("route", "/a")))] == 2
        assert got[("odoo_test_expo_seconds_count", (("route", "/a"),))] == 2
        assert got[("odoo_test_expo_seconds_sum", (("route", "/a"),))] == pytest.approx(5.05)
        assert (
            got[
                (
                    "odoo_build_info",
                    (
                        ("env", "prod"),
                        ("region", "eu"),
                        ("release", "r1"),
                        ("service", "odoo"),
                        ("version", "18.0"),
                    ),
                )
            ]
            == 1
        )
    assert exposition.generate(True).decode().endswith("# EOF\n")


def test_collectors_report_up_and_failures_do_not_break_the_scrape(caplog):
    def good():
        fam = metrics.Family("odoo_test_pg_up", "gauge", "Up.")
        return [fam.add(1)]

    def bad():
        raise RuntimeError("database down")

    def slow():
        time.sleep(5)
        return []

    metrics.register_collector("good", good)
    metrics.register_collector("bad", bad)
    metrics.register_collector("slow", slow, timeout=0.3)
    start = time.perf_counter()
    with caplog.at_level(logging.WARNING):
        got = samples(exposition.generate().decode())
    assert time.perf_counter() - start < 2
    assert got[("odoo_test_pg_up", ())] == 1
    assert got[("odoo_collector_up", (("collector", "good"),))] == 1
    assert got[("odoo_collector_up", (("collector", "bad"),))] == 0
    assert got[("odoo_collector_up", (("collector", "slow"),))] == 0
    assert ("odoo_collector_duration_seconds", (("collector", "good"),)) in got
    assert "database down" in caplog.text
    # a collector still running from the previous scrape is not started again
    got = samples(exposition.generate().decode())
    assert got[("odoo_collector_up", (("collector", "slow"),))] == 0


def test_metric_definitions_are_validated_and_idempotent():
    a = metrics.counter("odoo_test_def_total", "X.", ("a",))
    assert metrics.counter("odoo_test_def_total", "X.", ("a",)) is a
    with pytest.raises(ValueError):
        metrics.counter("odoo_test_def_total", "X.", ("b",))
    with pytest.raises(ValueError):
        metrics.counter("odoo_test_no_suffix", "X.")
    with pytest.raises(ValueError):
        metrics.gauge("odoo_test_mode", "X.", mode="bogus")
    with pytest.raises(ValueError):
        metrics.histogram("odoo_test_le", "X.", ("le",))


def test_labels_by_name_or_position_are_one_series_and_bad_labels_fail_open(caplog):
    c = metrics.counter("odoo_test_lbl_total", "X.", ("tenant", "key", "child"))
    c.labels(tenant="a", key="k", child="c").inc()
    c.labels("a", "k", "c").inc(2)
    c.labels(child="c", tenant="a", key="k").inc(3)
    c.labels(200, "k", "c").inc()  # values are text on the wire
    k = metrics.counter("odoo_test_lbl_kw_total", "X.", ("class", "tenant"))  # not a parameter name
    k.labels(**{"class": "x", "tenant": "a"}).inc()
    k.labels("x", "a").inc()
    h = metrics.histogram("odoo_test_lbl_seconds", "X.", ("route",), buckets=(0.1, 1))
    h.labels(route="/a").observe(0.05)
    h.labels("/a").observe(0.5)
    with caplog.at_level(logging.WARNING):
        for bad in (
            lambda: c.labels(tenant="a", key="k"),
            lambda: c.labels("a", "k"),
            lambda: c.labels(tenant="a", key="k", child="c", extra="x"),
            lambda: c.labels("a", "k", "c", "d"),
            lambda: c.labels(tenant="a", key="k", kid="c"),
            lambda: k.labels("x"),
            lambda: h.labels(),
            lambda: h.labels(path="/a"),
        ):
            child = bad()
            child.inc()
            child.observe(1)
    assert "bad labels for odoo_test_lbl_total" in caplog.text
    got = samples(exposition.generate().decode())
    assert got[("odoo_test_lbl_total", (("child", "c"), ("key", "k"), ("tenant", "a")))] == 6
    assert got[("odoo_test_lbl_total", (("child", "c"), ("key", "k"), ("tenant", "200")))] == 1
    assert got[("odoo_test_lbl_kw_total", (("class", "x"), ("tenant", "a")))] == 2
    assert got[("odoo_test_lbl_seconds_count", (("route", "/a"),))] == 2
    assert sum(1 for name, _labels in got if name == "odoo_test_lbl_total") == 2


@pytest.mark.parametrize(
    "token,headers,peer,expected",
    [
        (None, {}, "127.0.0.1", 200),
        (None, {}, "::1", 200),
        (None, {}, "::ffff:127.0.0.1", 200),
        (None, {"X-Forwarded-For": "127.0.0.1"}, "127.0.0.1", 403),
        (None, {"Forwarded": "for=127.0.0.1"}, "127.0.0.1", 403),
        (None, {}, "10.1.2.3", 403),
        ("s3cret", {}, "127.0.0.1", 401),
        ("s3cret", {"Authorization": "Bearer wrong"}, "127.0.0.1", 401),
        ("s3cret", {"Authorization": "Basic czNjcmV0"}, "127.0.0.1", 401),
        ("s3cret", {"Authorization": "Bearer s3cret"}, "10.1.2.3", 200),
        ("s3cret", {"Authorization": "bearer s3cret", "X-Forwarded-For": "1.2.3.4"}, "10.1.2.3", 200),
    ],
)
def test_auth_matrix(token, headers, peer, expected):
    assert auth.check(headers, peer, token) == expected


def test_metrics_response_content_types():
    cfg = config.load({})
    status, headers, _body = exposition.metrics_response({}, "127.0.0.1", cfg)
    assert status == 200 and dict(headers)["Content-Type"] == exposition.TEXT_CONTENT_TYPE
    status, headers, body = exposition.metrics_response(
        {"Accept": "application/openmetrics-text; version=1.0.0"}, "127.0.0.1", cfg
    )
    assert dict(headers)["Content-Type"].startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
    cfg.metrics_token = "t"
    status, headers, _body = exposition.metrics_response({}, "127.0.0.1", cfg)
    assert status == 401 and dict(headers)["WWW-Authenticate"].startswith("Bearer")


def test_config_defaults_env_overrides_and_bad_values(caplog):
    cfg = config.load({"data_dir": "/srv/odoo", "http_port": 8070}, environ={}, odoo_version="18.0")
    # local and per boot, private to the user; never under data_dir (replicas share the filestore)
    assert not cfg.metrics_dir.startswith("/srv/odoo")
    assert cfg.metrics_dir.endswith("/odoo-observability-%d/8070" % os.getuid())
    assert os.stat(os.path.dirname(cfg.metrics_dir)).st_mode & 0o777 == 0o700
    assert (cfg.env, cfg.region, cfg.service, cfg.release) == ("prod", "default", "odoo", "18.0")
    assert cfg.max_tenants == 2000 and cfg.max_routes == 200 and cfg.metrics_port is None
    cfg = config.load(
        {"observability_metrics_port": "9100", "observability_env": "staging"},
        environ={"ODOO_OBSERVABILITY_ENV": "dev", "ODOO_OBSERVABILITY_METRICS_TOKEN": "Zq9secret"},
    )
    assert cfg.metrics_port == 9100 and cfg.env == "dev" and cfg.metrics_token == "Zq9secret"
    assert "Zq9secret" not in repr(cfg)
    with caplog.at_level(logging.ERROR):
        cfg = config.load(
            {
                "observability_metrics_port": "nine",
                "observability_redis_url": "http://x",
                "observability_log_format": "xml",
                "observability_max_tenants": "-1",
            },
            environ={},
        )
    assert cfg.metrics_port is None and cfg.redis_url is None
    assert cfg.log_format == "text" and cfg.max_tenants == 2000
    for key in (
        "observability_metrics_port",
        "observability_redis_url",
        "observability_log_format",
        "observability_max_tenants",
    ):
        assert key in caplog.text
