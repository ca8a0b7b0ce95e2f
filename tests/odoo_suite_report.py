"""How a run of the addons' ``odoo.tests`` suites (tests/odoo/test_odoo_suites.py) is judged from the
lines Odoo's test runner prints: Odoo-free, tested by tests/unit/test_odoo_suite_report.py."""

import re

RESULT = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
# Odoo's runner logs each skip ("skipped <test> : <reason>") and counts it as neither failed nor
# run: a browser tour skipped for a missing Chrome or websocket-client would pass silently.
SKIPPED = re.compile(r" skipped (\S+.*?) : (.*)$", re.M)
BROWSER = re.compile(r"(?i)chrom|browser|websocket")
LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ ")


def failures(output):
    """ERROR/CRITICAL records with their continuation lines: the traceback says why a test failed."""
    lines, keep = [], False
    for line in output.splitlines():
        if LOG_RECORD.match(line):
            keep = " ERROR " in line or " CRITICAL " in line
        if keep:
            lines.append(line)
    return lines


def report(name, proc, match, failed_lines):
    """Fails (assert) unless the run printed its report, ran tests, skipped no browser test and
    nothing failed; ``failed_lines``: ``failures()`` of its output."""
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
        "\n".join(failed_lines[-200:]),
    )
