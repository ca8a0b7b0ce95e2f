"""Shared pytest fixtures.

The addons' ``core`` packages are Odoo-free; they are made importable as
``logistics_observability.core`` / ``logistics_slo.core`` without running the
addons' ``__init__`` (which imports Odoo).
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import core_packages  # noqa: E402, F401
import odoo_harness  # noqa: E402


def pytest_report_header(config):
    lines = []
    for series in odoo_harness.SERIES:
        found, detail = odoo_harness.odoo_status(series)
        if found:
            lines.append("odoo %s: %s" % (series, detail))
        else:
            lines.append(
                "!!! ODOO %s NOT FOUND (%s): tests that need Odoo %s are SKIPPED, not passed !!!"
                % (series, detail, series)
            )
    return lines


def pytest_generate_tests(metafunc):
    # every test needing Odoo runs once per supported series (ids odoo18, odoo19)
    if "odoo_series" in metafunc.fixturenames:
        metafunc.parametrize(
            "odoo_series",
            list(odoo_harness.SERIES),
            indirect=True,
            scope="session",
            ids=["odoo%s" % s.split(".")[0] for s in odoo_harness.SERIES],
        )


#: Test modules verified on Odoo 19.0. The others' Odoo 19.0 runs are reported as SKIPPED (never
#: passed) until they are ported: drop this list once every module is in it.
PORTED_TO_19 = {
    "test_odoo_suites",
    "test_e2e_reload",
    "test_e2e_prefork_metrics",
    "test_logs_prefork",
    "test_slo_cli",
    "test_collectors_metrics",
    "test_collectors_tenant",
    "test_e2e_auth_rpc",
    "test_access_tenant_isolation",
    "test_changes_modules",
    "test_ingest_fuzz",
    "test_synthetic_compose",
    "test_consistency_metrics",
    "test_ledger_sigkill",
    "test_workflow_server",
    "test_e2e_faults_prefork",
    "test_e2e_restart",
    "test_e2e_exemplars",
    "test_proxy_detection",
    "test_synthetic_e2e",
    "test_slo_e2e",
    "test_e2e_monitoring_stack",
    "test_setup_scripts",
    "test_demo_traffic",
    "test_deploy_wheels",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        series = callspec.params.get("odoo_series") if callspec else None
        if series == "19.0" and item.module.__name__ not in PORTED_TO_19:
            item.add_marker(
                pytest.mark.skip(
                    reason="ODOO 19.0: %s is not ported to 19.0 yet (issue 15)" % item.module.__name__
                )
            )


@pytest.fixture(scope="session")
def odoo_series(request):
    """The Odoo series this test runs on; the harness's helpers run that series' Odoo."""
    series = getattr(request, "param", odoo_harness.DEFAULT_SERIES)
    odoo_harness.use_series(series)
    yield series
    odoo_harness.use_series(odoo_harness.DEFAULT_SERIES)


@pytest.fixture(scope="session")
def odoo_available(odoo_series):
    odoo_harness.use_series(odoo_series)
    found, detail = odoo_harness.odoo_status(odoo_series)
    if not found:
        pytest.skip("ODOO %s NOT FOUND: %s" % (odoo_series, detail))
    return True


@pytest.fixture(scope="session")
def base_template(odoo_available):
    """Template DB: base + web + both addons (demo data)."""
    return odoo_harness.template_db(["base", "web", "logistics_observability", "logistics_slo"])


@pytest.fixture(scope="session")
def logistics_template(odoo_available):
    """Template DB: sale_stock, stock_delivery, account + both addons (demo data)."""
    return odoo_harness.template_db(
        ["sale_stock", "stock_delivery", "account", "logistics_observability", "logistics_slo"]
    )


@pytest.fixture
def make_db(request):
    """Factory: clone a template into a fresh database dropped after the test."""
    created = []

    def _make(template, name=None):
        # the series in the name: runs of one test on 18.0 and 19.0 never share a database
        name = name or "%s%d_%s_%s" % (
            odoo_harness.DB_PREFIX,
            odoo_harness.series_major(),
            request.node.name[:30].lower(),
            len(created),
        )
        name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
        created.append(odoo_harness.clone_db(template, name))
        return name

    yield _make
    for name in created:
        odoo_harness.drop_db(name)


@pytest.fixture(scope="module")
def two_tenants(request, base_template):
    """Two tenant databases cloned from the base template for one test module.

    The module's ``TAG`` names them ``<TAG>_a`` and ``<TAG>_b``."""
    tag = request.module.TAG
    names = [odoo_harness.clone_db(base_template, "%s_%s" % (tag, x)) for x in ("a", "b")]
    yield names
    for name in names:
        odoo_harness.drop_db(name)
