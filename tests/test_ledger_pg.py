"""Workflow ledger against a real PostgreSQL: batched upserts, exact sums, retries, fork safety."""
import contextlib
import multiprocessing
import time

import odoo_harness
import psycopg2
import pytest

from logistics_observability.core import buckets, ledger


def _db_available():
    try:
        odoo_harness.pg_connect().close()
        return True
    except psycopg2.Error:
        return False


pytestmark = pytest.mark.skipif(not _db_available(), reason="PostgreSQL not reachable")


@pytest.fixture
def tenant_dbs(request):
    names = ["lotest_wfledger_%s_%d" % (request.node.name[5:20].lower(), i) for i in range(2)]
    for name in names:
        odoo_harness.create_db(name, ledger.CREATE_TABLE)
    yield names
    for name in names:
        odoo_harness.drop_db(name)


class CountingConnector:
    """psycopg2 connections; counts the upsert statements sent."""

    def __init__(self):
        self.upserts = 0

    @contextlib.contextmanager
    def __call__(self, dbname):
        conn = psycopg2.connect(dbname=dbname, connect_timeout=5, **odoo_harness.PG)
        try:
            with conn.cursor() as cr:
                yield _Spy(cr, self)
            conn.commit()
        finally:
            conn.close()


class _Spy:
    def __init__(self, cr, owner):
        self._cr, self._owner = cr, owner

    def execute(self, sql, params=None):
        if sql.startswith("INSERT INTO"):
            self._owner.upserts += 1
        return self._cr.execute(sql, params)

    def fetchone(self):
        return self._cr.fetchone()


def rows(dbname):
    with contextlib.closing(odoo_harness.pg_connect(dbname)) as conn, conn.cursor() as cr:
        cr.execute("SELECT workflow, outcome, count, duration_sum, sql_queries_sum, duration_buckets, "
                   "start_delay_buckets, minute FROM logistics_workflow_ledger "
                   "ORDER BY minute, workflow, outcome")
        return cr.fetchall()


def test_one_upsert_per_tenant_per_flush_and_exact_sums(tenant_dbs):
    connector = CountingConnector()
    led = ledger.Ledger(connect=connector, interval=3600)
    a, b = tenant_dbs
    now = time.time()
    for i in range(500):
        led.record(a, "dispatch", "success" if i % 10 else "failure", 0.3, sql_queries=20, when=now)
        led.record(b, "cron", "success", 2.0, start_delay=12.0, when=now - 120)
    assert led.flush() == 1000
    assert connector.upserts == 2  # one statement per tenant
    for _ in range(2):  # a second flush sums into the same rows
        led.record(a, "dispatch", "success", 40.0, sql_queries=3, when=now)
    led.flush()
    got = {(r[0], r[1]): r for r in rows(a)}
    success = got[("dispatch", "success")]
    assert success[2] == 452 and success[4] == 450 * 20 + 6
    assert success[3] == pytest.approx(450 * 0.3 + 80.0)
    assert len(success[5]) == len(buckets.WORKFLOW_DURATION) + 1
    assert success[5][buckets.bucket_index(buckets.WORKFLOW_DURATION, 0.3)] == 450
    assert success[5][buckets.bucket_index(buckets.WORKFLOW_DURATION, 40.0)] == 2
    assert got[("dispatch", "failure")][2] == 50
    (cron,) = rows(b)
    assert cron[2] == 500
    assert cron[6][buckets.bucket_index(buckets.START_DELAY, 12.0)] == 500
    assert cron[7].second == 0 and cron[7].microsecond == 0


def test_failed_write_is_kept_and_retried(tenant_dbs):
    calls = {"n": 0}
    real = CountingConnector()

    @contextlib.contextmanager
    def flaky(dbname):
        calls["n"] += 1
        if calls["n"] == 1:
            raise psycopg2.OperationalError("database is restarting")
        with real(dbname) as cr:
            yield cr

    led = ledger.Ledger(connect=flaky, interval=3600)
    led.record(tenant_dbs[0], "invoicing", "failure", 1.0)
    assert led.flush() == 0 and led.pending() == {tenant_dbs[0]: 1}
    assert led.flush() == 1
    assert rows(tenant_dbs[0])[0][2] == 1


def test_missing_table_is_skipped_not_retried_forever(tenant_dbs):
    with contextlib.closing(odoo_harness.pg_connect(tenant_dbs[1])) as conn, conn.cursor() as cr:
        cr.execute("DROP TABLE logistics_workflow_ledger")
    led = ledger.Ledger(connect=CountingConnector(), interval=3600)
    led.record(tenant_dbs[1], "cron", "success", 1.0)
    led.record(tenant_dbs[0], "cron", "success", 1.0)
    assert led.flush() == 1
    led.record(tenant_dbs[1], "cron", "success", 1.0)
    assert led.pending() == {}


def test_bounded_buffer_counts_drops():
    led = ledger.Ledger(connect=None, max_rows=3)
    for minute in range(5):
        led.record("t", "dispatch", "success", 0.1, when=minute * 60)
    led.record("t", "dispatch", "success", 0.1, when=0)  # existing row still accepts runs
    assert led.dropped == 2 and led.pending() == {"t": 4}


def _burst(dbname, n, interval):
    led = ledger.Ledger(connect=CountingConnector(), interval=interval)
    for i in range(n):
        led.record(dbname, "pod_sync", "success" if i % 3 else "failure", 0.05 * (i % 7))
    time.sleep(interval * 2)  # the daemon thread flushes meanwhile
    # Odoo workers leave with sys.exit(), which runs this atexit hook; multiprocessing uses os._exit()
    ledger._flush_all_at_exit()


def test_two_processes_sum_exactly_and_forked_children_do_not_rewrite_parent_rows(tenant_dbs):
    dbname = tenant_dbs[0]
    parent = ledger.Ledger(connect=CountingConnector(), interval=3600)
    parent.record(dbname, "pod_sync", "success", 0.1)  # unflushed in the parent at fork time
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_burst, args=(dbname, 3000, 0.2)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    parent.flush()
    total = sum(r[2] for r in rows(dbname))
    assert total == 2 * 3000 + 1
    failures = sum(r[2] for r in rows(dbname) if r[1] == "failure")
    assert failures == 2 * 1000
