"""Backup targets have one source of truth: ``core/backup_status.py``'s defaults.

Odoo applies them to a tenant without a backup policy; the Prometheus rules fall back to the
same values where a tenant exports none, and the docs say so.
"""

import re
from pathlib import Path

import yaml

from logistics_observability.core import backup_status

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules" / "platform.rules.yml"


def _rules(path=RULES):
    doc = yaml.safe_load(path.read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def _record(name, path=RULES):
    return next(r for r in _rules(path) if r.get("record") == name)["expr"]


def _number(pattern, text):
    found = re.findall(pattern, text)
    assert found, "%r not found in %r" % (pattern, text)
    return {float(n) for n in found}


def test_rule_fallbacks_are_the_odoo_defaults():
    rpo = _record("tenant:odoo_backup_rpo_seconds:max")
    assert _number(r"\+\s*([\d.]+)\s*\*\s*3600\b", rpo) == {backup_status.DEFAULT_RPO_HOURS}
    drill = _record("tenant:odoo_restore_test_interval_seconds:max")
    assert _number(r"\+\s*([\d.]+)\s*\*\s*86400\b", drill) == {backup_status.DEFAULT_DRILL_DAYS}


def test_alert_texts_and_docs_name_the_defaults():
    stale = next(r for r in _rules() if r.get("alert") == "OdooBackupStale")
    assert _number(r"\(([\d.]+) h when none is set\)", stale["annotations"]["description"]) == {
        backup_status.DEFAULT_RPO_HOURS
    }
    deployment = (ROOT / "docs" / "DEPLOYMENT.md").read_text()
    assert _number(r"odoo_backup_rpo_seconds`, ([\d.]+) h when unset", deployment) == {
        backup_status.DEFAULT_RPO_HOURS
    }
    configure = (ROOT / "addons" / "logistics_observability" / "readme" / "CONFIGURE.md").read_text()
    assert _number(r"RPO \(hours, default ([\d.]+)\)", configure) == {backup_status.DEFAULT_RPO_HOURS}
    assert _number(r"interval \(days, default ([\d.]+)\)", configure) == {backup_status.DEFAULT_DRILL_DAYS}


def test_the_check_bites_on_a_drifted_rule(tmp_path):
    drifted = tmp_path / "platform.rules.yml"
    drifted.write_text(RULES.read_text().replace("+ 24 * 3600", "+ 26 * 3600"))
    rpo = _record("tenant:odoo_backup_rpo_seconds:max", drifted)
    assert _number(r"\+\s*([\d.]+)\s*\*\s*3600\b", rpo) == {26.0}
