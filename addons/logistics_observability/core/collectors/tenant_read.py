"""Reading one tenant database for the tenant collector: one short connection, one query per
domain (Odoo-free). The SQL is :mod:`.tenant_sql`'s, the backup and change queries their
concepts' (``backup_status``, ``changes``)."""

import psycopg2

from .. import backup_status, changes
from . import pgconn
from .tenant_sql import CRON_SQL, MAIL_SQL, MODULE, PROBE_SQL, QUEUE_SQL


def read_changes(conn):
    last = conn.query(changes.LAST_SQL)
    return {"modules": conn.query(changes.COUNTS_SQL), "last": last[0] if last else None}


def read_backup(conn, has_policy):
    policy = conn.query(backup_status.POLICY_SQL) if has_policy else []
    return backup_status.evaluate(conn.query(backup_status.SUMMARY_SQL), policy[0] if policy else None)


def read_tenant(
    params,
    dbname,
    connect_timeout=pgconn.CONNECT_TIMEOUT,
    statement_timeout=pgconn.STATEMENT_TIMEOUT,
    budget=None,
):
    """Everything the gauges need from one database, or ``None`` if the addon is not installed:
    ``size``, ``crons``, ``queue``, ``mail``, ``backup`` and ``changes`` (``None`` where the
    database lacks the domain's tables). ``budget``: seconds for the whole read, if set."""
    with pgconn.Connection(dict(params, dbname=dbname), connect_timeout, statement_timeout, budget) as conn:
        try:
            state, has_queue, has_mail, has_backup, has_policy, size, has_changes = conn.query(
                PROBE_SQL, (MODULE,)
            )[0]
        except psycopg2.errors.UndefinedTable:
            return None  # not an Odoo database
        if state not in ("installed", "to upgrade"):
            return None
        data = {
            "size": size,
            "crons": conn.query(CRON_SQL),
            "queue": None,
            "mail": None,
            "backup": None,
            "changes": None,
        }
        if has_changes:
            data["changes"] = read_changes(conn)
        if has_queue:
            data["queue"] = conn.query(QUEUE_SQL)
        if has_mail:
            data["mail"] = conn.query(MAIL_SQL)
        if has_backup:
            data["backup"] = read_backup(conn, has_policy)
        return data
