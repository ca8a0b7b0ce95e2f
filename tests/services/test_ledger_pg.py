"""Workflow ledger against a real PostgreSQL: batched upserts, exact sums, retries, fork safety."""

import contextlib
import logging
import multiprocessing
import os
import time

import odoo_harness
import psycopg2
import pytest

from logistics_observability.core import buckets, ledger, ledger_writer


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
        if f"INSERT INTO {ledger.TABLE} AS" in sql:  # the upsert (one statement per write)
            self._owner.upserts += 1
        return self._cr.execute(sql, params)

    def fetchone(self):
        return self._cr.fetchone()


def rows(dbname):
    with contextlib.closing(odoo_harness.pg_connect(dbname)) as conn, conn.cursor() as cr:
        cr.execute(
            "SELECT workflow, outcome, count, duration_sum, sql_queries_sum, duration_buckets, "
            f"start_delay_buckets, minute FROM {ledger.TABLE} "
            "ORDER BY minute, workflow, outcome"
        )
        return cr.fetchall()


def test_one_upsert_per_tenant_per_flush_and_exact_sums(tenant_dbs):
    connector = CountingConnector()
    led = ledger_writer.Ledger(connect=connector, interval=3600)
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


def test_failed_write_is_kept_and_retried(tenant_dbs, caplog):
    calls = {"n": 0}
    real = CountingConnector()

    @contextlib.contextmanager
    def flaky(dbname):
        calls["n"] += 1
        if calls["n"] == 1:
            raise psycopg2.OperationalError("database is restarting")
        with real(dbname) as cr:
            yield cr

    led = ledger_writer.Ledger(connect=flaky, interval=3600)
    led.record(tenant_dbs[0], "invoicing", "failure", 1.0)
    with caplog.at_level(logging.INFO, logger=ledger.__name__):
        assert led.flush() == 0 and led.pending() == {tenant_dbs[0]: 1}
    # one line naming the cause, no traceback (e.g. Odoo closing its connections at exit)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].exc_info is None, warnings
    assert "OperationalError: database is restarting" in warnings[0].getMessage()
    assert led.flush() == 1
    assert rows(tenant_dbs[0])[0][2] == 1


def test_missing_table_is_skipped_not_retried_forever(tenant_dbs):
    with contextlib.closing(odoo_harness.pg_connect(tenant_dbs[1])) as conn, conn.cursor() as cr:
        cr.execute(f"DROP TABLE {ledger.TABLE}")
    led = ledger_writer.Ledger(connect=CountingConnector(), interval=3600)
    led.record(tenant_dbs[1], "cron", "success", 1.0)
    led.record(tenant_dbs[0], "cron", "success", 1.0)
    assert led.flush() == 1
    led.record(tenant_dbs[1], "cron", "success", 1.0)
    assert led.pending() == {}


def _burst(dbname, n, interval):
    led = ledger_writer.Ledger(connect=CountingConnector(), interval=interval)
    for i in range(n):
        led.record(dbname, "pod_sync", "success" if i % 3 else "failure", 0.05 * (i % 7))
    time.sleep(interval * 2)  # the daemon thread flushes meanwhile
    # Odoo workers leave with sys.exit(), which runs this atexit hook; multiprocessing uses os._exit()
    ledger_writer._flush_all_at_exit()


def test_two_processes_sum_exactly_and_forked_children_do_not_rewrite_parent_rows(tenant_dbs):
    dbname = tenant_dbs[0]
    parent = ledger_writer.Ledger(connect=CountingConnector(), interval=3600)
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


def total(dbname):
    return sum(r[2] for r in rows(dbname))


def test_lost_commit_acknowledgement_is_not_written_twice(tenant_dbs):
    real = CountingConnector()
    calls = {"n": 0}

    @contextlib.contextmanager
    def ack_lost(dbname):
        calls["n"] += 1
        with real(dbname) as cr:
            yield cr
        if calls["n"] == 1:  # committed, but the client never heard of it
            raise psycopg2.OperationalError("server closed the connection unexpectedly")

    led = ledger_writer.Ledger(connect=ack_lost, interval=3600)
    for _ in range(7):
        led.record(tenant_dbs[0], "dispatch", "success", 0.2)
    assert led.flush() == 0 and led.pending() == {tenant_dbs[0]: 7}
    led.record(tenant_dbs[0], "dispatch", "success", 0.2)
    led.flush()  # the retried batch is known: skipped; the new run is written
    led.flush()
    assert total(tenant_dbs[0]) == 8 and led.pending() == {}


def _record_then_die(spool_dir, dbname, n, die_after_commit):
    import signal

    @contextlib.contextmanager
    def connect_then_die(name):
        with CountingConnector()(name) as cr:
            yield cr
        os.kill(os.getpid(), signal.SIGKILL)  # committed; the spool file is still there

    led = ledger_writer.Ledger(
        connect=connect_then_die if die_after_commit else None, interval=3600, spool_dir=spool_dir
    )
    for i in range(n):
        led.record(dbname, "pod_sync", "failure" if i % 4 == 0 else "success", 0.01 * i)
    if die_after_commit:
        led.flush()
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("die_after_commit", [False, True], ids=["before_flush", "after_commit"])
def test_sigkilled_process_runs_are_adopted_exactly_once(tenant_dbs, tmp_path, die_after_commit):
    dbname, spool = tenant_dbs[0], str(tmp_path / "spool")
    ctx = multiprocessing.get_context("fork")
    procs = [
        ctx.Process(target=_record_then_die, args=(spool, dbname, 1000, die_after_commit)) for _ in range(3)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == -9
    assert total(dbname) == (3000 if die_after_commit else 0)
    survivor = ledger_writer.Ledger(connect=CountingConnector(), interval=3600, spool_dir=spool)
    survivor.record(dbname, "pod_sync", "success", 0.5)
    survivor.flush()
    assert total(dbname) == 3001
    assert sum(r[2] for r in rows(dbname) if r[1] == "failure") == 3 * 250
    survivor.flush()
    survivor.stop()
    assert total(dbname) == 3001 and os.listdir(spool) == []


def test_live_process_spool_is_not_adopted(tenant_dbs, tmp_path):
    spool = str(tmp_path / "spool")
    owner = ledger_writer.Ledger(connect=None, interval=3600, spool_dir=spool)
    owner.record(tenant_dbs[0], "cron", "success", 1.0)
    other = ledger_writer.Ledger(connect=CountingConnector(), interval=3600, spool_dir=spool)
    assert other.flush() == 0 and total(tenant_dbs[0]) == 0
    owner.connect = CountingConnector()
    assert owner.flush() == 1 and total(tenant_dbs[0]) == 1
