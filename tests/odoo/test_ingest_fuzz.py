"""Hostile bodies for both ingest endpoints on a real prefork Odoo, generated with hypothesis.

Whatever the body (deep nesting, NUL characters, unpaired surrogates, huge numbers, wrong types,
bad UTF-8, random bytes), the answer is 200, 400 or 413 with a JSON ``{"error", "field"}`` naming
the field, never a 5xx; a rejected body writes nothing, an accepted one exactly what it reports;
a duplicate is acknowledged and counted once (database rows, ledger and metrics alike).
"""

import concurrent.futures
import contextlib
import datetime
import json
import threading
import time

import odoo_harness
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from logistics_observability.core.ledger import TABLE as LEDGER

pytestmark = [pytest.mark.odoo, pytest.mark.timeout(1500)]

SETUP = """
user = env['res.users'].create({
    'name': 'Fuzz Client', 'login': 'lo_fuzz',
    USER_GROUPS_FIELD: [(6, 0, [env.ref('base.group_user').id,
                          env.ref('logistics_observability.group_observability_integration').id])],
})
print('APIKEY=%s' % env['res.users.apikeys'].with_user(user).sudo()._generate(None, 'fuzz', None))
env.cr.commit()
"""
EVENTS, BACKUPS = "/logistics_observability/events", "/logistics_observability/backups"
FUZZ = settings(
    max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck), derandomize=True
)

hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "x" * 300, "\u2028", "é" * 10, "null", "[]"]),
)
hostile_number = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([10**400, -1, 0, 2**63, 2**53 + 1, 1e308]),
)
scalars = st.one_of(st.none(), st.booleans(), hostile_number, hostile_text)
anything = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)
timestamps = st.one_of(
    st.datetimes(
        min_value=datetime.datetime(1990, 1, 1),
        max_value=datetime.datetime(2030, 1, 1),
        timezones=st.sampled_from([datetime.timezone.utc, datetime.timezone(datetime.timedelta(hours=5))]),
    ).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2025-03-01T10:15:00Z",
            "2025-03-01T10:15:00",
            "yesterday",
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+14:00",
            "2025-02-30T00:00:00Z",
            "2025-03-01T10:15:00\x00Z",
        ]
    ),
    anything,
)


def field(valid, bad):
    return st.one_of(valid, bad)


event = st.fixed_dictionaries(
    {},
    optional={
        "workflow": field(st.sampled_from(["pod_sync", "dispatch", "cron"]), anything),
        "outcome": field(st.sampled_from(["success", "failure"]), anything),
        "reference": field(st.text(min_size=1, max_size=20).map(lambda s: "FZ/" + s), anything),
        "occurred_at": timestamps,
        "duration_ms": field(st.floats(min_value=0, max_value=1e9), anything),
        "extra": anything,
    },
)
report = st.fixed_dictionaries(
    {},
    optional={
        "kind": field(st.sampled_from(["full", "wal", "restore_drill"]), anything),
        "status": field(st.sampled_from(["running", "success", "failed"]), anything),
        "started_at": timestamps,
        "ended_at": timestamps,
        "size_bytes": field(st.integers(min_value=0, max_value=2**53), anything),
        "location": field(st.text(max_size=20).map(lambda s: "s3://fz/" + s), anything),
        "checksum_verified": field(st.booleans(), anything),
        "restore_verified": field(st.booleans(), anything),
        "message": hostile_text,
    },
)


def nested(depth):
    return ("[" * depth + "]" * depth).encode()


def bodies(item):
    as_json = st.one_of(item, st.lists(item, max_size=4), anything).map(
        lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")
    )
    return st.one_of(
        as_json,
        st.binary(max_size=300),
        st.integers(min_value=1, max_value=200000).map(nested),
        st.integers(min_value=1, max_value=5000).map(lambda n: b'{"workflow": ' + b"[" * n),
        st.sampled_from(
            [
                b"",
                b"NaN",
                b"[1e999]",
                b'{"duration_ms": Infinity}',
                b"\xef\xbb\xbf{}",
                b'{"reference": "\\u0000"}',
                b"\xff\xfe",
                b'"\\ud800"',
                b"[" + b"1" * 5000 + b"]",
            ]
        ),
        as_json.map(lambda b: b.replace(b'"FZ/', b'"FZ/\\u0000')),
    )


@pytest.fixture(scope="module")
def server(odoo_available):
    template = odoo_harness.template_db(["base", "web", "logistics_observability"])
    db = odoo_harness.clone_db(template, "lotest_ingest_fuzz")
    proc = odoo_harness.run_shell(db, SETUP)
    keys = [line.split("=", 1)[1] for line in proc.stdout.splitlines() if line.startswith("APIKEY=")]
    assert keys, proc.stdout[-3000:]
    srv = odoo_harness.OdooServer(
        workers=2,
        max_cron_threads=0,
        options={"db_name": db, "dbfilter": "^%s$" % db, "observability_ledger_flush_interval": 1},
    )
    srv.db, srv.key = db, keys[0]
    try:
        with srv:
            yield srv
    finally:
        odoo_harness.drop_db(db)


def rows(db, table):
    with contextlib.closing(odoo_harness.pg_connect(db)) as conn, conn.cursor() as cr:
        cr.execute("SELECT count(*) FROM %s" % table)
        return cr.fetchone()[0]


def post(srv, path, body):
    return requests.post(
        srv.url + path,
        data=body,
        timeout=60,
        headers={"Authorization": "Bearer " + srv.key, "Content-Type": "application/json"},
    )


def check_answer(resp, body):
    assert resp.status_code in (200, 400, 413), (resp.status_code, body[:300], resp.text[:500])
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers
    answer = resp.json()
    if resp.status_code != 200:
        assert isinstance(answer["error"], str) and answer["error"], answer
        assert isinstance(answer["field"], str) and answer["field"], answer
    return answer


def test_events_endpoint_survives_hostile_bodies(server):
    @FUZZ
    @given(bodies(event))
    def run(body):
        before = rows(server.db, "logistics_workflow_event")
        resp = post(server, EVENTS, body)
        answer = check_answer(resp, body)
        after = rows(server.db, "logistics_workflow_event")
        if resp.status_code == 200:
            assert after - before == answer["accepted"], (answer, body[:300])
        else:
            assert after == before, body[:300]

    run()


def test_backups_endpoint_survives_hostile_bodies(server):
    @FUZZ
    @given(bodies(report))
    def run(body):
        before = rows(server.db, "logistics_backup_run")
        resp = post(server, BACKUPS, body)
        answer = check_answer(resp, body)
        after = rows(server.db, "logistics_backup_run")
        if resp.status_code == 200:
            assert after - before == answer["created"], (answer, body[:300])
        else:
            assert after == before, body[:300]

    run()


def metric_runs(srv, workflow):
    text = requests.get(srv.url + "/metrics", timeout=30).text
    return sum(
        s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == "odoo_workflow_runs_total"
        and s.labels.get("tenant") == srv.db
        and s.labels.get("workflow") == workflow
    )


def ledger_runs(db, workflow):
    with contextlib.closing(odoo_harness.pg_connect(db)) as conn, conn.cursor() as cr:
        cr.execute(f"SELECT COALESCE(SUM(count), 0) FROM {LEDGER} WHERE workflow = %s", (workflow,))
        return int(cr.fetchone()[0])


def test_duplicates_are_counted_once(server):
    batch = [
        {
            "workflow": "order_release",
            "outcome": "success",
            "reference": "DUP/%d" % i,
            "occurred_at": "2025-04-01T08:00:%02dZ" % i,
            "duration_ms": 10,
        }
        for i in range(5)
    ]
    runs_before = metric_runs(server, "order_release")
    first = post(server, EVENTS, json.dumps(batch + batch[:2]))
    assert first.json() == {"accepted": 5, "duplicates": 2}
    for _ in range(3):
        again = post(server, EVENTS, json.dumps(batch))
        assert again.json() == {"accepted": 0, "duplicates": 5}
    deadline = time.time() + 30
    while time.time() < deadline and ledger_runs(server.db, "order_release") < 5:
        time.sleep(0.5)
    assert metric_runs(server, "order_release") - runs_before == 5
    assert ledger_runs(server.db, "order_release") == 5
    report = {
        "kind": "full",
        "status": "success",
        "started_at": "2025-04-01T02:00:00Z",
        "ended_at": "2025-04-01T02:10:00Z",
        "location": "s3://dup/full",
        "checksum_verified": True,
    }
    answers = [post(server, BACKUPS, json.dumps(report)).json() for _ in range(3)]
    assert [a["created"] for a in answers] == [1, 0, 0] and len({a["ids"][0] for a in answers}) == 1


@pytest.mark.parametrize("location", ["s3://dup/wal-race", None], ids=["with_location", "without_location"])
def test_concurrent_duplicate_backup_reports_are_one_run(server, location):
    # a run reported without a location has the same natural key as any other report of it
    started = "2025-04-02T03:00:00Z" if location else "2025-04-02T04:00:00Z"
    body = {"kind": "wal", "status": "success", "started_at": started, "ended_at": started[:-3] + "05Z"}
    if location:
        body["location"] = location
    report = json.dumps(body)
    barrier = threading.Barrier(6)

    def send(_):
        barrier.wait()
        return post(server, BACKUPS, report)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(6)))
    assert [a.status_code for a in answers] == [200] * 6, [a.text[:300] for a in answers]
    assert sum(a.json()["created"] for a in answers) == 1
    assert len({a.json()["ids"][0] for a in answers}) == 1
    with contextlib.closing(odoo_harness.pg_connect(server.db)) as conn, conn.cursor() as cr:
        cr.execute(
            "SELECT count(*) FROM logistics_backup_run WHERE kind = 'wal' AND started_at = %s"
            " AND location IS NOT DISTINCT FROM %s",
            (started.replace("T", " ")[:-1], location),
        )
        assert cr.fetchone()[0] == 1
