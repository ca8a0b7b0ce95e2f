"""The tenant collector's families, per domain (Odoo-free): the cached reads of
:func:`.tenant_read.read_tenant` in, ``metrics.Family`` objects out.

Tenants beyond the label cap share ``tenant="__overflow__"``: their samples are folded into one
series per family by each family's ``combine`` (sum of amounts, worst of ages and timestamps).
"""

from .. import backup_status, changes, detail, metrics

# key: (name, type, help, labels, combine), in the order the families are exposed
SPECS = {
    "size": ("odoo_pg_database_size_bytes", "gauge", "Size of the tenant database.", ("tenant",), "sum"),
    "lateness": (
        "odoo_cron_lateness_seconds",
        "gauge",
        "now - nextcall of due active scheduled actions.",
        ("tenant", "cron"),
        "max",
    ),
    "failing": (
        "odoo_cron_failing",
        "gauge",
        "Consecutive failures of active scheduled actions (only failing ones).",
        ("tenant", "cron"),
        "max",
    ),
    "jobs": (
        "odoo_queue_jobs",
        "gauge",
        "queue_job jobs by channel and state.",
        ("tenant", "channel", "state"),
        "sum",
    ),
    "oldest": (
        "odoo_queue_oldest_pending_age_seconds",
        "gauge",
        "Age of the oldest due pending/enqueued queue_job job.",
        ("tenant", "channel"),
        "max",
    ),
    "mail": ("odoo_mail_queue", "gauge", "Outgoing mail.mail messages by state.", ("tenant", "state"), "sum"),
    "b_ts": (
        "odoo_backup_last_success_timestamp_seconds",
        "gauge",
        "End of the last successful backup.",
        ("tenant", "kind"),
        "min",
    ),
    "b_status": (
        "odoo_backup_last_status",
        "gauge",
        "Latest finished backup: 1 succeeded, 0 failed.",
        ("tenant", "kind"),
        "min",
    ),
    "b_size": (
        "odoo_backup_last_size_bytes",
        "gauge",
        "Size of the last successful backup.",
        ("tenant", "kind"),
        "sum",
    ),
    "b_dur": (
        "odoo_backup_last_duration_seconds",
        "gauge",
        "Duration of the last successful backup.",
        ("tenant", "kind"),
        "max",
    ),
    "drill": (
        "odoo_restore_test_last_success_timestamp_seconds",
        "gauge",
        "End of the last restore drill that restored and verified the data.",
        ("tenant",),
        "min",
    ),
    "rpo": (
        "odoo_backup_rpo_seconds",
        "gauge",
        "Recovery point objective of the tenant.",
        ("tenant",),
        "min",
    ),
    "interval": (
        "odoo_restore_test_interval_seconds",
        "gauge",
        "Required restore-drill interval.",
        ("tenant",),
        "min",
    ),
    "warning": (
        "odoo_backup_warning",
        "gauge",
        "1 when a backup warning holds (stale, drill_overdue, unverified, failed).",
        ("tenant", "reason"),
        "max",
    ),
    "module_ops": (
        "odoo_module_operations_total",
        "counter",
        "Module installs, upgrades and uninstalls in the tenant (from its own records).",
        ("tenant", "operation"),
        "sum",
    ),
    "last_change": (
        "odoo_last_change_timestamp_seconds",
        "gauge",
        "When the tenant's latest change (module, parameter, setting, cron) happened.",
        ("tenant", "kind", "operation", "target"),
        "max",
    ),
}


def add_database(fams, tenant, size):
    if size is not None:
        fams["size"].add(size, tenant=tenant)


def add_crons(fams, tenant, rows):
    if not detail.full():
        # the worst late and the worst failing action of the tenant, named: one series each
        # whatever the number of actions (an incident that makes every cron late must not
        # multiply series); the full list is in Platform Health > Queue Depth
        late = [r for r in rows if r[1] is not None]
        failing = [r for r in rows if r[2]]
        rows = []
        if late:
            cron, age, _f = max(late, key=lambda r: (float(r[1]), r[0]))
            rows.append((cron, age, None))
        if failing:
            cron, _a, failures = max(failing, key=lambda r: (r[2], r[0]))
            rows.append((cron, None, failures))
    for cron, late, failures in rows:
        if late is not None:
            fams["lateness"].add(float(late), tenant=tenant, cron=cron)
        if failures:
            fams["failing"].add(failures, tenant=tenant, cron=cron)


# the queue depth at the default detail level: jobs still to run or failed, not their history
QUEUE_BACKLOG = frozenset(("pending", "enqueued", "started", "wait_dependencies", "failed"))
MAIL_BACKLOG = frozenset(("outgoing", "exception"))


def add_queue(fams, tenant, rows):
    if not detail.full():  # per state, channels summed (the series budget)
        merged = {}
        for _channel, state, count, age in rows or ():
            if state in QUEUE_BACKLOG:
                n, oldest = merged.get(state, (0, None))
                if age is not None:
                    oldest = max(oldest or 0.0, float(age))
                merged[state] = (n + count, oldest)
        rows = [("", state, n, age) for state, (n, age) in sorted(merged.items())]
    for channel, state, count, _age in rows or ():
        fams["jobs"].add(count, tenant=tenant, channel=channel, state=state)
    ages = {}
    for channel, _state, _count, age in rows or ():
        if age is not None:
            ages[channel] = max(ages.get(channel, 0.0), float(age))
    for channel, age in sorted(ages.items()):
        fams["oldest"].add(age, tenant=tenant, channel=channel)


def add_mail(fams, tenant, rows):
    if not detail.full():
        rows = [(state, count) for state, count in rows or () if state in MAIL_BACKLOG]
    for state, count in rows or ():
        fams["mail"].add(count, tenant=tenant, state=state)


def add_changes(fams, tenant, found):
    if not found:
        return
    if not detail.full():  # the latest change is enough for the shipped rules (series budget)
        found = dict(found, modules=None)
    # every operation from 0, so the first one is an increase Prometheus sees
    if found["modules"] is not None:
        counts = dict.fromkeys(changes.OPERATIONS, 0)
        counts.update({op: n for op, n in found["modules"] if op in counts})
        for operation, count in counts.items():
            fams["module_ops"].add(count, tenant=tenant, operation=operation)
    if found["last"]:
        kind, operation, target, when = found["last"]
        fams["last_change"].add(
            float(when),
            tenant=tenant,
            kind=kind or "",
            operation=operation or "",
            target=(target or "")[:100],
        )  # one series per tenant: the latest


def add_backup(fams, tenant, status):
    if status is None:
        return
    full = detail.full()  # size, duration and quiet warnings: Platform Health has them (series budget)
    for kind, info in sorted(status["kinds"].items()):
        if kind == backup_status.DRILL:
            continue
        if info["last_status"]:
            fams["b_status"].add(1 if info["last_status"] == "success" else 0, tenant=tenant, kind=kind)
        if info["success_ts"]:
            fams["b_ts"].add(info["success_ts"], tenant=tenant, kind=kind)
            if full and info["size_bytes"] is not None:
                fams["b_size"].add(info["size_bytes"], tenant=tenant, kind=kind)
            if full and info["duration_seconds"] is not None:
                fams["b_dur"].add(info["duration_seconds"], tenant=tenant, kind=kind)
    if status["drill_success_ts"]:
        fams["drill"].add(status["drill_success_ts"], tenant=tenant)
    fams["rpo"].add(status["rpo_seconds"], tenant=tenant)
    fams["interval"].add(status["drill_interval_seconds"], tenant=tenant)
    for reason in backup_status.REASONS:
        if full or reason in status["warnings"]:
            fams["warning"].add(1 if reason in status["warnings"] else 0, tenant=tenant, reason=reason)


def build(data):
    """The families of ``data`` (dbname -> (read at, :func:`.tenant_read.read_tenant`'s answer))."""
    fams = {
        key: metrics.Family(name, type_, help_, labels, combine=combine)
        for key, (name, type_, help_, labels, combine) in SPECS.items()
    }
    for dbname in sorted(data):
        _read_at, values = data[dbname]
        tenant = metrics.tenant_label(dbname)
        add_database(fams, tenant, values.get("size"))
        add_crons(fams, tenant, values["crons"])
        add_queue(fams, tenant, values["queue"])
        add_mail(fams, tenant, values["mail"])
        add_changes(fams, tenant, values.get("changes"))
        add_backup(fams, tenant, values.get("backup"))
    return list(fams.values())
