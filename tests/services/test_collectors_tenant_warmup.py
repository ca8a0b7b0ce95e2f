"""The per-tenant collector before its first refresh of the local PostgreSQL's databases says so
(the collector against real tenants: tests/odoo/test_collectors_tenant.py)."""

import odoo_harness
import pytest

from logistics_observability.core import metrics
from logistics_observability.core.collectors import pgconn, tenant

PARAMS = pgconn.conn_params(
    host=odoo_harness.PG["host"], port=odoo_harness.PG["port"], user=odoo_harness.PG["user"]
)


@pytest.fixture(scope="module", autouse=True)
def metrics_dir(tmp_path_factory):
    metrics.configure(directory=str(tmp_path_factory.mktemp("metrics")))


def test_before_the_first_refresh_the_collector_says_warming_up():
    coll = tenant.TenantCollector(PARAMS, lambda found: [], ttl=30, first_wait=0.0)
    _families, ok, reason = coll.collect()
    assert (ok, reason) == (False, "warming_up")
    coll._thread.join(10)
