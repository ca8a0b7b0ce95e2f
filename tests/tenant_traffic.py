"""Traffic into a running test server, as clients send it: workflow events through the ingest
endpoint, JSON-RPC calls as the database's administrator; the SLO rules generated from those
databases and the ledger's figures to compare Prometheus' with."""

import contextlib
import datetime
import subprocess
import uuid

import odoo_harness
import requests

from logistics_observability.core.ledger import TABLE as LEDGER
from logistics_slo.core import slo_math


def post_events(srv, db, key, events):
    for i in range(0, len(events), 100):
        resp = requests.post(
            srv.url + "/logistics_observability/events",
            json=events[i : i + 100],
            headers={"Authorization": "Bearer " + key, "Host": "%s.localhost" % db},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text


def rpc(srv, db, model, method, *args, **kwargs):
    """JSON-RPC as the database's admin (``execute_kw``), inside the server's own processes."""

    def call(service, meth, *a):
        resp = requests.post(
            srv.url + "/jsonrpc",
            timeout=60,
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "params": {"service": service, "method": meth, "args": a},
            },
        )
        body = resp.json()
        assert "error" not in body, body
        return body["result"]

    uid = call("common", "login", db, "admin", "admin")
    return call("object", "execute_kw", db, uid, "admin", model, method, list(args), kwargs)


def refresh_slos(srv, db):
    ids = rpc(srv, db, "logistics.slo", "search", [])
    rpc(srv, db, "logistics.slo", "action_refresh", ids)


def make_events(runs, failures, slow):
    now = datetime.datetime.now(datetime.timezone.utc)
    out = []
    for i in range(runs):
        out.append(
            {
                "workflow": "pod_sync",
                "outcome": "failure" if i < failures else "success",
                "duration_ms": (5 * 3600 * 1000) if i >= runs - slow else 600000,
                "reference": "%s-%d" % (uuid.uuid4().hex[:8], i),
                "occurred_at": (now - datetime.timedelta(seconds=i % 50)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    return out


def slo_rules(dbs):
    """The Prometheus rules ``odoo-bin slo_rules`` generates from the SLOs of ``dbs``."""
    proc = subprocess.run(
        [
            *odoo_harness.odoo_cmd(),
            "--addons-path=" + odoo_harness.addons_path(),
            "slo_rules",
            "--db_host=" + odoo_harness.PG["host"],
            "--db_user=" + odoo_harness.PG["user"],
            *[arg for db in dbs for arg in ("-d", db)],
            "-o",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=odoo_harness.ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def ledger_state(db, defn):
    """The ledger's SLI of ``defn`` over the burn windows (minute ledger, as the cron computes it)."""
    with contextlib.closing(odoo_harness.pg_connect(db)) as conn, conn.cursor() as cr:
        cr.execute(
            "SELECT minute, workflow, outcome, count, duration_buckets, start_delay_buckets "
            f"FROM {LEDGER} "
            "WHERE minute > now() at time zone 'UTC' - interval '2 hours'"
        )
        names = ("minute", "workflow", "outcome", "count", "duration_buckets", "start_delay_buckets")
        rows = [dict(zip(names, r, strict=True)) for r in cr.fetchall()]
    return slo_math.evaluate_rows(defn, rows, [], datetime.datetime.utcnow())
