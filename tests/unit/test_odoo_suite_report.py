"""The checks every run of the addons' suites goes through (``_report`` and ``_failures`` of
tests/odoo/test_odoo_suites.py), on the lines Odoo's runner prints: a skipped browser tour fails the
run, a failure comes with its traceback. Odoo-free: that module is imported, none of its tests run."""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "odoo_suites_checks", Path(__file__).resolve().parents[1] / "odoo" / "test_odoo_suites.py"
)
suites = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(suites)


def test_a_skipped_browser_tour_fails_the_suite():
    """The check every suite run goes through, on the lines Odoo's runner prints."""

    class Proc:
        returncode = 0
        stdout = (
            "2026-12-02 04:00:00,000 1 INFO db odoo.addons.logistics_observability.tests."
            "test_platform_health_ui: skipped TestUi.test_platform_health_tour : "
            "websocket-client module is not installed\n"
            "2026-12-02 04:00:01,000 1 INFO db odoo.tests.stats: "
            "0 failed, 0 error(s) of 12 tests when loading database 'db'\n"
        )

    proc = Proc()
    with pytest.raises(AssertionError, match="(?s)browser tests did not run.*websocket-client"):
        suites._report("x", proc, suites.RESULT.search(proc.stdout), [])
    proc.stdout = proc.stdout.replace("websocket-client module is not installed", "no workflow ledger table")
    suites._report(
        "x", proc, suites.RESULT.search(proc.stdout), []
    )  # a skip of the suite's own is no browser test


def test_a_failed_test_is_reported_with_its_traceback():
    out = (
        "2026-12-02 04:00:00,000 1 INFO db odoo.modules.loading: loading\n"
        "noise that is no record\n"
        "2026-12-02 04:00:01,000 1 ERROR db odoo.addons.x.tests.t: FAIL: T.test_a\n"
        "Traceback (most recent call last):\n"
        "AssertionError: 'warn' != 'fail'\n"
        "2026-12-02 04:00:02,000 1 INFO db odoo.tests.stats: done\n"
    )
    assert suites._failures(out) == [
        "2026-12-02 04:00:01,000 1 ERROR db odoo.addons.x.tests.t: FAIL: T.test_a",
        "Traceback (most recent call last):",
        "AssertionError: 'warn' != 'fail'",
    ]
