"""Two test runs on one PostgreSQL (CI while a developer tests, two checkouts): a run that rebuilds
a template for other sources of ours must not drop the template the other run is cloning from."""

import contextlib
import subprocess
import sys
from pathlib import Path

import odoo_harness

TESTS = str(Path(__file__).resolve().parents[1])  # where odoo_harness.py lives

NAMES = ["lotest_tpl99_harness_%s" % x for x in ("used", "stale")]


def test_a_template_in_use_by_another_run_is_not_dropped():
    for name in NAMES:
        odoo_harness.drop_db(name)
        with contextlib.closing(odoo_harness.pg_connect()) as conn, conn.cursor() as cr:
            cr.execute('CREATE DATABASE "%s"' % name)
    # the other run: a process that takes its template and keeps running
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, %r); import odoo_harness;"
            "odoo_harness._use_template(%r); print('using', flush=True); sys.stdin.read()"
            % (TESTS, NAMES[0]),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout.readline().strip() == "using"
        assert odoo_harness.drop_unused_templates(NAMES) == [NAMES[1]]
        assert odoo_harness.db_exists(NAMES[0]) and not odoo_harness.db_exists(NAMES[1])
    finally:
        other.communicate("", timeout=30)
    # once that run has ended, its template is stale like any other
    assert odoo_harness.drop_unused_templates(NAMES[:1]) == NAMES[:1]
    assert not odoo_harness.db_exists(NAMES[0])
