"""Module operations as operators make them: ``odoo-bin -i`` / ``-u`` from a shell, an uninstall
from the Apps menu's method by an administrator. Each is one change row (who, from/to version),
one log event, and the latest change (with counts in ``odoo_module_operations_total`` at the full
detail level) read by the tenant collector."""

import contextlib

import odoo_harness
import pytest
from collector_helpers import samples, value

from logistics_observability.core import detail, metrics
from logistics_observability.core.collectors import pgconn, tenant, tenant_families

pytestmark = [pytest.mark.odoo, pytest.mark.timeout(1200)]
PARAMS = pgconn.conn_params(
    host=odoo_harness.PG["host"], port=odoo_harness.PG["port"], user=odoo_harness.PG["user"]
)
MODULE = "base_sparse_field"  # small, depends on base only

UNINSTALL = (
    """
admin = env.ref("base.user_admin")
env["ir.module.module"].with_user(admin).search([("name", "=", %r)]).button_immediate_uninstall()
"""
    % MODULE
)


@pytest.fixture(scope="module", autouse=True)
def metrics_dir(tmp_path_factory):
    metrics.configure(directory=str(tmp_path_factory.mktemp("metrics")))


@pytest.fixture(scope="module")
def db(odoo_available):
    template = odoo_harness.template_db(["base", "web", "logistics_observability"])
    name = odoo_harness.clone_db(template, "lotest_changes_modules")
    yield name
    odoo_harness.drop_db(name)


def changes(db):
    with contextlib.closing(odoo_harness.pg_connect(db)) as conn, conn.cursor() as cr:
        cr.execute("""SELECT e.operation, e.target, e.before_value, e.after_value, u.login
                        FROM logistics_audit_event e LEFT JOIN res_users u ON u.id = e.actor_id
                       WHERE e.kind = 'module' ORDER BY e.id""")
        return cr.fetchall()


def test_install_upgrade_uninstall_are_recorded(db):
    with contextlib.closing(odoo_harness.pg_connect(db)) as conn, conn.cursor() as cr:
        cr.execute("SELECT count(*) FROM logistics_module_snapshot")
        assert cr.fetchone()[0] > 3, "installing the suite took the baseline"
    assert changes(db) == [], "the baseline is no change"

    proc = odoo_harness.run_odoo(
        ["-d", db, "-i", MODULE, "--stop-after-init", "--max-cron-threads=0", "--log-level=info"]
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "change module install %s by=__system__" % MODULE in proc.stdout
    version = changes(db)[0][3]
    assert changes(db) == [("install", MODULE, None, version, "__system__")]
    assert version.startswith("%s." % odoo_harness.current_series())

    proc = odoo_harness.run_odoo(
        ["-d", db, "-u", MODULE, "--stop-after-init", "--max-cron-threads=0", "--log-level=info"]
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "change module upgrade %s by=__system__ from=%s to=%s" % (MODULE, version, version) in proc.stdout
    assert changes(db)[1:] == [("upgrade", MODULE, version, version, "__system__")]

    proc = odoo_harness.run_shell(db, UNINSTALL)
    assert "Traceback" not in proc.stdout, proc.stdout[-3000:]
    assert changes(db)[2:] == [("uninstall", MODULE, version, None, "admin")]

    coll = tenant.TenantCollector(PARAMS, lambda names: [n for n in names if n == db], ttl=30)
    assert coll.refresh()
    families, ok, reason = coll.collect()
    scraped = samples(families)
    assert ok, reason
    # default level: the latest change only; the counts per operation at the full level
    assert not [k for k in scraped if k[0] == "odoo_module_operations_total"]
    detail.configure(detail.FULL)
    try:
        full = samples(tenant_families.build(coll.data))  # the collector keeps its last families
    finally:
        detail.configure(detail.DEFAULT)
    for operation in ("install", "upgrade", "uninstall"):
        assert value(full, "odoo_module_operations_total", tenant=db, operation=operation) == 1
    when = value(
        scraped,
        "odoo_last_change_timestamp_seconds",
        tenant=db,
        kind="module",
        operation="uninstall",
        target=MODULE,
    )
    assert when and when > 1.7e9

    # a registry load without a change records nothing
    proc = odoo_harness.run_odoo(["-d", db, "--stop-after-init", "--max-cron-threads=0", "--log-level=warn"])
    assert proc.returncode == 0
    assert len(changes(db)) == 3
