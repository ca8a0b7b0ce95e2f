"""The SQL Platform Health runs on its own database (Odoo-free text; the model executes it).

Only this database's figures and server-wide totals: a card never shows another tenant's name.
"""

#: own connections, own active, own idle in transaction, own longest transaction (s),
#: server connections, max_connections
ACTIVITY_SQL = """
            SELECT count(*) FILTER (WHERE datname = current_database()),
                   count(*) FILTER (WHERE datname = current_database() AND state = 'active'),
                   count(*) FILTER (WHERE datname = current_database()
                                      AND state LIKE 'idle in transaction%%'),
                   coalesce(max(extract(epoch FROM now() - xact_start))
                            FILTER (WHERE datname = current_database() AND pid <> pg_backend_pid()), 0),
                   count(*),
                   current_setting('max_connections')::int
              FROM pg_stat_activity WHERE backend_type = 'client backend'"""
#: lock requests waiting in this database
WAITING_LOCKS_SQL = """
            SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE NOT l.granted AND a.datname = current_database()"""
DATABASE_SIZE_SQL = "SELECT pg_database_size(current_database())"
#: max replay lag (s), replicas
REPLICATION_SQL = "SELECT max(coalesce(extract(epoch FROM replay_lag), 0)), count(*) FROM pg_stat_replication"
#: failed count, failing now, archive_mode
ARCHIVER_SQL = """SELECT failed_count, last_failed_time > coalesce(last_archived_time, '-infinity'),
                             current_setting('archive_mode') FROM pg_stat_archiver"""
