"""``/metrics`` of a real Odoo with the platform collectors: Redis stopped, PostgreSQL hung."""

import time

import odoo_harness
import pytest
import requests
from collector_helpers import BlackHole, RedisServer
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.odoo]
TAG = "lotest_plat_m"


def scrape(server):
    start = time.monotonic()
    res = requests.get(server.url + "/metrics", timeout=5)
    took = time.monotonic() - start
    assert res.status_code == 200, res.text[:500]
    scraped = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(res.text)
        for s in fam.samples
    }
    return scraped, took


def get(scraped, name, **labels):
    return scraped.get((name, tuple(sorted(labels.items()))))


@pytest.fixture(scope="module")
def tenant(base_template):
    name = odoo_harness.clone_db(base_template, TAG + "_a")
    yield name
    odoo_harness.drop_db(name)


def test_metrics_with_redis_stopped(tenant):
    with (
        RedisServer() as redis_server,
        odoo_harness.OdooServer(
            options={"observability_redis_url": redis_server.url},
            workers=0,
            max_cron_threads=0,
            dbfilter="^%s_.*$" % TAG,
        ) as server,
    ):
        scraped, _took = scrape(server)
        for _ in range(20):  # the first tenant refresh runs in the background
            if get(scraped, "odoo_tenant_databases") == 1:
                break
            time.sleep(0.3)
            scraped, _took = scrape(server)
        assert get(scraped, "odoo_collector_up", collector="postgres") == 1
        assert get(scraped, "odoo_collector_up", collector="redis") == 1
        assert get(scraped, "odoo_collector_up", collector="tenants") == 1
        assert get(scraped, "odoo_pg_up") == 1
        assert get(scraped, "odoo_redis_up") == 1
        assert get(scraped, "odoo_tenant_databases") == 1
        assert get(scraped, "odoo_pg_database_size_bytes", tenant=tenant) > 0
        assert get(scraped, "odoo_backup_warning", tenant=tenant, reason="stale") == 1
        assert get(scraped, "odoo_collector_duration_seconds", collector="postgres") < 1
        redis_server.stop()
        scraped, took = scrape(server)
        assert took < 1.0, "scrape took %.2fs with Redis down" % took
        assert get(scraped, "odoo_collector_up", collector="redis") == 0
        assert get(scraped, "odoo_redis_up") == 0, "the down dependency is reported, not just dropped"
        assert get(scraped, "odoo_collector_up", collector="postgres") == 1
        assert get(scraped, "odoo_tenant_databases") == 1, "other collectors go on"


class MetricsPortServer(odoo_harness.OdooServer):
    """Talks to the dedicated metrics listener: with PostgreSQL hung, Odoo's own routing
    (which lists databases) cannot answer, the listener must."""

    @property
    def url(self):
        return "http://127.0.0.1:%s" % self.options["observability_metrics_port"]


def test_metrics_with_postgres_hung(odoo_available):
    with (
        BlackHole() as hole,
        MetricsPortServer(
            options={"db_port": hole.port, "observability_metrics_port": odoo_harness.free_port()},
            workers=0,
            max_cron_threads=0,
        ) as server,
    ):
        for _ in range(3):
            scraped, took = scrape(server)
            assert took < 1.0, "scrape took %.2fs with PostgreSQL hung" % took
        assert get(scraped, "odoo_collector_up", collector="postgres") == 0
        assert get(scraped, "odoo_pg_up") == 0, "PostgreSQL down is reported as odoo_pg_up 0"
        assert get(scraped, "odoo_collector_up", collector="tenants") == 0
