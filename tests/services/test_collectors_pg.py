"""PostgreSQL server collector against the real server: numbers, labels, timeouts."""

import contextlib
import threading
import time

import odoo_harness
import psycopg2
import pytest
from collector_helpers import samples, value

from logistics_observability.core import detail, metrics
from logistics_observability.core.collectors import pg, pgconn

DB = "lotest_plat_pgcoll"
PARAMS = pgconn.conn_params(
    host=odoo_harness.PG["host"], port=odoo_harness.PG["port"], user=odoo_harness.PG["user"]
)
ALLOWED_LABELS = {"tenant", "state", "replica", "collector"}


@pytest.fixture(scope="module", autouse=True)
def metrics_dir(tmp_path_factory):
    metrics.configure(directory=str(tmp_path_factory.mktemp("metrics")))


@pytest.fixture(scope="module")
def tenant_db():
    try:
        odoo_harness.drop_db(DB)
    except psycopg2.OperationalError:
        pytest.skip("PostgreSQL is not reachable")
    with contextlib.closing(odoo_harness.pg_connect()) as conn, conn.cursor() as cr:
        cr.execute('CREATE DATABASE "%s"' % DB)
    with contextlib.closing(odoo_harness.pg_connect(DB)) as conn, conn.cursor() as cr:
        cr.execute("CREATE TABLE t (id int primary key)")
        cr.execute("INSERT INTO t VALUES (1)")
    yield DB
    odoo_harness.drop_db(DB)


def test_connections_transactions_and_waiting_locks(tenant_db):
    holder = psycopg2.connect(dbname=tenant_db, **odoo_harness.PG)
    waiter = psycopg2.connect(dbname=tenant_db, **odoo_harness.PG)
    try:
        hcr = holder.cursor()
        hcr.execute("UPDATE t SET id = 1 WHERE id = 1")  # holds the row lock, idle in transaction
        blocked = threading.Thread(
            target=lambda: waiter.cursor().execute("UPDATE t SET id = 1 WHERE id = 1"), daemon=True
        )
        blocked.start()
        time.sleep(1.2)
        families, ok = pg.collect(PARAMS, tenants={tenant_db})
        scraped = samples(families)
        assert ok
        assert value(scraped, "odoo_pg_up") == 1
        # default level: a tenant's connections in one series, whatever their state
        assert value(scraped, "odoo_pg_connections", tenant=tenant_db, state="") == 2
        states = {dict(k[1]).get("state") for k in scraped if k[0] == "odoo_pg_connections"}
        assert states == {""}
        assert value(scraped, "odoo_pg_locks_waiting", tenant=tenant_db) >= 1
        assert value(scraped, "odoo_pg_longest_transaction_seconds", tenant=tenant_db) >= 1.0
        assert value(scraped, "odoo_pg_max_connections") > 0
        assert value(scraped, "odoo_pg_wal_archive_failed_total") >= 0
        # databases that are not tenants are summed, never named
        tenants = {dict(k[1]).get("tenant") for k in scraped if k[0] == "odoo_pg_connections"}
        assert tenants <= {tenant_db, pg.OTHER}
        detail.configure(detail.FULL)
        try:
            full, ok = pg.collect(PARAMS, tenants={tenant_db})
        finally:
            detail.configure(detail.DEFAULT)
        full = samples(full)
        assert ok
        assert value(full, "odoo_pg_connections", tenant=tenant_db, state="idle_in_transaction") == 1
        assert value(full, "odoo_pg_connections", tenant=tenant_db, state="active") == 1
        assert value(full, "odoo_pg_connections", tenant=tenant_db, state="") is None
        holder.rollback()
        blocked.join(5)
    finally:
        holder.close()
        waiter.close()


def test_labels_are_bounded_enumerations(tenant_db):
    families, _ok = pg.collect(PARAMS)
    for fam in families:
        assert set(fam.labelnames) <= ALLOWED_LABELS, fam.name
        assert "pid" not in fam.labelnames and "application_name" not in fam.labelnames


def test_slow_statement_is_cut_by_statement_timeout(tenant_db):
    with pgconn.Connection(dict(PARAMS, dbname=tenant_db), statement_timeout=0.2) as conn:
        start = time.monotonic()
        with pytest.raises(psycopg2.Error):
            conn.query("SELECT pg_sleep(3)")
        assert time.monotonic() - start < 0.6
