"""Server-wide PostgreSQL collector (one connection to the maintenance database).

Per-database numbers are labelled with the tenant (database) name only for
tenant databases; connections to any other database are summed under
``tenant="__other__"``. Nothing is labelled by PID or ``application_name``.
"""

from .. import detail, metrics
from . import pgconn

OTHER = "__other__"

ACTIVITY_SQL = """
SELECT datname, coalesce(state, 'unknown'), count(*),
       coalesce(max(extract(epoch FROM now() - xact_start)), 0)
  FROM pg_stat_activity
 WHERE datname IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend'
 GROUP BY 1, 2
"""
LOCKS_SQL = """
SELECT a.datname, count(*)
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE NOT l.granted AND a.datname IS NOT NULL
 GROUP BY 1
"""
REPLICATION_SQL = """
SELECT coalesce(client_hostname, host(client_addr), 'local'),
       coalesce(extract(epoch FROM replay_lag), 0)
  FROM pg_stat_replication
"""
STANDBY_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN NOT pg_is_in_recovery() THEN 0
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END,
       current_setting('max_connections')::int
"""
ARCHIVER_SQL = """
SELECT failed_count, extract(epoch FROM now() - last_archived_time), current_setting('archive_mode')
  FROM pg_stat_archiver
"""


def state_label(state):
    """``idle in transaction (aborted)`` -> ``idle_in_transaction_aborted``."""
    return "_".join(state.replace("(", " ").replace(")", " ").split()) or "unknown"


def _tenant(datname, tenants):
    if tenants is not None and datname not in tenants:
        return OTHER
    return metrics.tenant_label(datname)


def collect(
    params,
    tenants=None,
    connect_timeout=pgconn.CONNECT_TIMEOUT,
    statement_timeout=pgconn.STATEMENT_TIMEOUT,
    budget=0.8,
):
    """Return ``(families, ok)``; on failure ``odoo_pg_up`` is 0 and ``ok`` False.

    ``tenants``: set of tenant database names (``None``: every database is one).
    ``budget``: seconds for the whole collection (connect and all statements).
    """
    up = metrics.Family("odoo_pg_up", "gauge", "1 when the PostgreSQL server answers the collector.", ())
    try:
        with pgconn.Connection(
            dict(params, dbname=params.get("dbname") or "postgres"),
            connect_timeout,
            statement_timeout,
            budget=budget,
        ) as conn:
            families = _collect(conn, tenants)
    except Exception:  # dependency down or too slow: report it, never fail the scrape
        up.add(0)
        return [up], False
    up.add(1)
    return [up, *families], True


def _collect(conn, tenants):
    connections = metrics.Family(
        "odoo_pg_connections",
        "gauge",
        "Client connections by tenant database and state.",
        ("tenant", "state"),
    )
    longest = metrics.Family(
        "odoo_pg_longest_transaction_seconds",
        "gauge",
        "Age of the oldest open transaction per tenant database.",
        ("tenant",),
    )
    locks = metrics.Family(
        "odoo_pg_locks_waiting", "gauge", "Lock requests waiting per tenant database.", ("tenant",)
    )
    lag = metrics.Family(
        "odoo_pg_replication_lag_seconds",
        "gauge",
        "Replay lag per streaming replica (replica=self on a standby).",
        ("replica",),
    )
    max_conn = metrics.Family("odoo_pg_max_connections", "gauge", "PostgreSQL max_connections.", ())
    archive_age = metrics.Family(
        "odoo_pg_wal_archive_last_success_age_seconds",
        "gauge",
        "Seconds since the WAL archiver last archived a segment.",
        (),
    )
    archive_failed = metrics.Family(
        "odoo_pg_wal_archive_failed_total", "counter", "WAL segments the archiver failed to archive.", ()
    )

    conn_counts, tx_age = {}, {}
    for datname, state, count, age in conn.query(ACTIVITY_SQL):
        key = (_tenant(datname, tenants), state_label(state))
        conn_counts[key] = conn_counts.get(key, 0) + count
        tx_age[key[0]] = max(tx_age.get(key[0], 0.0), float(age or 0))
    if not detail.full():  # a tenant's connections in one series (the series budget)
        totals = {}
        for (tenant, _state), count in conn_counts.items():
            totals[(tenant, "")] = totals.get((tenant, ""), 0) + count
        conn_counts = totals
    for (tenant, state), count in sorted(conn_counts.items()):
        connections.add(count, tenant=tenant, state=state)
    for tenant, age in sorted(tx_age.items()):
        longest.add(age, tenant=tenant)

    waiting = dict.fromkeys(tx_age, 0)
    for datname, count in conn.query(LOCKS_SQL):
        tenant = _tenant(datname, tenants)
        waiting[tenant] = waiting.get(tenant, 0) + count
    for tenant, count in sorted(waiting.items()):
        locks.add(count, tenant=tenant)

    replicas = {}
    for replica, seconds in conn.query(REPLICATION_SQL):
        replicas[replica] = max(replicas.get(replica, 0.0), float(seconds))
    in_recovery, self_lag, max_connections = conn.query(STANDBY_SQL)[0]
    if in_recovery:
        replicas["self"] = float(self_lag)
    for replica, seconds in sorted(replicas.items()):
        lag.add(seconds, replica=replica)
    max_conn.add(max_connections)

    failed, age, _mode = conn.query(ARCHIVER_SQL)[0]
    archive_failed.add(failed or 0)
    if age is not None:
        archive_age.add(float(age))
    return [connections, longest, locks, lag, max_conn, archive_age, archive_failed]


#: Seconds a ping may take (connect and ``SELECT 1``); readiness checks answer within a second.
PING_TIMEOUT = 0.5


def probe(params, timeout=PING_TIMEOUT):
    """Connect and run ``SELECT 1``, both ending by ``timeout`` (asynchronous libpq, polled: no
    blocking ``connect_timeout``); raises on failure. The one PostgreSQL ping, used by
    readiness (:mod:`..health`)."""
    with pgconn.Connection(params, timeout, timeout) as conn:
        conn.query("SELECT 1")
