"""SQL of the ledger tables the SLO refresh reads and the hourly rollup it keeps."""

from . import _deps, slo_math

LEDGER = _deps.ledger.TABLE
HOURLY = "logistics_slo_ledger_hourly"
#: The workflows the ledger has seen, and the hour of its first row.

# The minute ledger belongs to logistics_observability; its DDL is reused here only
# when that table is missing (fresh database, tests), never to alter it.
LEDGER_DDL = _deps.ledger.CREATE_TABLE

HOURLY_DDL = """
CREATE TABLE IF NOT EXISTS logistics_slo_ledger_hourly (
    hour timestamp without time zone NOT NULL,
    workflow varchar NOT NULL,
    outcome varchar NOT NULL,
    count bigint NOT NULL DEFAULT 0,
    duration_buckets bigint[] NOT NULL DEFAULT '{}',
    start_delay_buckets bigint[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (hour, workflow, outcome)
)
"""

# Re-aggregates whole hours of the minute ledger (element-wise bucket sums).
ROLLUP_SQL = (
    """
WITH src AS (
    SELECT date_trunc('hour', minute) AS h, workflow, outcome, count, duration_buckets, start_delay_buckets
      FROM """
    + LEDGER
    + """ WHERE minute >= %(start)s AND minute < %(end)s
), tot AS (
    SELECT h, workflow, outcome, sum(count) AS c FROM src GROUP BY 1, 2, 3
), d AS (
    SELECT h, workflow, outcome, array_agg(v ORDER BY i) AS a FROM (
        SELECT h, workflow, outcome, i, sum(v)::bigint AS v
          FROM src, unnest(duration_buckets) WITH ORDINALITY AS u(v, i) GROUP BY 1, 2, 3, 4) x
     GROUP BY 1, 2, 3
), s AS (
    SELECT h, workflow, outcome, array_agg(v ORDER BY i) AS a FROM (
        SELECT h, workflow, outcome, i, sum(v)::bigint AS v
          FROM src, unnest(start_delay_buckets) WITH ORDINALITY AS u(v, i) GROUP BY 1, 2, 3, 4) x
     GROUP BY 1, 2, 3
)
INSERT INTO logistics_slo_ledger_hourly AS l
       (hour, workflow, outcome, count, duration_buckets, start_delay_buckets)
SELECT tot.h, tot.workflow, tot.outcome, tot.c, coalesce(d.a, '{}'), coalesce(s.a, '{}')
  FROM tot LEFT JOIN d USING (h, workflow, outcome) LEFT JOIN s USING (h, workflow, outcome)
ON CONFLICT (hour, workflow, outcome) DO UPDATE
   SET count = EXCLUDED.count, duration_buckets = EXCLUDED.duration_buckets,
       start_delay_buckets = EXCLUDED.start_delay_buckets
"""
)


# -- what the SLO model reads besides the segments ------------------------------------------
#: modules whose default SLOs apply
INSTALLED_MODULES_SQL = (
    "SELECT name FROM ir_module_module WHERE state IN ('installed', 'to install', 'to upgrade')"
)
#: workflows with ledger traffic
LEDGER_WORKFLOWS_SQL = "SELECT DISTINCT workflow FROM " + LEDGER
#: the rollup's last hour (None before the first rollup)
LAST_ROLLED_HOUR_SQL = "SELECT max(hour) FROM logistics_slo_ledger_hourly"
#: the minute ledger's first hour (None when empty)
FIRST_LEDGER_HOUR_SQL = "SELECT date_trunc('hour', min(minute)) FROM " + LEDGER


class SegmentCache:
    """Bounded memo of settled hourly segments (rolled-up hours do not change).

    Keyed by (database, start, end); within an hour every refresh asks for the
    same long segments, so only the recent ones hit the database.
    """

    def __init__(self, size=4096):
        self.size = size
        self.data = {}

    def get(self, key):
        return self.data.get(key)

    def forget_all(self):
        self.data.clear()

    def put(self, key, value):
        if len(self.data) >= self.size:
            self.data.pop(next(iter(self.data)))
        self.data[key] = value


CACHE = SegmentCache()


#: The main addon's "does this table exist" (re-exported for the SLO model).
table_exists = _deps.tables.table_exists


def segment_counts(cr, dbname, segments, settled_before, cache=CACHE):
    """Counts per segment: hourly segments from the rollup (settled ones memoised),
    the others from the minute ledger. ``cr`` is any DB-API cursor."""
    if cache is not None:
        # a database dropped and re-created under the same name gets a new oid
        cr.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        dbname = (dbname, cr.fetchone()[0])
    result = [slo_math.Counts() for _s in segments]
    for source, table, column in (("hourly", HOURLY, "hour"), ("minute", LEDGER, "minute")):
        idx = []
        for i, (a, b, src) in enumerate(segments):
            if src != source or a >= b:
                continue
            hit = (
                cache.get((dbname, a, b))
                if (cache is not None and source == "hourly" and b <= settled_before)
                else None
            )
            if hit is not None:
                result[i].merge(hit)
            else:
                idx.append(i)
        if not idx or not table_exists(cr, table):
            continue
        sql, params = slo_math.segment_sums_sql(table, column, [segments[i][:2] for i in idx])
        cr.execute(sql, params)
        for pos, counts in enumerate(slo_math.counts_from_sum_rows(cr.fetchall(), len(idx))):
            i = idx[pos]
            result[i].merge(counts)
            a, b, _src = segments[i]
            if cache is not None and source == "hourly" and b <= settled_before:
                cache.put((dbname, a, b), counts)
    return result
