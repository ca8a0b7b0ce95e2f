"""``odoo-bin --addons-path=... slo_rules -c CONF [-d DB ...] -o rules.yml [--tests tests.yml]``.

Reads the SLO definitions of every database with logistics_slo installed (or
the ``-d`` ones) with plain SQL, so it stays fast with hundreds of tenants and
needs no registry, then writes the Prometheus rules (and optionally the
promtool tests, the OpenSLO export and the Alertmanager inhibition snippet).
Exit status 2 when a definition is refused or a database cannot be read.
"""

import argparse
import contextlib
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import odoo
from odoo.addons.logistics_observability.cli import register_aliases
from odoo.addons.logistics_observability.core import tables  # pylint: disable=odoo-addons-relative-import

# Absolute imports: Odoo 19.0 loads cli/<command>.py as odoo.cli.<command>, outside this package.
from odoo.addons.logistics_slo.core import (  # pylint: disable=odoo-addons-relative-import
    openslo,
    promtool_tests,
    slo_math,
)
from odoo.addons.logistics_slo.core import rules as core_rules  # pylint: disable=odoo-addons-relative-import
from odoo.cli import Command

_logger = logging.getLogger(__name__)

DEFINITIONS_SQL = """
SELECT s.name, s.workflow, s.sli_type, s.threshold, s.objective, s.window_days, s.min_events,
       s.runbook_url, s.first_action, u.login
  FROM logistics_slo s LEFT JOIN res_users u ON u.id = s.owner_id
 WHERE s.active ORDER BY s.id
"""


def _databases(requested):
    if requested:
        return requested
    return odoo.service.db.list_dbs(force=True)


def _read_definitions(dbname):
    """[definition] of one database, [] when logistics_slo is not installed there."""
    with contextlib.closing(odoo.sql_db.db_connect(dbname).cursor()) as cr:
        cr.execute("SET LOCAL statement_timeout = 10000")
        slo_table, modules = tables.tables_exist(cr, "logistics_slo", "ir_module_module")
        if not slo_table or not modules:
            return []
        cr.execute("SELECT state FROM ir_module_module WHERE name = 'logistics_slo'")
        row = cr.fetchone()
        if not row or row[0] not in ("installed", "to upgrade"):
            return []
        cr.execute(DEFINITIONS_SQL)
        out = []
        for name, wf, sli, threshold, objective, window, min_events, runbook, first, owner in cr.fetchall():
            out.append(
                {
                    "tenant": dbname,
                    "name": name,
                    "workflow": wf,
                    "sli_type": sli,
                    "threshold": threshold if sli != "success_ratio" else None,
                    "objective": objective,
                    "window_days": window,
                    "min_events": min_events,
                    "runbook_url": runbook or "",
                    "first_action": first or "",
                    "owner": owner or "",
                }
            )
        return out


def _write(path, text):
    if path == "-":
        sys.stdout.write(text)
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(path).with_name("." + Path(path).name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class SloRules(Command):
    """Generate Prometheus SLO rules (and promtool tests) from the SLO definitions"""

    name = "slo_rules"

    def run(self, args):
        parser = argparse.ArgumentParser(
            prog="%s slo_rules" % Path(sys.argv[0]).name, description=self.__doc__
        )
        parser.add_argument(
            "-d",
            "--database",
            action="append",
            default=[],
            help="database to read (repeatable; default: every database with logistics_slo)",
        )
        parser.add_argument("-o", "--output", default="-", help="rule file to write ('-' = stdout)")
        parser.add_argument("--tests", help="also write a promtool test file for the rules")
        parser.add_argument("--openslo", help="also write the definitions as OpenSLO v1 documents")
        parser.add_argument("--alertmanager", help="also write the Alertmanager inhibition snippet")
        parser.add_argument(
            "--verify",
            action="store_true",
            help="run promtool check rules (and test rules with --tests) on the output",
        )
        opts, odoo_args = parser.parse_known_args(args)
        odoo.tools.config.parse_config(odoo_args, setup_logging=True)

        definitions, errors = [], []
        for dbname in _databases(opts.database):
            try:
                defs = _read_definitions(dbname)
            except Exception as exc:
                errors.append("%s: cannot read the SLO definitions: %s" % (dbname, exc))
                continue
            for defn in defs:
                try:
                    slo_math.normalize(defn)
                except slo_math.SloDefinitionError as exc:
                    errors.append("%s: SLO %r refused: %s" % (dbname, defn["name"], exc))
                    continue
                definitions.append(defn)
        for error in errors:
            sys.stderr.write("slo_rules: %s\n" % error)
        if not definitions:
            sys.stderr.write("slo_rules: no SLO definitions found\n")
        _write(opts.output, core_rules.render_rules(definitions))
        if opts.tests:
            rule_ref = (
                "rules.yml"
                if opts.output == "-"
                else os.path.relpath(
                    os.path.abspath(opts.output), os.path.dirname(os.path.abspath(opts.tests))
                )
            )
            _write(opts.tests, promtool_tests.render_tests(definitions, rule_ref))
        if opts.openslo:
            _write(opts.openslo, openslo.render([(d["tenant"], d) for d in definitions]))
        if opts.alertmanager:
            _write(opts.alertmanager, core_rules.render_alertmanager_inhibition())
        merged, _errors = core_rules.merge_definitions(definitions)
        sys.stderr.write("slo_rules: %d definitions, %d distinct SLOs\n" % (len(definitions), len(merged)))
        status = 2 if errors else 0
        if opts.verify and opts.output != "-":
            status = max(status, self._verify(opts))
        sys.exit(status)

    @staticmethod
    def _verify(opts):
        promtool = shutil.which("promtool")
        if not promtool:
            sys.stderr.write("slo_rules: --verify needs promtool on PATH\n")
            return 2
        commands = [[promtool, "check", "rules", opts.output]]
        if opts.tests:
            commands.append([promtool, "test", "rules", opts.tests])
        for cmd in commands:
            proc = subprocess.run(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900, check=False
            )
            sys.stderr.write(proc.stdout)
            if proc.returncode:
                return 1
        return 0


# the other spellings the running series accepts (18.0: ``slo-rules``), as compat knows them
register_aliases(SloRules)
