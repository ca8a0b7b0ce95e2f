"""Every Odoo fact the Odoo-free core relies on (core/odoo_facts.py), found in Odoo's source.

Checked in each series' tree (``ODOO18_SRC`` / ``ODOO19_SRC`` or the documented defaults
``/opt/odoo/18.0``, ``/opt/odoo/19.0``); a series whose tree is absent is skipped loudly.
"""

import os
import re
from pathlib import Path

import pytest

from logistics_observability.core import odoo_facts

TREES = {
    "18.0": os.environ.get("ODOO18_SRC") or os.environ.get("ODOO_SRC") or "/opt/odoo/18.0",
    "19.0": os.environ.get("ODOO19_SRC") or "/opt/odoo/19.0",
}


def _tree(series):
    root = Path(TREES[series])
    if not (root / "odoo" / "release.py").exists():
        pytest.skip("Odoo %s source NOT FOUND at %s: its facts are not checked" % (series, root))
    return root


def _source(root, rel):
    if rel.startswith("addons:"):
        rel = rel.split(":", 1)[1]
        candidates = [root / "odoo" / "addons" / rel, root / "addons" / rel]
    else:
        candidates = [root / rel]
    for path in candidates:
        if path.exists():
            return path.read_text()
    raise AssertionError("%s not found in %s" % (rel, root))


@pytest.mark.parametrize("series", sorted(TREES))
@pytest.mark.parametrize("fact, rel, pattern", odoo_facts.CHECKS, ids=[c[0] for c in odoo_facts.CHECKS])
def test_fact_holds_in_odoo_source(series, fact, rel, pattern):
    root = _tree(series)
    assert hasattr(odoo_facts, fact)
    assert re.search(pattern, _source(root, rel)), "Odoo %s: %s (%s) no longer matches %s" % (
        series,
        fact,
        getattr(odoo_facts, fact),
        rel,
    )


def test_every_fact_is_checked():
    facts = {n for n in dir(odoo_facts) if n.isupper() and not n.startswith("_") and n != "CHECKS"}
    checked = {c[0] for c in odoo_facts.CHECKS}
    assert facts - checked == {"QUEUE_JOB_TABLE"}  # OCA's, not in Odoo's source


def test_perf_info_pattern_reads_what_odoo_writes():
    m = odoo_facts.PERF_INFO_RE.match("12 0.004 0.038 -")
    assert m and m.groups() == ("12", "0.004", "0.038")


def test_a_fact_that_drifted_fails(tmp_path):
    fake = tmp_path / "odoo" / "addons" / "base" / "models"
    fake.mkdir(parents=True)
    (fake / "ir_cron.py").write_text(
        'class IrCron:\n    _name = "ir.cron"\n\n    failures = fields.Integer(\n'
    )
    fact = next(c for c in odoo_facts.CHECKS if c[0] == "CRON_FAILURE_COUNT")
    assert not re.search(fact[2], _source(tmp_path, fact[1]))


def test_a_renamed_cursor_counter_fails(tmp_path):
    (tmp_path / "odoo").mkdir()
    (tmp_path / "odoo" / "sql_db.py").write_text(
        "class Cursor:\n    def execute(self):\n        self.sql_count += 1\n"
    )
    fact = next(c for c in odoo_facts.CHECKS if c[0] == "CURSOR_SQL_LOG_COUNT")
    assert not re.search(fact[2], _source(tmp_path, fact[1]))
