#!/usr/bin/env python3
"""Benchmark of the workflow instrumentation; prints its figures.

1. a sale order confirm -> dispatch -> customer invoice flow in a real Odoo
   database (``odoo shell``), with the instrumentation on and off, interleaved
   rounds in one process (target: on/off <= 1.02);
2. events per second the ledger buffer absorbs (spooled to disk as in Odoo, at 10, 1000 and
   100000 events/s and as fast as the threads can; then memory only), and how many writes reach
   PostgreSQL per tenant per flush interval (target: <= 1, whatever the rate).

    .venv/bin/python benchmarks/bench_workflows.py [--db DB] [--flows 40] [--rounds 6] [--skip-odoo]
        [--seconds 6] [--db-prefix lotest_]

Without ``--db`` a database with sale_stock, stock_delivery and account is
cloned from the test template (built on first use, a few minutes).
"""

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import core_packages  # noqa: E402, F401
import odoo_harness  # noqa: E402
import psycopg2  # noqa: E402

from logistics_observability.core import ledger as core_ledger  # noqa: E402
from logistics_observability.core import ledger_writer, metrics  # noqa: E402

FLOW_SCRIPT = r"""
import statistics, time
from odoo.addons.logistics_observability.core import workflow
FLOWS, ROUNDS = %(flows)d, %(rounds)d
partner = env['res.partner'].create({'name': 'Bench Customer'})
product = env['product.product'].create({'name': 'Bench Pallet', 'type': 'consu', 'list_price': 10})
env.cr.execute('SAVEPOINT bench')

def flow():
    order = env['sale.order'].create({'partner_id': partner.id, 'order_line': [
        (0, 0, {'product_id': product.id, 'product_uom_qty': 1})]})
    order.action_confirm()
    picking = order.picking_ids
    picking.move_ids.quantity = 1
    picking.button_validate()
    invoice = order._create_invoices()
    invoice.action_post()

for _ in range(5):  # warm caches
    flow()
times = {True: [], False: []}
for r in range(ROUNDS):
    for enabled in ((True, False) if r %% 2 == 0 else (False, True)):
        workflow.set_enabled(enabled)
        t0 = time.perf_counter()
        for _ in range(FLOWS):
            flow()
        times[enabled].append((time.perf_counter() - t0) / FLOWS)
workflow.set_enabled(True)
env.cr.execute('ROLLBACK TO SAVEPOINT bench')
env.cr.rollback()
on, off = statistics.median(times[True]), statistics.median(times[False])
print('BENCH flow_ms_on=%%.2f flow_ms_off=%%.2f ratio=%%.4f' %% (on * 1000, off * 1000, on / off))
"""


def bench_flow(db, flows, rounds):
    proc = subprocess.run(
        [
            *odoo_harness.odoo_cmd(),
            "shell",
            "--addons-path=" + odoo_harness.addons_path(),
            "--db_host=" + odoo_harness.PG["host"],
            "--db_port=%s" % odoo_harness.PG["port"],
            "--db_user=" + odoo_harness.PG["user"],
            "-d",
            db,
            "--no-http",
            "--log-level=info",  # the per-run log event is part of the cost
            "--max-cron-threads=0",
        ],
        input=FLOW_SCRIPT % {"flows": flows, "rounds": rounds},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=3600,
        cwd=ROOT,
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCH ")), None)
    if not line:
        raise SystemExit("flow benchmark failed:\n" + proc.stdout[-4000:])
    figures = dict(item.split("=") for item in line.split()[1:])
    print(
        "confirm->dispatch->invoice flow: %s ms instrumented, %s ms not instrumented, ratio %s "
        "(target <= 1.02)" % (figures["flow_ms_on"], figures["flow_ms_off"], figures["ratio"])
    )


class CountingConnector:
    def __init__(self):
        self.writes = {}

    @contextlib.contextmanager
    def __call__(self, dbname):
        conn = psycopg2.connect(dbname=dbname, connect_timeout=5, **odoo_harness.PG)
        try:
            with conn.cursor() as cr:
                yield cr
            conn.commit()
        finally:
            conn.close()
        self.writes[dbname] = self.writes.get(dbname, 0) + 1


def bench_ledger(seconds=6.0, interval=1.0, tenants=3, threads=4, spool=True, rate=None, prefix="lotest_"):
    """Events recorded for ``seconds`` by ``threads`` threads, ``rate`` events/s in all (None: as fast
    as they can); how many writes reached each tenant's database per flush interval."""
    names = ["%swfbench_%d" % (prefix, i) for i in range(tenants)]
    for name in names:
        odoo_harness.create_db(name, core_ledger.CREATE_TABLE)
    try:
        connector = CountingConnector()
        spool_dir = tempfile.mkdtemp(prefix="lo-bench-spool-") if spool else None
        led = ledger_writer.Ledger(connect=connector, interval=interval, spool_dir=spool_dir)
        stop = time.time() + seconds
        counts = [0] * threads
        workflows = ("order_release", "dispatch", "invoicing", "pod_sync", "carrier_call", "cron")
        batch = 1000 if rate is None else max(1, int(rate / threads / 100))  # ~100 batches/s when paced

        def work(k):
            i = 0
            start = time.time()
            while time.time() < stop:
                for _ in range(batch):
                    led.record(
                        names[i % tenants],
                        workflows[i % 6],
                        "failure" if i % 50 == 0 else "success",
                        (i % 100) / 10.0,
                        sql_queries=i % 40,
                    )
                    i += 1
                if rate is not None:  # paced: sleep until this thread's share of the rate is due
                    due = start + i / (rate / threads)
                    time.sleep(max(0.0, min(due - time.time(), stop - time.time())))
            counts[k] = i

        t0 = time.perf_counter()
        pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - t0
        led.stop(flush=True)
        total = sum(counts)
        stored = 0
        for name in names:
            with contextlib.closing(odoo_harness.pg_connect(name)) as conn, conn.cursor() as cr:
                cr.execute("SELECT COALESCE(SUM(count), 0) FROM logistics_workflow_ledger")
                stored += int(cr.fetchone()[0])
        flushes = seconds / interval + 1  # periodic flushes + the final one
        per_tenant = max(connector.writes.values()) / flushes
        print(
            "ledger (%s, %s): %.0f events/s by %d threads over %.1f s, %d stored (exact: %s), "
            "%.2f writes per tenant per flush interval (target <= 1: %s), %d dropped"
            % (
                "spooled" if spool else "memory only",
                "as fast as possible" if rate is None else "paced at %d/s" % rate,
                total / elapsed,
                threads,
                elapsed,
                stored,
                stored == total,
                per_tenant,
                "met" if per_tenant <= 1 else "MISSED",
                led.dropped,
            )
        )
        if spool_dir:
            print("  spool files left after the final flush: %d" % len(os.listdir(spool_dir)))
            shutil.rmtree(spool_dir, ignore_errors=True)
        if rate is None:
            print("  update cost: %.2f us per recorded run" % (elapsed / total * 1e6 * threads))
        return per_tenant
    finally:
        for name in names:
            odoo_harness.drop_db(name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="existing database with sale_stock, account and the addons")
    parser.add_argument("--flows", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--skip-odoo", action="store_true")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each ledger run")
    parser.add_argument("--db-prefix", default="lotest_", help="prefix of the ledger runs' databases")
    args = parser.parse_args()
    metrics.configure(directory=tempfile.mkdtemp(prefix="lo-bench-wf-"))
    worst = 0.0
    for rate in (10, 1000, 100000, None):  # writes per flush interval must not grow with the rate
        worst = max(worst, bench_ledger(spool=True, rate=rate, seconds=args.seconds, prefix=args.db_prefix))
    worst = max(worst, bench_ledger(spool=False, seconds=args.seconds, prefix=args.db_prefix))
    print(
        "ledger: at most %.2f writes per tenant per flush interval at any rate (target <= 1): %s"
        % (worst, "met" if worst <= 1 else "MISSED")
    )
    if args.skip_odoo:
        return
    found, detail = odoo_harness.odoo_status()
    if not found:
        print("flow benchmark skipped: %s" % detail)
        return
    db = args.db
    cloned = None
    if not db:
        template = odoo_harness.template_db(
            ["sale_stock", "stock_delivery", "account", "logistics_observability"]
        )
        db = cloned = odoo_harness.clone_db(template, "lotest_wfbench_flow")
    try:
        bench_flow(db, args.flows, args.rounds)
    finally:
        if cloned:
            odoo_harness.drop_db(cloned)


if __name__ == "__main__":
    main()
