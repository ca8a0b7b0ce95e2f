"""Backup and restore-drill status of one tenant database (Odoo-free).

The backend (Platform Health, Backup Status) and the metrics collector both
run :data:`SUMMARY_SQL` on the tenant database and call :func:`evaluate`, so
the warnings a manager sees are exactly the ones Prometheus alerts on.
Reports sent by backup jobs are validated in :mod:`.backup_reports`.
"""

import datetime

BACKUP_KINDS = ("full", "incremental", "wal", "snapshot")
DRILL = "restore_drill"
KINDS = (*BACKUP_KINDS, DRILL)
STATUSES = ("running", "success", "failed")

DEFAULT_RPO_HOURS = 24.0
DEFAULT_DRILL_DAYS = 30.0

#: Warning reasons (``odoo_backup_warning{reason}``), with the first action to take.
REASONS = {
    "stale": "Check the backup job and its schedule; run a backup now.",
    "drill_overdue": "Restore the latest backup on a scratch server and report the drill.",
    "unverified": "Verify the backup checksum (and restore) and report the verified run.",
    "failed": "Read the backup job's log, fix the cause and re-run it.",
}

# One row per kind: the latest finished run, and the latest verified success.
SUMMARY_SQL = """
SELECT k.kind,
       last.status, last.started_at, last.ended_at, last.size_bytes, last.checksum_verified,
       last.restore_verified,
       ok.started_at, ok.ended_at, ok.size_bytes, ok.checksum_verified, ok.restore_verified
  FROM (SELECT DISTINCT kind FROM logistics_backup_run) k
  LEFT JOIN LATERAL (
        SELECT status, started_at, ended_at, size_bytes, checksum_verified, restore_verified
          FROM logistics_backup_run r
         WHERE r.kind = k.kind AND r.status IN ('success', 'failed')
         ORDER BY r.started_at DESC, r.id DESC LIMIT 1) last ON TRUE
  LEFT JOIN LATERAL (
        SELECT started_at, ended_at, size_bytes, checksum_verified, restore_verified
          FROM logistics_backup_run r
         WHERE r.kind = k.kind AND r.status = 'success'
         ORDER BY coalesce(r.ended_at, r.started_at) DESC, r.id DESC LIMIT 1) ok ON TRUE
"""
POLICY_SQL = """
SELECT rpo_hours, drill_interval_days FROM logistics_backup_policy
 WHERE active ORDER BY id LIMIT 1
"""


def _ts(value):
    """Naive UTC datetime (Odoo's storage) -> epoch seconds."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.timestamp()


def evaluate(rows, policy=None, now=None):
    """Summarize :data:`SUMMARY_SQL` rows against ``policy`` = (rpo_hours, drill_days).

    Returns a dict: ``kinds`` {kind: {...}}, ``drill_success_ts``, ``rpo_seconds``,
    ``drill_interval_seconds``, ``last_backup_success_ts``, ``warnings`` {reason: text}.
    """
    now = now if now is not None else datetime.datetime.now(datetime.timezone.utc).timestamp()
    rpo_hours, drill_days = policy or (None, None)
    rpo = float(rpo_hours or DEFAULT_RPO_HOURS) * 3600.0
    drill_interval = float(drill_days or DEFAULT_DRILL_DAYS) * 86400.0
    kinds = {}
    for kind, st, st_start, st_end, _st_size, _st_ck, _st_rv, ok_start, ok_end, ok_size, ok_ck, ok_rv in rows:
        if kind not in KINDS:
            continue
        ok_ts = _ts(ok_end or ok_start)
        kinds[kind] = {
            "last_status": st,
            "last_finished_ts": _ts(st_end or st_start),
            "success_ts": ok_ts,
            "size_bytes": ok_size,
            "duration_seconds": (_ts(ok_end) - _ts(ok_start)) if ok_end and ok_start else None,
            "checksum_verified": bool(ok_ck),
            "restore_verified": bool(ok_rv),
        }
    warnings = {}
    backups = {k: v for k, v in kinds.items() if k in BACKUP_KINDS}
    successes = [v["success_ts"] for v in backups.values() if v["success_ts"]]
    last_success = max(successes) if successes else None
    if last_success is None:
        warnings["stale"] = "No successful backup has been reported."
    elif now - last_success > rpo:
        warnings["stale"] = "Last successful backup is %s old; the RPO is %s." % (
            human_duration(now - last_success),
            human_duration(rpo),
        )
    drill = kinds.get(DRILL)
    drill_ts = drill["success_ts"] if drill and drill["restore_verified"] else None
    if drill_ts is None:
        warnings["drill_overdue"] = "No verified restore drill has been reported."
    elif now - drill_ts > drill_interval:
        warnings["drill_overdue"] = "Last verified restore drill is %s old; the interval is %s." % (
            human_duration(now - drill_ts),
            human_duration(drill_interval),
        )
    unverified = sorted(k for k, v in backups.items() if v["success_ts"] and not v["checksum_verified"])
    if drill and drill["success_ts"] and not drill["restore_verified"]:
        unverified.append(DRILL)
    if unverified:
        warnings["unverified"] = "Latest successful run not verified: %s." % ", ".join(unverified)
    failed = sorted(k for k, v in kinds.items() if v["last_status"] == "failed")
    if failed:
        warnings["failed"] = "Latest run failed: %s." % ", ".join(failed)
    return {
        "kinds": kinds,
        "last_backup_success_ts": last_success,
        "drill_success_ts": drill_ts,
        "rpo_seconds": rpo,
        "drill_interval_seconds": drill_interval,
        "warnings": warnings,
    }


def human_duration(seconds):
    seconds = max(0, int(seconds))
    if seconds < 120:
        return "%ds" % seconds
    if seconds < 7200:
        return "%dm" % (seconds // 60)
    if seconds < 172800:
        return "%.1fh" % (seconds / 3600.0)
    return "%.1fd" % (seconds / 86400.0)
