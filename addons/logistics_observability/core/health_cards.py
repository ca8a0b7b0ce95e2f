"""Platform Health verdicts (Odoo-free): plain values in, a card's status, reason, first action
and details out.

Each function takes ``_``, the caller's translation function (``env._`` in Odoo: a source text,
then ``%`` arguments or keyword arguments), so the texts stay the addon's translatable terms, and
the :class:`Thresholds` to judge by. The model reads the values (``models/platform_health.py``,
its SQL in :mod:`.health_sql`) and frames the verdict as a card.
"""

import dataclasses
from typing import NamedTuple

from .backup_status import REASONS as BACKUP_REASONS
from .backup_status import human_duration

STATES = ("pass", "warn", "fail")


class Verdict(NamedTuple):
    """A card's judgement: ``state`` (pass / warn / fail), ``reason``, ``action`` (the first thing
    to do) and ``details`` (label, value pairs)."""

    state: str
    reason: str
    action: str
    details: list


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """What turns a card warn or fail (seconds / ratios / counts). The model carries each as an
    ``_<name>`` attribute (:func:`attributes`), which a subclass overrides to tune its dashboard."""

    pg_connections_warn: float = 0.75
    pg_connections_fail: float = 0.9
    pg_transaction_warn: float = 300.0
    pg_replication_warn: float = 30.0
    pg_replication_fail: float = 300.0
    redis_memory_warn: float = 0.9
    queue_pending_warn: float = 900.0
    queue_pending_fail: float = 3600.0
    cron_late_warn: float = 600.0
    cron_late_fail: float = 3600.0
    cron_failures_fail: int = 5
    workflow_failure_warn: float = 0.01
    workflow_failure_fail: float = 0.05
    workflow_min_runs: int = 20
    failed_logins_warn: int = 20
    failed_logins_fail: int = 200
    recent_change_warn_hours: float = 1  # a change this recent is the first suspect of any incident


THRESHOLDS = Thresholds()


def attributes(t=THRESHOLDS):
    """``{"_<name>": value}`` for every threshold: the model's tunable class attributes."""
    return {"_" + f.name: getattr(t, f.name) for f in dataclasses.fields(t)}


def from_attributes(obj):
    """The :class:`Thresholds` that ``obj``'s ``_<name>`` attributes say."""
    return Thresholds(**{f.name: getattr(obj, "_" + f.name) for f in dataclasses.fields(Thresholds)})


def worst(*states):
    """The worst of ``states`` (``pass`` when there is none)."""
    return max(states, key=STATES.index) if states else "pass"


def seconds(value):
    """A duration for a details line: ``-``, ``0.42s``, or :func:`human_duration` from 2 minutes."""
    if value is None:
        return "-"
    return "%.2fs" % value if value < 120 else human_duration(value)


def human_bytes(value):
    """``512 B``, ``1.5 KB`` ... ``2.0 TB``."""
    value = float(value or 0)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return ("%.0f %s" if unit == "B" else "%.1f %s") % (value, unit)
        value /= 1024.0
    return "%.1f TB" % value


# -- PostgreSQL ----------------------------------------------------------------
def postgres(_, pg, t=THRESHOLDS):
    """``pg``: this database's ``own`` / ``own_active`` / ``own_idle_tx`` connections, ``own_longest``
    transaction (s), ``own_waiting`` locks and ``size`` (bytes); the server's ``total`` connections
    and ``max_conn``, the replicas' ``lag`` (s, or None) and count (``replicas``), the archiver's
    ``archive_failed`` count, ``archive_failing`` flag and ``archive_mode``."""
    total, max_conn = pg["total"], pg["max_conn"]
    own_longest, own_waiting = pg["own_longest"], pg["own_waiting"]
    usage = float(total) / max_conn if max_conn else 0.0
    lag = float(pg["lag"] or 0)
    states, reasons, action = [], [], ""
    if usage >= t.pg_connections_fail:
        states.append("fail")
        reasons.append(_("Server connections at %d%% of max_connections") % (usage * 100))
        action = _("Lower workers / db_maxconn or add a connection pooler.")
    elif usage >= t.pg_connections_warn:
        states.append("warn")
        reasons.append(_("Server connections at %d%% of max_connections") % (usage * 100))
        action = _("Check for connection leaks; plan a pooler or more max_connections.")
    if lag >= t.pg_replication_fail:
        states.append("fail")
        reasons.append(_("Replica lag %s") % human_duration(lag))
        action = action or _("Check the replica's network and disk; failover is unsafe now.")
    elif lag >= t.pg_replication_warn:
        states.append("warn")
        reasons.append(_("Replica lag %s") % human_duration(lag))
        action = action or _("Check the replica's load and network.")
    if pg["archive_failing"]:
        states.append("warn")
        reasons.append(_("WAL archiving is failing"))
        action = action or _("Fix archive_command (storage credentials, space); WAL piles up meanwhile.")
    if float(own_longest) >= t.pg_transaction_warn:
        states.append("warn")
        reasons.append(_("A transaction in this database is open for %s") % human_duration(own_longest))
        action = action or _("Find the long request or cron in the Odoo log and stop it.")
    if own_waiting:
        states.append("warn")
        reasons.append(_("%d lock requests waiting in this database") % own_waiting)
        action = action or _("Look for a long transaction holding locks (often a cron or an import).")
    archive_mode = pg["archive_mode"]
    details = [
        (
            _("Connections (this database)"),
            "%d (%d active, %d idle in transaction)" % (pg["own"], pg["own_active"], pg["own_idle_tx"]),
        ),
        (_("Longest transaction (this database)"), human_duration(own_longest)),
        (_("Waiting locks (this database)"), own_waiting),
        (_("Database size"), human_bytes(pg["size"])),
        (_("Server connections"), "%d / %d" % (total, max_conn)),
        (_("Replicas"), "%d (max lag %s)" % (pg["replicas"], human_duration(lag))),
        (
            _("WAL archiving"),
            archive_mode if archive_mode == "off" else _("%s failures") % pg["archive_failed"],
        ),
    ]
    return Verdict(
        worst(*states),
        "; ".join(reasons) or _("Server answers; connections and locks are normal."),
        action,
        details,
    )


# -- Redis -----------------------------------------------------------------------
def redis_unconfigured(_):
    return Verdict("pass", _("Not configured (observability_redis_url)."), "", [])


def redis(_, ok, took, info, t=THRESHOLDS):
    """``redis_collector.ping``'s answer: ``ok``, ``took`` (s) and ``info`` (INFO fields, or the
    error when not ``ok``)."""
    if not ok:
        return Verdict(
            "fail",
            _("Redis does not answer (%s).") % info,
            _("Check that the Redis service runs and is reachable from Odoo."),
            [(_("Checked in"), "%d ms" % (took * 1000))],
        )
    used, maximum = info.get("used_memory", 0), info.get("maxmemory", 0)
    evicted = info.get("evicted_keys", 0)
    state, reason, action = "pass", _("Redis answers."), ""
    if maximum and used >= t.redis_memory_warn * maximum:
        state, reason = "warn", _("Redis memory at %d%% of maxmemory.") % (100 * used / maximum)
        action = _("Raise maxmemory or find the keys that grow.")
    elif evicted:
        state, reason = "warn", _("Redis evicted %d keys since it started.") % evicted
        action = _("Raise maxmemory; evictions drop sessions or cache entries.")
    details = [
        (_("Memory"), "%s / %s" % (human_bytes(used), human_bytes(maximum) if maximum else "∞")),
        (_("Clients"), info.get("connected_clients", 0)),
        (_("Evicted keys"), evicted),
        (_("Checked in"), "%d ms" % (took * 1000)),
    ]
    return Verdict(state, reason, action, details)


# -- queue -------------------------------------------------------------------------
def queue(_, jobs, mails, t=THRESHOLDS):
    """``jobs``: queue_job rows (``state``, ``count``, ``age`` of the oldest due pending job), None
    without queue_job; ``mails``: outgoing mail rows (``state``, ``count``), None without mail."""
    states, reasons, action, details = [], [], "", []
    if jobs is None:
        details.append((_("queue_job"), _("not installed")))
    else:
        by_state = {}
        oldest = 0.0
        for row in jobs:
            by_state[row["state"]] = by_state.get(row["state"], 0) + row["count"]
            oldest = max(oldest, row["age"] or 0.0)
        details += [(_("Jobs %s") % state, count) for state, count in sorted(by_state.items())]
        details.append((_("Oldest pending job"), human_duration(oldest)))
        if oldest >= t.queue_pending_fail:
            states.append("fail")
            reasons.append(_("A job has waited %s") % human_duration(oldest))
            action = _("Check that the job runner runs (workers, --load=queue_job) and its channels.")
        elif oldest >= t.queue_pending_warn:
            states.append("warn")
            reasons.append(_("A job has waited %s") % human_duration(oldest))
            action = _("Check the job runner's capacity for the busiest channel.")
        if by_state.get("failed"):
            states.append("warn")
            reasons.append(_("%d failed jobs") % by_state["failed"])
            action = action or _("Open Queue Depth, read the failed jobs' errors and requeue them.")
    if mails is not None:
        by_mail = {r["state"]: r["count"] for r in mails}
        details += [(_("Mails %s") % state, count) for state, count in sorted(by_mail.items())]
        if by_mail.get("exception"):
            states.append("warn")
            reasons.append(_("%d outgoing mails failed") % by_mail["exception"])
            action = action or _("Check the outgoing mail server, then retry the failed mails.")
    return Verdict(worst(*states), "; ".join(reasons) or _("No backlog."), action, details)


# -- crons ---------------------------------------------------------------------------
def crons(_, rows, t=THRESHOLDS):
    """``rows``: due or failing scheduled actions (``name``, ``age`` lateness in s, ``failures``)."""
    late = [r for r in rows if r["age"] and r["age"] > 0]
    failing = [r for r in rows if r["failures"]]
    worst_late = max([r["age"] for r in late] or [0.0])
    states, reasons, action = [], [], ""
    if worst_late >= t.cron_late_fail:
        states.append("fail")
    elif worst_late >= t.cron_late_warn:
        states.append("warn")
    if worst_late >= t.cron_late_warn:
        name = max(late, key=lambda r: r["age"])["name"]
        reasons.append(_("%(cron)s is %(late)s late", cron=name, late=human_duration(worst_late)))
        action = _("Check that cron workers run (max_cron_threads > 0) and no cron holds them.")
    if failing:
        top = max(failing, key=lambda r: r["failures"])
        states.append("fail" if top["failures"] >= t.cron_failures_fail else "warn")
        reasons.append(_("%(cron)s failed %(count)d times in a row", cron=top["name"], count=top["failures"]))
        action = action or _("Read the scheduled action's error in the server log and fix it.")
    details = [
        (_("Due scheduled actions"), len(late)),
        (_("Most late"), human_duration(worst_late)),
        (_("Failing scheduled actions"), len(failing)),
    ]
    return Verdict(worst(*states), "; ".join(reasons) or _("Scheduled actions run on time."), action, details)


# -- backups -------------------------------------------------------------------------
def backups(_, status, now):
    """``status``: ``backup_status.evaluate``'s answer; ``now``: epoch seconds."""
    warnings = status["warnings"]
    state = "warn" if warnings else "pass"
    if status["last_backup_success_ts"] is None or "failed" in warnings:
        state = "fail"
    first = next((r for r in ("failed", "stale", "unverified", "drill_overdue") if r in warnings), None)
    last = status["last_backup_success_ts"]
    drill = status["drill_success_ts"]
    ago = human_duration
    details = [
        (_("Last successful backup"), _("%s ago") % ago(now - last) if last else _("never")),
        (_("RPO"), human_duration(status["rpo_seconds"])),
        (_("Last verified restore drill"), _("%s ago") % ago(now - drill) if drill else _("never")),
        (_("Drill interval"), human_duration(status["drill_interval_seconds"])),
    ]
    return Verdict(
        state,
        " ".join(warnings[r] for r in BACKUP_REASONS if r in warnings)
        or _("Backups are within RPO, verified, and drilled."),
        BACKUP_REASONS[first] if first else "",
        details,
    )


# -- workflows -------------------------------------------------------------------------
def workflows(_, summary, t=THRESHOLDS):
    """``summary``: ``workflow_stats.summarize`` rows of the last 24 h, None without a ledger."""
    if summary is None:
        return Verdict("pass", _("No workflow ledger yet."), "", [])
    states, reasons = [], []
    for row in summary:
        if row["runs"] < t.workflow_min_runs:
            continue
        if row["failure_rate"] >= t.workflow_failure_fail:
            states.append("fail")
        elif row["failure_rate"] >= t.workflow_failure_warn:
            states.append("warn")
        else:
            continue
        reasons.append(
            _(
                "%(workflow)s fails %(rate).1f%% of %(runs)d runs",
                workflow=row["workflow"],
                rate=100 * row["failure_rate"],
                runs=row["runs"],
            )
        )
    details = [
        (
            row["workflow"],
            _(
                "%(runs)d runs, %(rate).1f%% failed, p95 %(p95)s",
                runs=row["runs"],
                rate=100 * row["failure_rate"],
                p95=seconds(row["p95_seconds"]),
            ),
        )
        for row in summary
    ]
    return Verdict(
        worst(*states),
        "; ".join(reasons)
        or (
            _("No failures above %.0f%%.") % (100 * t.workflow_failure_warn)
            if summary
            else _("No workflow runs in 24 h.")
        ),
        _("Open Workflows, find when failures started and read the matching log events."),
        details,
    )


# -- security and changes ------------------------------------------------------------
def security(_, failed, admins_day, admins_week, keys_week, t=THRESHOLDS):
    """Failed logins in 24 h, administrator rights granted in 24 h and 7 d, API keys created in 7 d."""
    states, reasons, action = [], [], ""
    if failed >= t.failed_logins_fail:
        states.append("fail")
        reasons.append(_("%d failed logins in 24 h") % failed)
        action = _("Find the source IPs in the auth_attempt log events and block them at the proxy.")
    elif failed >= t.failed_logins_warn:
        states.append("warn")
        reasons.append(_("%d failed logins in 24 h") % failed)
        action = _("Check the auth_attempt log events: one user mistyping, or someone guessing?")
    if admins_day:
        states.append("warn")
        reasons.append(_("%d administrator rights granted in 24 h") % admins_day)
        action = action or _("Confirm each new administrator in Security Audit with whoever granted it.")
    details = [
        (_("Failed logins (24 h)"), failed),
        (_("New administrators (7 d)"), admins_week),
        (_("New API keys (7 d)"), keys_week),
    ]
    return Verdict(
        worst(*states),
        "; ".join(reasons) or _("No unusual login failures or privilege changes."),
        action,
        details,
    )


def recent_change_state(age, t=THRESHOLDS):
    """``warn`` while the latest change is younger than ``recent_change_warn_hours``."""
    return "warn" if age < t.recent_change_warn_hours * 3600 else "pass"
