"""Run the addons' own ``odoo.tests`` suites with Odoo's test runner in real databases.

Two databases, as operators run them:
- a bare one (``base``/``web`` only): the suite must install without sale/stock/account;
- a logistics one (``sale_stock``, ``stock_delivery``, ``account``): the glue addons auto-install
  and the workflow tests run.
Each run installs our addons with ``--test-enable`` and fails on any failed/errored Odoo test.
Install and uninstall are checked on both. How a run's output is judged (``_report``, ``_failures``,
Odoo-free) is tested in tests/unit/test_odoo_suite_report.py.
"""

import re

import odoo_harness
import pytest

pytestmark = [pytest.mark.odoo, pytest.mark.timeout(1800)]

RESULT = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
# Odoo's runner logs each skip ("skipped <test> : <reason>") and counts it as neither failed nor
# run: a browser tour skipped for a missing Chrome or websocket-client would pass silently.
SKIPPED = re.compile(r" skipped (\S+.*?) : (.*)$", re.M)
BROWSER = re.compile(r"(?i)chrom|browser|websocket")
LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ ")


DEMO_CARRIER = "logistics_observability_delivery_demo"


def _test_tags():
    return ",".join("/" + name for name in odoo_harness.our_addons())


def _run_suite(db, log_dir, modules="logistics_observability,logistics_slo"):
    proc = odoo_harness.run_odoo(
        [
            "-d",
            db,
            "-i",
            modules,
            "--test-enable",
            "--test-tags",
            _test_tags(),
            "--stop-after-init",
            "--max-cron-threads=0",
            "--log-level=test",
            # tours need the HTTP server: a free port, so concurrent runs on one machine never collide
            "--http-port",
            str(odoo_harness.free_port()),
        ],
        timeout=1500,
        log_path=log_dir / ("%s.log" % db),
    )
    matches = list(RESULT.finditer(proc.stdout))
    match = matches[-1] if matches else None
    return proc, match, _failures(proc.stdout)


def _failures(output):
    """ERROR/CRITICAL records with their continuation lines: the traceback says why a test failed."""
    failures, keep = [], False
    for line in output.splitlines():
        if LOG_RECORD.match(line):
            keep = " ERROR " in line or " CRITICAL " in line
        if keep:
            failures.append(line)
    return failures


def _report(name, proc, match, failures):
    assert match, "Odoo printed no test report for %s (rc=%s):\n%s" % (
        name,
        proc.returncode,
        proc.stdout[-4000:],
    )
    failed, errors, ran = (int(g) for g in match.groups())
    skipped = SKIPPED.findall(proc.stdout)
    print(
        "\nodoo tests [%s]: %d run, %d failed, %d error(s), %d skipped"
        % (name, ran, failed, errors, len(skipped))
    )
    assert ran > 0, "no Odoo test ran in %s" % name
    browser = ["%s: %s" % s for s in skipped if BROWSER.search(s[1])]
    assert not browser, "browser tests did not run in %s (scripts/bootstrap.sh installs Chromium):\n%s" % (
        name,
        "\n".join(browser),
    )
    assert (failed, errors) == (0, 0) and proc.returncode == 0, "Odoo tests failed in %s:\n%s" % (
        name,
        "\n".join(failures[-200:]),
    )


def _uninstall(db):
    code = (
        "mods = env['ir.module.module'].search([('name', 'in', %r), ('state', '=', 'installed')])\n"
        "mods.button_immediate_uninstall()\n"
        "env.cr.commit()\n"
        "left = env['ir.module.module'].search_count(\n"
        "    [('name', 'like', 'logistics_%%'), ('state', '!=', 'uninstalled')])\n"
        "print('LEFT_INSTALLED=%%d' %% left)\n" % (["logistics_observability"],)
    )
    proc = odoo_harness.run_shell(db, code)
    assert "LEFT_INSTALLED=0" in proc.stdout, proc.stdout[-4000:]
    assert "Traceback" not in proc.stdout, proc.stdout[-4000:]


def test_suite_on_bare_database(odoo_available, make_db, tmp_path):
    """base + web only: installs, tests pass, uninstalls cleanly."""
    db = make_db(odoo_harness.template_db(["base", "web"], with_addons=False))
    proc, match, failures = _run_suite(db, tmp_path)
    _report("bare", proc, match, failures)
    _uninstall(db)


def test_suite_on_logistics_database(odoo_available, make_db, tmp_path):
    """sale_stock + stock_delivery + account: glue addons auto-install, workflow tests run."""
    db = make_db(odoo_harness.template_db(["sale_stock", "stock_delivery", "account"], with_addons=False))
    # the demo carrier is never auto-installed: its carrier tests need it explicitly
    proc, match, failures = _run_suite(db, tmp_path, "logistics_observability,logistics_slo," + DEMO_CARRIER)
    _report("logistics", proc, match, failures)
    installed = odoo_harness.installed_modules(db)
    for glue in (
        "logistics_observability_sale",
        "logistics_observability_stock",
        "logistics_observability_account",
        "logistics_observability_delivery",
    ):
        if glue in odoo_harness.our_addons():
            assert glue in installed, "%s did not auto-install" % glue
    _uninstall(db)
