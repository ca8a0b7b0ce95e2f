"""PostgreSQL server collector without a PostgreSQL: a refused or hung port reports it down within the
scrape's budget (against the real server: tests/services/test_collectors_pg.py)."""

import time

import odoo_harness
import pytest
from collector_helpers import BlackHole, samples, value

from logistics_observability.core.collectors import PartialResult, as_collector, pg, pgconn

PARAMS = pgconn.conn_params(
    host=odoo_harness.PG["host"], port=odoo_harness.PG["port"], user=odoo_harness.PG["user"]
)


def test_refused_port_reports_down_fast():
    start = time.monotonic()
    families, ok = pg.collect(dict(PARAMS, port=odoo_harness.free_port()))
    assert time.monotonic() - start < 0.5
    assert not ok
    assert value(samples(families), "odoo_pg_up") == 0


def test_hung_server_reports_down_within_budget():
    with BlackHole() as hole:
        start = time.monotonic()
        families, ok = pg.collect(dict(PARAMS, port=hole.port))
        took = time.monotonic() - start
    assert not ok
    assert value(samples(families), "odoo_pg_up") == 0
    assert took < 1.0, "a hung PostgreSQL must not hold the scrape (took %.2fs)" % took


def test_registered_collector_raises_partial_result():
    collector = as_collector(pg.collect, dict(PARAMS, port=odoo_harness.free_port()))
    with pytest.raises(PartialResult) as err:
        collector()
    assert value(samples(err.value.families), "odoo_pg_up") == 0
