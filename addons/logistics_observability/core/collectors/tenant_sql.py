"""The SQL the tenant collector runs, per domain (Odoo-free text).

The Queue Depth view (``models/queue_depth.py``) runs the cron, queue_job and mail queries on its
own database, so the view and the gauges count the same rows. Odoo's table and column names come
from ``odoo_facts`` (checked against each series' source); the backup and change queries live with
their concepts (``backup_status``, ``changes``).
"""

from .. import odoo_facts as facts

#: the module whose installation makes a database a tenant
MODULE = "logistics_observability"

# -- databases -------------------------------------------------------------------
LIST_SQL = """
SELECT datname FROM pg_database
 WHERE datallowconn AND NOT datistemplate AND datname <> 'postgres'
 ORDER BY datname
"""
#: the module's state, which optional tables exist, and the database size
PROBE_SQL = f"""
SELECT (SELECT state FROM {facts.MODULE_TABLE} WHERE name = %s),
       to_regclass('{facts.QUEUE_JOB_TABLE}') IS NOT NULL,
       to_regclass('{facts.MAIL_TABLE}') IS NOT NULL,
       to_regclass('logistics_backup_run') IS NOT NULL,
       to_regclass('logistics_backup_policy') IS NOT NULL,
       pg_database_size(current_database()),
       to_regclass('logistics_change_count') IS NOT NULL
"""

# -- scheduled actions: (name, lateness in s or None, consecutive failures) --------------
CRON_SQL = f"""
SELECT DISTINCT ON (c.id)
       coalesce(d.module || '.' || d.name, 'ir_cron_' || c.id),
       CASE WHEN c.nextcall < (now() AT TIME ZONE 'UTC')
            THEN extract(epoch FROM (now() AT TIME ZONE 'UTC') - c.nextcall) END,
       coalesce(c.{facts.CRON_FAILURE_COUNT}, 0)
  FROM {facts.CRON_TABLE} c
  LEFT JOIN {facts.MODEL_DATA_TABLE} d ON d.model = 'ir.cron' AND d.res_id = c.id
 WHERE c.active AND (c.nextcall < (now() AT TIME ZONE 'UTC') OR coalesce(c.{facts.CRON_FAILURE_COUNT}, 0) > 0)
 ORDER BY c.id, d.id
 LIMIT 500
"""

# -- queue_job: (channel, state, count, age of the oldest due pending job in s or None) ----
QUEUE_SQL = f"""
SELECT coalesce(channel, 'root'), state, count(*),
       extract(epoch FROM (now() AT TIME ZONE 'UTC') - min(coalesce(eta, date_created))
               FILTER (WHERE state IN ('pending', 'enqueued')
                         AND coalesce(eta, date_created) <= (now() AT TIME ZONE 'UTC')))
  FROM {facts.QUEUE_JOB_TABLE}
 GROUP BY 1, 2
 LIMIT 1000
"""

# -- outgoing mail: (state, count) -----------------------------------------------------------
MAIL_SQL = "SELECT coalesce(state, 'unknown'), count(*) FROM %s GROUP BY 1" % facts.MAIL_TABLE
