"""Shared pytest fixtures, and the test tiers.

The addons' ``core`` packages are Odoo-free; they are made importable as
``logistics_observability.core`` / ``logistics_slo.core`` without running the
addons' ``__init__`` (which imports Odoo).

Every test module lives in one tier folder (docs/DESIGN.md, "Test tiers"):
``tests/unit/`` (no Odoo, no service), ``tests/services/`` (no Odoo; the local PostgreSQL, Redis or
a daemon), ``tests/odoo/`` (starts Odoo). The folder gives the marker (``odoo``, ``services``), and
only tests under ``tests/odoo/`` may use the harness's helpers that start Odoo.
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
sys.path.insert(0, str(TESTS))

import core_packages  # noqa: E402, F401
import odoo_harness  # noqa: E402

# Servers started by the tests show a new series' value at once: most tests read exact values
# right after recording them. The hold itself (a new series reads 0 first) is tested by the tests
# that set it: tests/unit/test_store_first_event.py, tests/odoo/test_e2e_first_event.py.
os.environ.setdefault("ODOO_OBSERVABILITY_NEW_SERIES_HOLD", "0")


TIERS = ("unit", "services", "odoo")
#: the marker each tier's folder gives its tests
TIER_MARKERS = {"services": "services", "odoo": "odoo"}


def tier_of(path):
    """The tier (``unit``, ``services``, ``odoo``) of a test file under tests/, else None."""
    try:
        parts = Path(path).resolve().relative_to(TESTS).parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 and parts[0] in TIERS else None


def tier_problems(items):
    """Tests that break the tier rules: outside the tier folders, or marked ``odoo`` outside
    tests/odoo/ (a test needing Odoo belongs there)."""
    problems = []
    for item in items:
        tier = tier_of(item.path)
        if tier is None:
            problems.append("%s: test modules live in tests/unit, tests/services or tests/odoo" % item.nodeid)
        elif tier != "odoo" and item.get_closest_marker("odoo"):
            problems.append(
                "%s: marked odoo but under tests/%s (move it to tests/odoo)" % (item.nodeid, tier)
            )
    return problems


@pytest.hookimpl(tryfirst=True)  # before -m selects on the markers
def pytest_collection_modifyitems(config, items):
    problems = tier_problems(items)
    if problems:
        raise pytest.UsageError("test tiers (docs/DESIGN.md):\n" + "\n".join(problems))
    for item in items:
        marker = TIER_MARKERS.get(tier_of(item.path))
        if marker:
            item.add_marker(marker)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # before any fixture of the test (session-scoped templates included): only tests/odoo/ starts Odoo
    odoo_harness.guard_odoo(tier_of(item.path) == "odoo", item.nodeid)


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


@pytest.fixture
def full_detail():
    """The opt-in ``full`` metrics detail level (core/detail.py) for one test."""
    from logistics_observability.core import detail

    detail.configure(detail.FULL)
    yield
    detail.configure(detail.DEFAULT)


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
