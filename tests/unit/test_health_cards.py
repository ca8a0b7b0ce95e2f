"""Platform Health verdicts (``core/health_cards.py``), Odoo-free: each card's state, reason and
first action at every threshold's edge."""

import dataclasses

import pytest

from logistics_observability.core import health_cards as hc

T = hc.THRESHOLDS


def _(source, *args, **kwargs):
    """``env._`` in English: ``%`` with the arguments or keyword arguments, if any."""
    return source % (args or kwargs) if (args or kwargs) else source


def pg(**over):
    values = {
        "own": 3,
        "own_active": 1,
        "own_idle_tx": 0,
        "own_longest": 0.0,
        "own_waiting": 0,
        "size": 10 * 1024 * 1024,
        "total": 10,
        "max_conn": 100,
        "lag": None,
        "replicas": 0,
        "archive_failed": 0,
        "archive_failing": False,
        "archive_mode": "off",
    }
    values.update(over)
    return hc.postgres(_, values)


def test_worst_and_formatting():
    assert hc.worst() == "pass"
    assert hc.worst("pass", "fail", "warn") == "fail"
    assert hc.worst("warn", "pass") == "warn"
    assert hc.seconds(None) == "-"
    assert hc.seconds(0.4242) == "0.42s"
    assert hc.seconds(119.9) == "119.90s"
    assert hc.seconds(120) == hc.human_duration(120)
    assert hc.human_bytes(None) == "0 B"
    assert hc.human_bytes(1023) == "1023 B"
    assert hc.human_bytes(1536) == "1.5 KB"
    assert hc.human_bytes(2 * 1024**4) == "2.0 TB"
    assert hc.human_bytes(5000 * 1024**4) == "5000.0 TB"


def test_postgres_normal():
    v = pg()
    assert (v.state, v.reason, v.action) == ("pass", "Server answers; connections and locks are normal.", "")
    details = dict(v.details)
    assert details["Connections (this database)"] == "3 (1 active, 0 idle in transaction)"
    assert details["Server connections"] == "10 / 100"
    assert details["Database size"] == "10.0 MB"
    assert details["WAL archiving"] == "off"
    assert pg(archive_mode="on", archive_failed=4).details[-1] == ("WAL archiving", "4 failures")
    assert pg(max_conn=0).state == "pass"


@pytest.mark.parametrize(
    "total, state, action",
    [
        (74, "pass", ""),
        (75, "warn", "Check for connection leaks; plan a pooler or more max_connections."),
        (89, "warn", "Check for connection leaks; plan a pooler or more max_connections."),
        (90, "fail", "Lower workers / db_maxconn or add a connection pooler."),
    ],
)
def test_postgres_connections(total, state, action):
    v = pg(total=total)
    assert (v.state, v.action) == (state, action)
    if state != "pass":
        assert v.reason == "Server connections at %d%% of max_connections" % total


@pytest.mark.parametrize(
    "lag, state, action",
    [
        (29.9, "pass", ""),
        (30, "warn", "Check the replica's load and network."),
        (300, "fail", "Check the replica's network and disk; failover is unsafe now."),
    ],
)
def test_postgres_replication(lag, state, action):
    v = pg(lag=lag, replicas=1)
    assert (v.state, v.action) == (state, action)
    if state != "pass":
        assert v.reason == "Replica lag %s" % hc.human_duration(lag)


def test_postgres_warnings_and_first_action():
    v = pg(archive_failing=True)
    assert (v.state, v.reason) == ("warn", "WAL archiving is failing")
    assert v.action.startswith("Fix archive_command")
    assert pg(own_longest=299.9).state == "pass"
    v = pg(own_longest=300)
    assert v.state == "warn"
    assert v.reason == "A transaction in this database is open for %s" % hc.human_duration(300)
    assert v.action == "Find the long request or cron in the Odoo log and stop it."
    v = pg(own_waiting=2)
    assert (v.state, v.reason) == ("warn", "2 lock requests waiting in this database")
    assert v.action.startswith("Look for a long transaction")
    # the worst state wins; reasons in order; the first action is the first problem's
    v = pg(total=95, lag=40, own_waiting=1)
    assert v.state == "fail"
    assert v.reason.split("; ")[0].startswith("Server connections at 95%")
    assert len(v.reason.split("; ")) == 3
    assert v.action == "Lower workers / db_maxconn or add a connection pooler."


def test_redis():
    v = hc.redis_unconfigured(_)
    assert v == ("pass", "Not configured (observability_redis_url).", "", [])
    v = hc.redis(_, False, 0.0123, "ConnectionRefusedError")
    assert (v.state, v.reason) == ("fail", "Redis does not answer (ConnectionRefusedError).")
    assert v.details == [("Checked in", "12 ms")]
    info = {"used_memory": 10, "maxmemory": 0, "evicted_keys": 0, "connected_clients": 2}
    v = hc.redis(_, True, 0.001, info)
    assert (v.state, v.reason, v.action) == ("pass", "Redis answers.", "")
    assert dict(v.details)["Memory"] == "10 B / ∞"
    v = hc.redis(_, True, 0.001, dict(info, used_memory=89, maxmemory=100))
    assert v.state == "pass"
    v = hc.redis(_, True, 0.001, dict(info, used_memory=90, maxmemory=100, evicted_keys=3))
    assert (v.state, v.reason) == ("warn", "Redis memory at 90% of maxmemory.")
    assert v.action == "Raise maxmemory or find the keys that grow."
    v = hc.redis(_, True, 0.001, dict(info, evicted_keys=3))
    assert (v.state, v.reason) == ("warn", "Redis evicted 3 keys since it started.")
    assert v.action.startswith("Raise maxmemory; evictions")


def jobs(*rows):
    return [{"state": s, "count": c, "age": a} for s, c, a in rows]


def test_queue():
    v = hc.queue(_, None, None)
    assert (v.state, v.reason, v.action) == ("pass", "No backlog.", "")
    assert v.details == [("queue_job", "not installed")]
    v = hc.queue(_, jobs(("pending", 2, 899.0), ("pending", 1, None), ("done", 5, 0.0)), [])
    assert v.state == "pass"
    assert v.details == [
        ("Jobs done", 5),
        ("Jobs pending", 3),
        ("Oldest pending job", hc.human_duration(899)),
    ]
    v = hc.queue(_, jobs(("pending", 1, 900.0)), None)
    assert (v.state, v.reason) == ("warn", "A job has waited %s" % hc.human_duration(900))
    assert v.action == "Check the job runner's capacity for the busiest channel."
    v = hc.queue(_, jobs(("pending", 1, 3600.0), ("failed", 2, None)), None)
    assert v.state == "fail"
    assert v.reason == "A job has waited %s; 2 failed jobs" % hc.human_duration(3600)
    assert v.action.startswith("Check that the job runner runs")
    v = hc.queue(_, jobs(("failed", 2, None)), None)
    assert (v.state, v.reason) == ("warn", "2 failed jobs")
    assert v.action.startswith("Open Queue Depth")
    v = hc.queue(_, None, [{"state": "exception", "count": 4}, {"state": "outgoing", "count": 1}])
    assert (v.state, v.reason) == ("warn", "4 outgoing mails failed")
    assert v.action.startswith("Check the outgoing mail server")
    assert v.details[1:] == [("Mails exception", 4), ("Mails outgoing", 1)]


def cron(name, age=0.0, failures=0):
    return {"name": name, "age": age, "failures": failures}


def test_crons():
    v = hc.crons(_, [])
    assert (v.state, v.reason, v.action) == ("pass", "Scheduled actions run on time.", "")
    assert v.details == [("Due scheduled actions", 0), ("Most late", hc.human_duration(0.0)),
                         ("Failing scheduled actions", 0)]  # fmt: skip
    assert hc.crons(_, [cron("a", 599)]).state == "pass"
    v = hc.crons(_, [cron("a", 600), cron("b", 700)])
    assert (v.state, v.reason) == ("warn", "b is %s late" % hc.human_duration(700))
    assert v.action.startswith("Check that cron workers run")
    assert hc.crons(_, [cron("a", 3600)]).state == "fail"
    v = hc.crons(_, [cron("a", failures=4), cron("b", failures=2)])
    assert (v.state, v.reason) == ("warn", "a failed 4 times in a row")
    assert v.action == "Read the scheduled action's error in the server log and fix it."
    v = hc.crons(_, [cron("a", 700, failures=5)])
    assert v.state == "fail"
    assert v.reason == "a is %s late; a failed 5 times in a row" % hc.human_duration(700)
    assert v.action.startswith("Check that cron workers run")


def backup_status(warnings=None, last=1000.0, drill=None):
    return {
        "warnings": warnings or {},
        "last_backup_success_ts": last,
        "drill_success_ts": drill,
        "rpo_seconds": 86400.0,
        "drill_interval_seconds": 30 * 86400.0,
    }


def test_backups():
    v = hc.backups(_, backup_status(drill=400.0), now=1600.0)
    assert (v.state, v.reason, v.action) == ("pass", "Backups are within RPO, verified, and drilled.", "")
    assert dict(v.details)["Last successful backup"] == "%s ago" % hc.human_duration(600)
    assert dict(v.details)["Last verified restore drill"] == "%s ago" % hc.human_duration(1200)
    v = hc.backups(_, backup_status({"drill_overdue": "Drill overdue.", "stale": "Stale."}), now=1600.0)
    assert (v.state, v.reason) == ("warn", "Stale. Drill overdue.")
    assert v.action == hc.BACKUP_REASONS["stale"]
    assert dict(v.details)["Last verified restore drill"] == "never"
    v = hc.backups(_, backup_status({"failed": "Failed.", "stale": "Stale."}), now=1600.0)
    assert (v.state, v.action) == ("fail", hc.BACKUP_REASONS["failed"])
    v = hc.backups(_, backup_status(last=None), now=1600.0)
    assert v.state == "fail"
    assert dict(v.details)["Last successful backup"] == "never"


def wf(name, runs, rate, p95=0.5):
    return {"workflow": name, "runs": runs, "failure_rate": rate, "p95_seconds": p95}


def test_workflows():
    assert hc.workflows(_, None) == ("pass", "No workflow ledger yet.", "", [])
    v = hc.workflows(_, [])
    assert (v.state, v.reason) == ("pass", "No workflow runs in 24 h.")
    v = hc.workflows(_, [wf("a", 19, 0.5), wf("b", 20, 0.0099, None)])
    assert (v.state, v.reason) == ("pass", "No failures above 1%.")
    assert v.details == [("a", "19 runs, 50.0% failed, p95 0.50s"), ("b", "20 runs, 1.0% failed, p95 -")]
    assert v.action.startswith("Open Workflows")
    v = hc.workflows(_, [wf("a", 20, 0.01), wf("b", 100, 0.049)])
    assert (v.state, v.reason) == ("warn", "a fails 1.0% of 20 runs; b fails 4.9% of 100 runs")
    v = hc.workflows(_, [wf("a", 20, 0.01), wf("b", 100, 0.05)])
    assert v.state == "fail"


def test_security_and_changes():
    v = hc.security(_, 19, 0, 1, 2)
    assert (v.state, v.reason, v.action) == ("pass", "No unusual login failures or privilege changes.", "")
    assert v.details == [
        ("Failed logins (24 h)", 19),
        ("New administrators (7 d)", 1),
        ("New API keys (7 d)", 2),
    ]
    v = hc.security(_, 20, 0, 0, 0)
    assert (v.state, v.reason) == ("warn", "20 failed logins in 24 h")
    assert v.action.startswith("Check the auth_attempt log events")
    v = hc.security(_, 200, 1, 1, 0)
    assert (v.state, v.reason) == (
        "fail",
        "200 failed logins in 24 h; 1 administrator rights granted in 24 h",
    )
    assert v.action.startswith("Find the source IPs")
    v = hc.security(_, 0, 2, 2, 0)
    assert (v.state, v.reason) == ("warn", "2 administrator rights granted in 24 h")
    assert v.action.startswith("Confirm each new administrator")
    assert hc.recent_change_state(3599) == "warn"
    assert hc.recent_change_state(3600) == "pass"


def test_thresholds_are_tunable():
    strict = dataclasses.replace(T, cron_late_warn=60.0, failed_logins_warn=1)
    assert hc.crons(_, [cron("a", 60)], strict).state == "warn"
    assert hc.security(_, 1, 0, 0, 0, strict).state == "warn"
    assert hc.crons(_, [cron("a", 60)]).state == "pass"


def test_the_models_attributes():
    attrs = hc.attributes()
    assert attrs["_pg_connections_warn"] == 0.75
    assert attrs["_failed_logins_warn"] == 20
    assert len(attrs) == len(dataclasses.fields(hc.Thresholds))

    class Model:
        locals().update(hc.attributes())

    class Tuned(Model):
        _failed_logins_warn = 3

    assert hc.from_attributes(Model()) == T
    assert hc.from_attributes(Tuned()) == dataclasses.replace(T, failed_logins_warn=3)
