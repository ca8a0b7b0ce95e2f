"""The ledger is exact on a real prefork Odoo whose workers are SIGKILLed at random moments.

A burst of workflow runs (external events over two tenants, several workflows and both outcomes)
while a killer SIGKILLs HTTP workers at random intervals. Odoo replaces them; their spooled runs
are written by whichever process flushes next, and batch ids keep replays from counting twice.
Afterwards the ledger equals the metric totals for every (tenant, workflow, outcome).
"""

import collections
import concurrent.futures
import contextlib
import datetime
import json
import os
import random
import signal
import threading
import time

import odoo_harness
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from logistics_observability.core.ledger import TABLE as LEDGER

pytestmark = [pytest.mark.odoo, pytest.mark.slow, pytest.mark.timeout(900)]
TAG = "lotest_ledgerkill"
SETUP = """
user = env['res.users'].create({
    'name': 'Burst Client', 'login': 'lo_burst',
    USER_GROUPS_FIELD: [(6, 0, [env.ref('base.group_user').id,
                            env.ref('logistics_observability.group_observability_integration').id])],
})
print('APIKEY=%s' % env['res.users.apikeys'].with_user(user).sudo()._generate(None, 'burst', None))
env.cr.commit()
"""
WORKFLOWS = ("pod_sync", "dispatch", "order_release")
KILLS = 5


@pytest.fixture(scope="module")
def tenants(two_tenants):
    keys = {}
    for db in two_tenants:
        proc = odoo_harness.run_shell(db, SETUP)
        found = [line.split("=", 1)[1] for line in proc.stdout.splitlines() if line.startswith("APIKEY=")]
        assert found, proc.stdout[-3000:]
        keys[db] = found[0]
    return keys


@pytest.fixture(scope="module")
def server(tenants):
    srv = odoo_harness.OdooServer(
        workers=3, max_cron_threads=0, dbfilter="^%d$", options={"observability_ledger_flush_interval": 1}
    )
    with srv:
        yield srv


def metric_totals(srv):
    text = requests.get(srv.url + "/metrics", timeout=30).text
    totals = collections.Counter()
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "odoo_workflow_runs_total":
                totals[(s.labels["tenant"], s.labels["workflow"], s.labels["outcome"])] += int(s.value)
    return totals


def ledger_totals(dbs):
    totals = collections.Counter()
    for db in dbs:
        with contextlib.closing(odoo_harness.pg_connect(db)) as conn, conn.cursor() as cr:
            cr.execute(f"SELECT workflow, outcome, SUM(count) FROM {LEDGER} GROUP BY workflow, outcome")
            for workflow, outcome, count in cr.fetchall():
                totals[(db, workflow, outcome)] += int(count)
    return totals


class Successes:
    def __init__(self):
        self.count = 0
        self.cond = threading.Condition()

    def add(self):
        with self.cond:
            self.count += 1
            self.cond.notify_all()

    def wait_for(self, n, timeout=300):
        with self.cond:
            self.cond.wait_for(lambda: self.count >= n, timeout)


def http_workers(srv):
    return [pid for pid, args in srv.children() if "gevent" not in args]


def test_sigkilled_workers_lose_and_double_nothing(server, tenants):
    dbs = sorted(tenants)
    rng = random.Random(12)
    base = datetime.datetime(2025, 5, 1, tzinfo=datetime.timezone.utc)
    stop = threading.Event()
    kills = []

    def killer():
        # a new worker needs seconds to load the registries on a busy machine: let the burst warm
        # up, then space the kills, and let it go on a while after the last one
        ok.wait_for(20)
        while len(kills) < KILLS and not stop.wait(rng.uniform(2.0, 5.0)):
            workers = http_workers(server)
            if workers:
                pid = rng.choice(workers)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    kills.append(pid)
        ok.wait_for(ok.count + 20)
        stop.set()

    counter = iter(range(10**6))
    lock = threading.Lock()
    ok = Successes()

    def client():
        statuses = []
        while not stop.is_set():
            with lock:
                i = next(counter)
            status = post(i)
            statuses.append(status)
            if status == 200:
                ok.add()
        return statuses

    def post(i):
        db = dbs[i % 2]
        events = [
            {
                "workflow": WORKFLOWS[(i + j) % 3],
                "outcome": "failure" if (i * 7 + j) % 5 == 0 else "success",
                "reference": "KILL/%06d/%d" % (i, j),
                "duration_ms": 10 * j,
                "occurred_at": (base + datetime.timedelta(seconds=i)).isoformat(),
            }
            for j in range(5)
        ]
        try:
            resp = requests.post(
                server.url + "/logistics_observability/events",
                data=json.dumps(events),
                timeout=30,
                headers={
                    "Authorization": "Bearer " + tenants[db],
                    "Content-Type": "application/json",
                    "Host": "%s.localhost:%s" % (db, server.http_port),
                },
            )
            return resp.status_code
        except requests.RequestException:
            return None  # the worker died under this request

    kill_thread = threading.Thread(target=killer)
    kill_thread.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            statuses = [s for chunk in pool.map(lambda _: client(), range(4)) for s in chunk]
    finally:
        stop.set()
        kill_thread.join()
    assert len(kills) == KILLS, kills
    assert statuses.count(200) >= 40, collections.Counter(statuses)

    deadline = time.time() + 60
    while True:
        metrics, ledger = metric_totals(server), ledger_totals(dbs)
        # the burst's workflows only: the ledger is per database and scheduled actions may also be
        # run there by another instance on the same PostgreSQL, counted in that instance's metrics
        mine = {k: v for k, v in metrics.items() if k[0] in dbs and k[1] in WORKFLOWS}
        ledger = {k: v for k, v in dict(ledger).items() if k[1] in WORKFLOWS}
        if mine == dict(ledger) or time.time() > deadline:
            break
        time.sleep(1)
    assert sum(mine.values()) >= 5 * 40
    assert {k[0] for k in mine} == set(dbs) and {k[1] for k in mine} == set(WORKFLOWS)
    assert {k[2] for k in mine} == {"success", "failure"}
    diff = {
        k: (mine.get(k, 0), ledger.get(k, 0))
        for k in set(mine) | set(ledger)
        if mine.get(k, 0) != ledger.get(k, 0)
    }
    assert not diff, "metric vs ledger after %d SIGKILLs: %s" % (len(kills), diff)
