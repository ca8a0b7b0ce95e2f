"""The workflow ledger's table: its name, DDL, and the one statement that writes a batch.

This is the public schema other addons import (``TABLE``, ``CREATE_TABLE``); importing it
starts nothing and registers no hook. The process-wide buffer that fills the table lives in
:mod:`.ledger_writer`, its spool files in :mod:`.ledger_spool`.

Table layout (see docs/DESIGN.md "Workflow ledger"): ``minute`` (UTC,
truncated), ``workflow``, ``outcome``, ``count``, ``duration_sum``,
``sql_queries_sum``, ``duration_buckets`` (non-cumulative, one per
``buckets.WORKFLOW_DURATION`` bound + Inf) and ``start_delay_buckets`` (per
``buckets.START_DELAY`` bound + Inf), unique on (minute, workflow, outcome).

Each batch has an id inserted in ``BATCH_TABLE`` by the same statement as the
upsert (:func:`build_upsert`); a batch already recorded there writes nothing, so a
retry after a lost acknowledgement never counts twice.
"""

import datetime

from . import buckets

TABLE = "logistics_workflow_ledger"
BATCH_TABLE = "logistics_workflow_ledger_batch"
N_DURATION = len(buckets.WORKFLOW_DURATION) + 1
N_START_DELAY = len(buckets.START_DELAY) + 1
#: Batch ids older than this are pruned (a batch is replayed within minutes, not days).
BATCH_RETENTION_DAYS = 7

BATCH_DDL = f"""
CREATE TABLE IF NOT EXISTS {BATCH_TABLE} (
    id varchar PRIMARY KEY,
    applied_at timestamp without time zone NOT NULL DEFAULT (now() at time zone 'UTC')
);
CREATE INDEX IF NOT EXISTS {BATCH_TABLE}_applied_at_idx ON {BATCH_TABLE} (applied_at);
"""
CREATE_TABLE = (
    f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id bigserial PRIMARY KEY,
    minute timestamp without time zone NOT NULL,
    workflow varchar NOT NULL,
    outcome varchar NOT NULL CHECK (outcome IN ('success', 'failure')),
    count bigint NOT NULL DEFAULT 0,
    duration_sum double precision NOT NULL DEFAULT 0,
    sql_queries_sum bigint NOT NULL DEFAULT 0,
    duration_buckets bigint[] NOT NULL,
    start_delay_buckets bigint[] NOT NULL,
    CONSTRAINT {TABLE}_minute_workflow_outcome_key UNIQUE (minute, workflow, outcome)
);
CREATE INDEX IF NOT EXISTS {TABLE}_workflow_minute_idx ON {TABLE} (workflow, minute);
"""
    + BATCH_DDL
)

_SUM_ARRAYS = (
    "(SELECT array_agg(COALESCE(a, 0) + COALESCE(b, 0) ORDER BY i) "
    "FROM unnest(l.{c}, EXCLUDED.{c}) WITH ORDINALITY AS s(a, b, i))"
)
# One statement: the batch id and the rows land together or not at all; a known id writes nothing.
UPSERT_HEAD = (
    "WITH batch AS (INSERT INTO %s (id) VALUES (%%s) ON CONFLICT (id) DO NOTHING RETURNING id) "
    "INSERT INTO %s AS l (minute, workflow, outcome, count, duration_sum, sql_queries_sum, "
    "duration_buckets, start_delay_buckets) SELECT v.* FROM (VALUES " % (BATCH_TABLE, TABLE)
)
UPSERT_TAIL = (
    ") AS v WHERE EXISTS (SELECT 1 FROM batch)"
    " ON CONFLICT (minute, workflow, outcome) DO UPDATE SET "
    "count = l.count + EXCLUDED.count, "
    "duration_sum = l.duration_sum + EXCLUDED.duration_sum, "
    "sql_queries_sum = l.sql_queries_sum + EXCLUDED.sql_queries_sum, "
    "duration_buckets = " + _SUM_ARRAYS.format(c="duration_buckets") + ", "
    "start_delay_buckets = " + _SUM_ARRAYS.format(c="start_delay_buckets")
)
_ROW_SQL = (
    "(%s::timestamp, %s::varchar, %s::varchar, %s::bigint, %s::double precision, %s::bigint, "
    "%s::bigint[], %s::bigint[])"
)
PRUNE_SQL = (
    f"DELETE FROM {BATCH_TABLE} WHERE applied_at < (now() at time zone 'UTC') - "
    f"interval '{BATCH_RETENTION_DAYS} days'"
)


class MissingTable(Exception):
    """The tenant database has no ledger table (addon not installed there)."""


def minute_of(ts):
    """Naive UTC datetime of the minute containing epoch seconds ``ts``."""
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=int(ts // 60) * 60)


class Row:
    """One ledger row being summed: a (minute, workflow, outcome) of one tenant."""

    __slots__ = ("count", "delay_buckets", "duration_buckets", "duration_sum", "sql_sum")

    def __init__(self):
        self.count = 0
        self.duration_sum = 0.0
        self.sql_sum = 0
        self.duration_buckets = [0] * N_DURATION
        self.delay_buckets = [0] * N_START_DELAY


def build_upsert(rows, batch_id):
    """(sql, params) of the single statement writing ``rows`` {(minute, wf, outcome): Row}
    as batch ``batch_id``."""
    keys = sorted(rows)  # same lock order in every process: no deadlocks between flushers
    values, params = [], [batch_id]
    for key in keys:
        row = rows[key]
        minute, workflow, outcome = key
        values.append(_ROW_SQL)
        params.extend(
            (
                minute_of(minute * 60),
                workflow,
                outcome,
                row.count,
                row.duration_sum,
                row.sql_sum,
                list(row.duration_buckets),
                list(row.delay_buckets),
            )
        )
    return UPSERT_HEAD + ", ".join(values) + UPSERT_TAIL, params


def add_run(rows, key, duration, sql_queries, start_delay):
    """Add one run to ``rows`` {(minute index, workflow, outcome): Row}."""
    row = rows.get(key)
    if row is None:
        row = rows[key] = Row()
    row.count += 1
    row.duration_sum += duration
    row.sql_sum += int(sql_queries or 0)
    row.duration_buckets[buckets.bucket_index(buckets.WORKFLOW_DURATION, duration)] += 1
    if start_delay is not None:
        row.delay_buckets[buckets.bucket_index(buckets.START_DELAY, start_delay)] += 1
