"""Lightweight tenant databases for the tenant collector at scale: only the tables and columns its
SQL reads (``core/collectors/tenant_sql.py``, ``backup_status``, ``changes``), a few rows each,
cloned from one small template so that thousands are quick to create. No Odoo needed."""

import contextlib
import threading
import time

import odoo_harness
import psycopg2

from logistics_observability.core.collectors import tenant_sql

#: what a tenant with the suite installed holds, as far as the tenant collector reads it
SCHEMA = f"""
CREATE TABLE ir_module_module (id serial PRIMARY KEY, name varchar NOT NULL, state varchar);
INSERT INTO ir_module_module (name, state) VALUES ('base', 'installed'), ('{tenant_sql.MODULE}', 'installed');
CREATE TABLE ir_model_data (id serial PRIMARY KEY, module varchar, name varchar, model varchar, res_id int);
CREATE TABLE ir_cron (id serial PRIMARY KEY, active boolean, nextcall timestamp, failure_count int);
INSERT INTO ir_cron (active, nextcall, failure_count) VALUES
    (true, (now() AT TIME ZONE 'UTC') - interval '10 minutes', 0),
    (true, (now() AT TIME ZONE 'UTC') + interval '1 hour', 3),
    (true, (now() AT TIME ZONE 'UTC') + interval '1 hour', 0);
INSERT INTO ir_model_data (module, name, model, res_id) VALUES
    ('base', 'cron_a', 'ir.cron', 1), ('base', 'cron_b', 'ir.cron', 2);
CREATE TABLE queue_job (id serial PRIMARY KEY, channel varchar, state varchar, eta timestamp,
                        date_created timestamp);
INSERT INTO queue_job (channel, state, eta, date_created) VALUES
    ('root', 'pending', NULL, (now() AT TIME ZONE 'UTC') - interval '2 minutes'),
    ('root', 'done', NULL, (now() AT TIME ZONE 'UTC') - interval '1 hour'),
    ('root.carrier', 'failed', NULL, (now() AT TIME ZONE 'UTC') - interval '1 hour');
CREATE TABLE mail_mail (id serial PRIMARY KEY, state varchar);
INSERT INTO mail_mail (state) VALUES ('outgoing'), ('exception');
CREATE TABLE logistics_backup_run (id serial PRIMARY KEY, kind varchar, status varchar,
    started_at timestamp, ended_at timestamp, size_bytes bigint, checksum_verified boolean,
    restore_verified boolean);
INSERT INTO logistics_backup_run (kind, status, started_at, ended_at, size_bytes, checksum_verified,
                                  restore_verified) VALUES
    ('full', 'success', (now() AT TIME ZONE 'UTC') - interval '3 hours',
     (now() AT TIME ZONE 'UTC') - interval '2 hours', 123456789, true, false),
    ('restore_test', 'success', (now() AT TIME ZONE 'UTC') - interval '2 days',
     (now() AT TIME ZONE 'UTC') - interval '47 hours', NULL, true, true);
CREATE TABLE logistics_backup_policy (id serial PRIMARY KEY, active boolean, rpo_hours float,
                                      drill_interval_days float);
INSERT INTO logistics_backup_policy (active, rpo_hours, drill_interval_days) VALUES (true, 24, 30);
CREATE TABLE logistics_change_count (kind varchar, operation varchar, count int);
INSERT INTO logistics_change_count VALUES ('module', 'install', 12), ('module', 'upgrade', 3);
CREATE TABLE logistics_audit_event (id serial PRIMARY KEY, category varchar, kind varchar,
    operation varchar, target varchar, create_date timestamp);
INSERT INTO logistics_audit_event (category, kind, operation, target, create_date) VALUES
    ('change', 'module', 'upgrade', 'sale', (now() AT TIME ZONE 'UTC') - interval '1 day');
"""

#: the application name of the collector's connections (``pgconn.Connection``)
COLLECTOR_APP = "odoo-observability-collector"


def names(prefix, count):
    return ["%s%04d" % (prefix, i + 1) for i in range(count)]


def existing(prefix):
    with contextlib.closing(odoo_harness.pg_connect()) as conn, conn.cursor() as cr:
        cr.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,))
        return {row[0] for row in cr.fetchall()}


def make_template(name):
    """(Re)create the template database ``name`` holding :data:`SCHEMA`."""
    odoo_harness.drop_db(name)
    with contextlib.closing(odoo_harness.pg_connect()) as conn, conn.cursor() as cr:
        cr.execute('CREATE DATABASE "%s"' % name)
    with contextlib.closing(odoo_harness.pg_connect(name)) as conn, conn.cursor() as cr:
        cr.execute(SCHEMA)
    return name


def _each(statement, dbnames, parallel, progress=None):
    """Run ``statement % name`` for every name on ``parallel`` connections (DDL that waits for
    checkpoints: several at once share them)."""
    todo = list(dbnames)
    lock = threading.Lock()
    done = [0]
    errors = []

    def work():
        with contextlib.closing(odoo_harness.pg_connect()) as conn, conn.cursor() as cr:
            cr.execute("SET statement_timeout = '300s'")
            while True:
                with lock:
                    if not todo or errors:
                        return
                    name = todo.pop()
                try:
                    cr.execute(statement % name)
                except psycopg2.Error as exc:
                    errors.append(exc)
                    return
                with lock:
                    done[0] += 1
                    if progress and done[0] % 100 == 0:
                        progress(done[0])

    threads = [threading.Thread(target=work, daemon=True) for _ in range(max(1, parallel))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return done[0]


def create(template, prefix, count, parallel=3, progress=None):
    """Clone ``template`` as ``prefix0001``... (the missing ones); returns (names, how many made)."""
    wanted = names(prefix, count)
    have = existing(prefix)
    made = _each(
        'CREATE DATABASE "%%s" TEMPLATE "%s"' % template,
        [n for n in wanted if n not in have],
        parallel,
        progress,
    )
    return wanted, made


def drop(dbnames, parallel=4, progress=None):
    return _each('DROP DATABASE IF EXISTS "%s" WITH (FORCE)', dbnames, parallel, progress)


class ConnectionSampler:
    """Samples, in a thread, how many collector connections are open on databases named
    ``prefix...``; ``peak`` is the most seen at once."""

    def __init__(self, prefix, every=0.005):
        self.prefix = prefix
        self.every = every
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)

    def _run(self):
        with contextlib.closing(odoo_harness.pg_connect()) as conn, conn.cursor() as cr:
            cr.execute("SET statement_timeout = '5s'")
            while not self._stop.is_set():
                try:
                    cr.execute(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE application_name = %s AND starts_with(datname, %s)",
                        (COLLECTOR_APP, self.prefix),
                    )
                    # pg_stat_activity is a snapshot per transaction: autocommit gives a fresh one
                    self.peak = max(self.peak, cr.fetchone()[0])
                    self.samples += 1
                except psycopg2.Error:
                    pass
                time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
