"""The tenant collector over many databases (40 lightweight tenants, ``tests/tenant_dbs.py``): it
never holds more than ``workers`` connections, reads every database, says how old its values are,
and one database that cannot be read stops none of the others. The same bounds at 500 and 2,000
databases: ``benchmarks/bench_tenant_collectors.py``."""

import contextlib
import time

import odoo_harness
import pytest
import tenant_dbs
from collector_helpers import samples, value

from logistics_observability.core import metrics
from logistics_observability.core.collectors import pgconn, tenant, tenant_read

PARAMS = pgconn.conn_params(
    host=odoo_harness.PG["host"], port=odoo_harness.PG["port"], user=odoo_harness.PG["user"]
)
PREFIX = "lotest_tscale_"
TEMPLATE = "lotest_tscale_template"
COUNT = 40


@pytest.fixture(scope="module")
def tenants(tmp_path_factory):
    metrics.configure(directory=str(tmp_path_factory.mktemp("metrics")))
    tenant_dbs.drop(sorted(tenant_dbs.existing(PREFIX)))
    tenant_dbs.make_template(TEMPLATE)
    try:
        names, _made = tenant_dbs.create(TEMPLATE, PREFIX, COUNT)
        broken = names[6]
        with contextlib.closing(odoo_harness.pg_connect(broken)) as conn, conn.cursor() as cr:
            cr.execute("ALTER TABLE ir_cron DROP COLUMN failure_count")  # its cron query fails
        yield names, broken
    finally:
        tenant_dbs.drop([*sorted(tenant_dbs.existing(PREFIX)), TEMPLATE])


def collector(names, **kwargs):
    wanted = set(names)
    return tenant.TenantCollector(PARAMS, lambda found: [n for n in found if n in wanted], ttl=30, **kwargs)


@pytest.fixture
def open_connections(monkeypatch):
    """Most collector connections open at once, as the collector's side sees them."""
    state = {"open": 0, "peak": 0}
    real = pgconn.Connection

    class Counted(real):
        def __init__(self, *args, **kwargs):
            state["open"] += 1
            state["peak"] = max(state["peak"], state["open"])
            self._counted = True
            try:
                super().__init__(*args, **kwargs)
            except BaseException:
                state["open"] -= 1
                self._counted = False
                raise

        def close(self):
            if getattr(self, "_counted", False):
                self._counted = False
                state["open"] -= 1
            super().close()

    monkeypatch.setattr(tenant_read.pgconn, "Connection", Counted)
    return state


def test_every_database_is_read_within_workers_connections(tenants, open_connections):
    names, broken = tenants
    coll = collector(names, workers=3)
    with tenant_dbs.ConnectionSampler(PREFIX, every=0.002) as sampler:
        assert coll.refresh()
    # the collector holds at most 3 at once; PostgreSQL still lists a closed connection's backend
    # for the moment it takes to exit, so its own count may show a few more
    assert 1 <= open_connections["peak"] <= 3 and open_connections["open"] == 0
    assert sampler.samples > 10 and 1 <= sampler.peak <= 2 * 3
    families, ok, reason = coll.collect()
    got = samples(families)
    # the unreadable database makes the answer partial; every other one is there
    assert (ok, reason) == (False, "partial")
    assert coll.unread == 1 and set(coll.data) == set(names) - {broken}
    for name in set(names) - {broken}:
        assert value(got, "odoo_pg_database_size_bytes", tenant=name) > 0
        assert value(got, "odoo_queue_jobs", tenant=name, channel="", state="pending") == 1  # channels summed
        assert value(got, "odoo_backup_rpo_seconds", tenant=name) == 24 * 3600
    assert value(got, "odoo_tenant_databases") == COUNT - 1
    # the values are as old as the refresh's start, not its end
    assert value(got, "odoo_collector_cache_age_seconds", collector="tenants") >= coll.last_duration


def test_databases_one_refresh_cannot_reach_are_read_by_the_next(tenants, monkeypatch):
    """A refresh stops starting reads after 2 ttl (here 5 s, 0.4 s a database, 2 workers: about
    two thirds of them); the next refresh begins with the databases left unread, so a few
    refreshes read every database, and the age says how old the oldest values are."""
    names, broken = tenants
    real = tenant.read_tenant

    def slow(*args, **kwargs):
        time.sleep(0.4)
        return real(*args, **kwargs)

    monkeypatch.setattr(tenant, "read_tenant", slow)
    coll = collector(names, workers=2)
    coll.ttl = 1.0  # the deadline is then its 5 s floor
    assert coll.refresh()
    read_first = {name: at for name, (at, _data) in coll.data.items()}
    assert 5 <= len(read_first) <= COUNT - 10
    assert coll.unread == COUNT - len(read_first)
    _families, ok, reason = coll.collect()
    assert (ok, reason) == (False, "partial")
    coll._thread.join(30)  # that scrape found the values older than the ttl: a refresh ran
    reread = [name for name, at in read_first.items() if coll.data[name][0] != at]
    never = set(names) - {broken} - set(read_first)
    # the second refresh read the databases left unread first, then the oldest again
    assert never <= set(coll.data) or not reread
    for _ in range(4):
        if set(coll.data) == set(names) - {broken}:
            break
        coll.refresh()
    assert set(coll.data) == set(names) - {broken}
    assert coll.unread == 1
    families, _ok, _reason = coll.collect()
    age = value(samples(families), "odoo_collector_cache_age_seconds", collector="tenants")
    # the oldest values served are as old as the read of the least recently read database
    oldest = min(at for at, _data in coll.data.values())
    assert age >= time.monotonic() - oldest - 0.5
