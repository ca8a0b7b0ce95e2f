"""Helpers for workflow tests: read this process' metrics and the tenant's ledger."""

import contextlib

from odoo import sql_db

from ..core import metrics
from ..core import workflow as core_workflow
from ..core.ledger import TABLE as LEDGER


def metric_value(name, **labels):
    """Counter/gauge value, or a histogram's observation count, of one series (0 when absent)."""
    for fam in metrics.collect(run_collectors=False):
        if fam.name != name:
            continue
        for labelvalues, value in fam.samples:
            if dict(zip(fam.labelnames, labelvalues, strict=False)) == labels:
                return sum(value[:-1]) if isinstance(value, list) else value
    return 0.0


def ledger_count(dbname, workflow, outcome):
    """Runs in the ledger table after a flush, read on a connection of its own (committed data only)."""
    core_workflow.LEDGER.flush()
    with contextlib.closing(sql_db.db_connect(dbname).cursor()) as cr:
        cr.execute(
            f"SELECT COALESCE(SUM(count), 0) FROM {LEDGER} WHERE workflow = %s AND outcome = %s",
            (workflow, outcome),
        )
        return int(cr.fetchone()[0])


class RunCounter:
    """Snapshot of runs of a workflow; ``delta(outcome)`` since the snapshot (metrics and ledger)."""

    def __init__(self, env, workflow):
        self.dbname = env.cr.dbname
        self.workflow = workflow
        self.before = {o: self._metric(o) for o in core_workflow.OUTCOMES}
        self.ledger_before = {o: ledger_count(self.dbname, workflow, o) for o in core_workflow.OUTCOMES}

    def _metric(self, outcome):
        return metric_value(
            "odoo_workflow_runs_total",
            tenant=metrics.tenant_label(self.dbname),
            workflow=self.workflow,
            outcome=outcome,
        )

    def delta(self, outcome):
        return self._metric(outcome) - self.before[outcome]

    def ledger_delta(self, outcome):
        return ledger_count(self.dbname, self.workflow, outcome) - self.ledger_before[outcome]
