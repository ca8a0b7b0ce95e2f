"""Per-tenant collector against real Odoo databases with real queue_job jobs, crons, mails and backups.

Backups are reported with the ``odoo-bin observability_backup`` subcommand, as a backup job would.
Which databases are tenants, without a database: tests/unit/test_tenant_filter.py; the collector
before its first refresh: tests/services/test_collectors_tenant_warmup.py.
"""

import contextlib
import json
import subprocess
import time

import odoo_harness
import pytest
from collector_helpers import samples, value

from logistics_observability.core import detail, metrics
from logistics_observability.core.collectors import as_collector, pgconn, tenant, tenant_families

pytestmark = [pytest.mark.odoo]
PARAMS = pgconn.conn_params(
    host=odoo_harness.PG["host"], port=odoo_harness.PG["port"], user=odoo_harness.PG["user"]
)
PLAIN = "lotest_plat_plain"

SETUP_SCRIPT = """
import json
partner = env.ref("base.main_partner")
for i in range(3):
    partner.with_delay(channel="root", description="lo test %d" % i).write({"comment": "job %d" % i})
env["mail.mail"].create({"subject": "lo test", "email_to": "nobody@example.com", "body_html": "<p>x</p>"})
env.cr.commit()
env.cr.execute("UPDATE queue_job SET date_created = date_created - interval '10 minutes', eta = NULL")
env.cr.execute("UPDATE queue_job SET state = 'failed' WHERE id = (SELECT min(id) FROM queue_job)")
cron = env.ref("base.autovacuum_job")
env.cr.execute("UPDATE ir_cron SET nextcall = (now() at time zone 'UTC') + interval '1 hour'")
env.cr.execute("UPDATE ir_cron SET nextcall = (now() at time zone 'UTC') - interval '1 hour', "
               "failure_count = 3 WHERE id = %s", (cron.id,))
env.cr.commit()
env.invalidate_all()
cards = {c["key"]: c for c in env["logistics.platform.health"].get_cards()}
print("CARDS=" + json.dumps({k: [c["state"], c["reason"]] for k, c in cards.items()}))
"""


@pytest.fixture(scope="module", autouse=True)
def metrics_dir(tmp_path_factory):
    metrics.configure(directory=str(tmp_path_factory.mktemp("metrics")))


@pytest.fixture(scope="module")
def queue_template(odoo_available):
    return odoo_harness.template_db(["base", "web", "logistics_observability", "queue_job"])


def odoo(args, stdin=None, timeout=300):
    cmd = [
        *odoo_harness.odoo_cmd(),
        "--addons-path=" + odoo_harness.addons_path(),
        *args,
        "--db_host=" + odoo_harness.PG["host"],
        "--db_port=%s" % odoo_harness.PG["port"],
        "--db_user=" + odoo_harness.PG["user"],
    ]
    return subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, timeout=timeout, cwd=odoo_harness.ROOT
    )


def report_backup(db, *extra):
    """``odoo-bin observability_backup`` (the subcommand takes --addons-path before its name)."""
    cmd = [
        *odoo_harness.odoo_cmd(),
        "--addons-path=" + odoo_harness.addons_path(),
        "observability_backup",
        "--db_host=" + odoo_harness.PG["host"],
        "--db_port=%s" % odoo_harness.PG["port"],
        "--db_user=" + odoo_harness.PG["user"],
        "-d",
        db,
        "--json",
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=odoo_harness.ROOT)


@pytest.fixture(scope="module")
def tenant_db(queue_template):
    name = odoo_harness.clone_db(queue_template, "lotest_plat_qj_a")
    odoo_harness.drop_db(PLAIN)
    with contextlib.closing(odoo_harness.pg_connect()) as conn, conn.cursor() as cr:
        cr.execute('CREATE DATABASE "%s"' % PLAIN)
    proc = odoo(["shell", "-d", name, "--no-http", "--log-level=error"], stdin=SETUP_SCRIPT)
    cards = [line for line in proc.stdout.splitlines() if line.startswith("CARDS=")]
    assert cards, proc.stdout[-3000:] + proc.stderr[-3000:]
    yield name, json.loads(cards[0][len("CARDS=") :])
    odoo_harness.drop_db(name)
    odoo_harness.drop_db(PLAIN)


def collector(names):
    return tenant.TenantCollector(PARAMS, lambda found: [n for n in found if n in names], ttl=30)


def full_families(coll):
    """The collector's families at the opt-in full detail level."""
    detail.configure(detail.FULL)
    try:  # built anew: the collector keeps the families it built for its last refresh
        return samples(tenant_families.build(coll.data))
    finally:
        detail.configure(detail.DEFAULT)


def test_queue_crons_mail_from_a_real_tenant(tenant_db):
    db, _cards = tenant_db
    coll = collector({db, PLAIN})
    assert coll.refresh()
    assert set(coll.data) == {db}, "only databases with the addon installed are tenants"
    families, ok, _reason = coll.collect()
    scraped = samples(families)
    assert ok
    # default level: channels summed, the tenant's worst late and worst failing action
    assert value(scraped, "odoo_queue_jobs", tenant=db, channel="", state="pending") == 2
    assert value(scraped, "odoo_queue_jobs", tenant=db, channel="", state="failed") == 1
    assert value(scraped, "odoo_queue_jobs", tenant=db, channel="root", state="pending") is None
    assert value(scraped, "odoo_queue_oldest_pending_age_seconds", tenant=db, channel="") >= 590
    assert value(scraped, "odoo_cron_lateness_seconds", tenant=db, cron="base.autovacuum_job") >= 3590
    assert value(scraped, "odoo_cron_failing", tenant=db, cron="base.autovacuum_job") == 3
    assert value(scraped, "odoo_mail_queue", tenant=db, state="outgoing") == 1
    assert value(scraped, "odoo_pg_database_size_bytes", tenant=db) > 1e6
    assert value(scraped, "odoo_tenant_databases") == 1
    assert value(scraped, "odoo_collector_cache_age_seconds", collector="tenants") < 30
    # full level: per channel
    scraped = full_families(coll)
    assert value(scraped, "odoo_queue_jobs", tenant=db, channel="root", state="pending") == 2
    assert value(scraped, "odoo_queue_jobs", tenant=db, channel="root", state="failed") == 1
    assert value(scraped, "odoo_queue_jobs", tenant=db, channel="", state="pending") is None
    assert value(scraped, "odoo_queue_oldest_pending_age_seconds", tenant=db, channel="root") >= 590
    assert value(scraped, "odoo_cron_lateness_seconds", tenant=db, cron="base.autovacuum_job") >= 3590
    assert value(scraped, "odoo_cron_failing", tenant=db, cron="base.autovacuum_job") == 3
    assert value(scraped, "odoo_mail_queue", tenant=db, state="outgoing") == 1


def test_backend_cards_with_queue_job(tenant_db):
    _db, cards = tenant_db
    assert cards["queue"][0] == "warn", cards["queue"]
    assert "1 failed jobs" in cards["queue"][1]
    assert cards["crons"][0] == "fail"  # 1 h late (fail) and failing 3 times (warn)
    assert "base.autovacuum_job" in cards["crons"][1]


def test_backup_cli_feeds_the_gauges(tenant_db):
    db, _cards = tenant_db
    now = time.time()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 600))
    ended = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60))
    proc = report_backup(
        db,
        "--kind",
        "full",
        "--status",
        "success",
        "--started-at",
        started,
        "--ended-at",
        ended,
        "--size-bytes",
        "3000000000",
        "--location",
        "s3://b/full",
        "--checksum-verified",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert db in json.loads(proc.stdout.strip().splitlines()[-1])["recorded"]
    proc = report_backup(db, "--kind", "incremental", "--status", "failed", "--started-at", ended)
    assert proc.returncode == 0, proc.stderr[-2000:]
    coll = collector({db})
    coll.refresh()
    scraped = samples(coll.families())
    assert (
        abs(value(scraped, "odoo_backup_last_success_timestamp_seconds", tenant=db, kind="full") - (now - 60))
        < 2
    )
    assert value(scraped, "odoo_backup_last_status", tenant=db, kind="full") == 1
    assert value(scraped, "odoo_backup_last_status", tenant=db, kind="incremental") == 0
    assert value(scraped, "odoo_backup_rpo_seconds", tenant=db) == 24 * 3600
    # default level: no size or duration series, only the warnings that hold
    assert value(scraped, "odoo_backup_last_size_bytes", tenant=db, kind="full") is None
    assert value(scraped, "odoo_backup_last_duration_seconds", tenant=db, kind="full") is None
    assert value(scraped, "odoo_backup_warning", tenant=db, reason="stale") is None
    assert value(scraped, "odoo_backup_warning", tenant=db, reason="failed") == 1
    assert value(scraped, "odoo_backup_warning", tenant=db, reason="drill_overdue") == 1
    assert value(scraped, "odoo_restore_test_last_success_timestamp_seconds", tenant=db) is None
    full = full_families(coll)
    assert value(full, "odoo_backup_last_size_bytes", tenant=db, kind="full") == 3e9
    assert value(full, "odoo_backup_last_duration_seconds", tenant=db, kind="full") == 540
    assert value(full, "odoo_backup_warning", tenant=db, reason="stale") == 0
    assert value(full, "odoo_backup_warning", tenant=db, reason="failed") == 1
    assert value(full, "odoo_backup_warning", tenant=db, reason="drill_overdue") == 1
    proc = report_backup(
        db,
        "--kind",
        "restore_drill",
        "--status",
        "success",
        "--started-at",
        started,
        "--ended-at",
        ended,
        "--restore-verified",
    )
    assert proc.returncode == 0
    coll.refresh()
    scraped = samples(coll.families())
    assert value(scraped, "odoo_backup_warning", tenant=db, reason="drill_overdue") is None
    assert value(scraped, "odoo_backup_warning", tenant=db, reason="failed") == 1
    assert value(scraped, "odoo_restore_test_last_success_timestamp_seconds", tenant=db) > 0
    assert value(full_families(coll), "odoo_backup_warning", tenant=db, reason="drill_overdue") == 0


def test_backup_cli_rejects_bad_input(tenant_db):
    db, _cards = tenant_db
    proc = report_backup(db, "--kind", "full", "--status", "success", "--started-at", "last night")
    assert proc.returncode == 2
    assert "started_at" in proc.stderr


def test_down_postgres_keeps_serving_the_cache(tenant_db):
    db, _cards = tenant_db
    coll = collector({db})
    coll.refresh()
    coll.params["port"] = odoo_harness.free_port()
    coll.refreshed_at -= 1000  # stale: the next scrape starts a refresh, which fails
    families, ok, _reason = coll.collect()
    assert value(samples(families), "odoo_tenant_databases") == 1, "last values are still served"
    coll._thread.join(5)
    families, ok, _reason = coll.collect()
    assert not ok, "a failed refresh marks the collector down"


def test_template_and_excluded_databases_are_no_tenants(tenant_db, queue_template):
    """A database PostgreSQL marks as a template, or one the exclude pattern names, is no tenant,
    even with the addon installed; the others still are."""
    db, _cards = tenant_db
    tpl = odoo_harness.clone_db(queue_template, "lotest_plat_qj_tpl")
    staging = odoo_harness.clone_db(queue_template, "lotest_plat_qj_staging")
    try:
        with contextlib.closing(odoo_harness.pg_connect()) as conn, conn.cursor() as cr:
            cr.execute('ALTER DATABASE "%s" IS_TEMPLATE true' % tpl)
        names = {db, tpl, staging}

        def filter_fn(found):
            return tenant.db_filter([n for n in found if n in names], exclude="^lotest_plat_qj_st")

        coll = tenant.TenantCollector(PARAMS, filter_fn, ttl=30)
        assert coll.refresh()
        assert set(coll.data) == {db}
        families, ok, _reason = coll.collect()
        assert ok and value(samples(families), "odoo_tenant_databases") == 1
    finally:
        with contextlib.closing(odoo_harness.pg_connect()) as conn, conn.cursor() as cr:
            cr.execute('ALTER DATABASE "%s" IS_TEMPLATE false' % tpl)
        odoo_harness.drop_db(tpl)
        odoo_harness.drop_db(staging)


def test_a_partial_tenant_list_is_never_presented_as_complete(tenant_db, queue_template):
    """A tenant that cannot be read in time (here: a lock held on it) makes the list partial:
    the collector reports down with reason ``partial`` instead of silently listing fewer tenants."""
    db, _cards = tenant_db
    busy = odoo_harness.clone_db(queue_template, "lotest_plat_qj_busy")
    holder = odoo_harness.pg_connect(busy)
    try:
        holder.autocommit = False
        with holder.cursor() as cr:
            cr.execute("LOCK TABLE ir_module_module IN ACCESS EXCLUSIVE MODE")
        coll = tenant.TenantCollector(
            PARAMS, lambda found: [n for n in found if n in (db, busy)], ttl=30, statement_timeout=1.0
        )
        assert coll.refresh()
        families, ok, reason = coll.collect()
        assert not ok and reason == "partial"
        assert value(samples(families), "odoo_queue_jobs", tenant=db, channel="", state="pending") == 2
        metrics.register_collector("tenants_test", as_collector(coll.collect))
        try:
            scraped = samples(metrics.collect())
        finally:
            metrics.unregister_collector("tenants_test")
        assert value(scraped, "odoo_collector_up", collector="tenants_test") == 0
        assert value(scraped, "odoo_collector_down_reason", collector="tenants_test", reason="partial") == 1
        holder.rollback()
        assert coll.refresh()
        _families, ok, reason = coll.collect()
        assert ok and reason is None
        assert set(coll.data) == {db, busy}
    finally:
        holder.close()
        odoo_harness.drop_db(busy)
