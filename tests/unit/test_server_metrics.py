"""The server's contract metrics (core/server_metrics.py): one grouped update per request."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from logistics_observability.core import exposition, metrics, server_metrics


@pytest.fixture(autouse=True)
def mdir(tmp_path):
    metrics.configure(directory=str(tmp_path / "metrics"))
    server_metrics._groups.clear()
    yield
    metrics.configure(directory=str(tmp_path / "unused"))


def scrape():
    text = exposition.generate(False).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


@pytest.mark.parametrize("level", ["default", "full"])
def test_a_request_records_every_http_series_once(level, request):
    if level == "full":
        request.getfixturevalue("full_detail")
    # the default level keeps a tenant's requests by status class: per route and method they are
    # odoo_http_request_duration_seconds (no tenant)
    post, login, other, nf_route = (
        ("POST", "/web/login", "other", "__not_found__") if level == "full" else ("",) * 4
    )
    server_metrics.request_started()
    assert scrape()[("odoo_http_requests_in_flight", ())] == 1
    route, code = server_metrics.request_finished("db1", "/web/login", "post", "303 SEE OTHER", 0.2, 7, 0.05)
    assert (route, code) == ("/web/login", 303)
    server_metrics.request_finished("db1", None, "BREW", None, 0.01, 0, 0.0, in_flight=False)
    got = scrape()
    assert got[("odoo_http_requests_in_flight", ())] == 0
    key = (("method", post), ("route", login), ("status", "3xx"), ("tenant", "db1"))
    assert got[("odoo_http_requests_total", key)] == 1
    nf = (("method", other), ("route", nf_route), ("status", "5xx"), ("tenant", "db1"))
    assert got[("odoo_http_requests_total", nf)] == 1
    assert sum(1 for name, _labels in got if name == "odoo_http_requests_total") == 2
    dur = (("method", "POST"), ("route", "/web/login"))
    assert got[("odoo_http_request_duration_seconds_count", dur)] == 1
    assert got[("odoo_http_request_duration_seconds_sum", dur)] == pytest.approx(0.2)
    assert got[("odoo_http_request_sql_queries_sum", (("route", "/web/login"),))] == 7
    assert got[("odoo_http_request_sql_seconds_sum", (("route", "/web/login"),))] == pytest.approx(0.05)
    assert got[("odoo_tenant_request_seconds_total", (("tenant", "db1"),))] == pytest.approx(0.21)
    assert got[("odoo_tenant_sql_seconds_total", (("tenant", "db1"),))] == pytest.approx(0.05)
    assert got[("odoo_tenant_sql_queries_total", (("tenant", "db1"),))] == 7


def test_group_cache_is_bounded_and_counts_survive_its_reset(monkeypatch):
    monkeypatch.setattr(server_metrics, "MAX_GROUPS", 3)
    for i in range(10):
        server_metrics.request_finished("db1", "/r/%d" % (i % 5), "GET", "200 OK", 0.01, 1, 0.001, False)
    assert len(server_metrics._groups) <= 3
    got = scrape()
    assert sum(v for (n, _l), v in got.items() if n == "odoo_http_requests_total") == 10
    assert got[("odoo_tenant_sql_queries_total", (("tenant", "db1"),))] == 10


def test_process_type_is_a_live_sum():
    server_metrics.set_process_type("cron")
    assert scrape()[("odoo_worker_processes", (("type", "cron"),))] == 1


def test_known_requests_resolve_once_and_overflow_labels_are_asked_again(monkeypatch):
    calls = []
    real = metrics.tenant_label
    monkeypatch.setattr(metrics, "tenant_label", lambda db: calls.append(db) or real(db))
    for _ in range(3):
        assert server_metrics.request_finished(
            "db1", "/web/login", "GET", "200 OK", 0.01, 1, 0.001, False
        ) == (
            "/web/login",
            200,
        )
    assert calls == ["db1"]  # resolved once, then the same labels from the cache
    metrics.configure(max_tenants=1)
    for _ in range(2):
        server_metrics.request_finished("db2", "/web/login", "GET", "200 OK", 0.01, 1, 0.001, False)
    assert calls == ["db1", "db2", "db2"]  # the overflow label is never kept: the cap is asked each time
    got = scrape()
    key = (("method", ""), ("route", ""), ("status", "2xx"), ("tenant", "__overflow__"))
    assert got[("odoo_http_requests_total", key)] == 2
    metrics.configure(directory=metrics.get_store().directory + "-new")  # a new store: resolved again
    server_metrics.request_finished("db1", "/web/login", "GET", "200 OK", 0.01, 1, 0.001, False)
    assert calls[-1] == "db1" and len(calls) == 4
    metrics.configure(max_tenants=2000)
