"""Synthetic checks of this tenant's customer-facing journeys (portal, tracking, partner endpoints).

Outside-in checks become blackbox exporter targets (``odoo-bin synthetic_targets``); inside-out
checks run here on a schedule as workflow ``synthetic_<name>`` (metrics, ledger, log event).
"""

import logging

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .. import observe
from ..core import synthetic
from ..core import workflow as core_workflow
from .sql_constraints import sql_constraints

_logger = logging.getLogger(__name__)

#: Defaults created on install, relative to the tenant's web.base.url.
DEFAULTS = (
    ("portal_login", "/web/login", 200, "", "outside_in"),
    ("portal_orders", "/my/orders", 303, "", "outside_in"),
    ("health_ready", "/health/ready", 200, "", "outside_in"),
)
MAX_PER_RUN = 50


class LogisticsSyntheticCheck(models.Model):
    _name = "logistics.synthetic.check"
    _description = "Synthetic check"
    _order = "name"

    name = fields.Char(required=True, help="Lowercase slug: the `check` label and workflow synthetic_<name>")
    description = fields.Char()
    url = fields.Char(string="URL", required=True)
    method = fields.Selection([(m, m) for m in synthetic.METHODS], default="GET", required=True)
    expected_status = fields.Integer(default=200, required=True)
    expected_text = fields.Char(help="Optional text the answer's body must contain")
    timeout = fields.Float(default=10.0, required=True, help="Seconds")
    interval = fields.Integer(default=60, required=True, help="Seconds between two runs")
    mode = fields.Selection(
        [("outside_in", "Outside-in (blackbox exporter)"), ("inside_out", "Inside-out (scheduled in Odoo)")],
        default="outside_in",
        required=True,
    )
    active = fields.Boolean(default=True)
    state = fields.Selection(
        [("unknown", "Not run yet"), ("pass", "Passing"), ("fail", "Failing")],
        default="unknown",
        readonly=True,
    )
    last_reason = fields.Char(readonly=True)
    last_run = fields.Datetime(readonly=True)
    failing_since = fields.Datetime(readonly=True)
    first_action = fields.Char(help="What to do first when this check fails")

    sql_constraints(
        locals(),
        [
            ("name_unique", "unique(name)", "A synthetic check with this name already exists."),
        ],
    )

    def _as_dict(self):
        return {
            "name": self.name,
            "url": self.url,
            "method": self.method,
            "expected_status": self.expected_status,
            "expected_text": self.expected_text or None,
            "timeout": self.timeout,
            "interval": self.interval,
            "mode": self.mode,
        }

    @api.constrains(
        "name", "url", "method", "expected_status", "expected_text", "timeout", "interval", "mode"
    )
    def _check_definition(self):
        for check in self:
            try:
                synthetic.validate(check._as_dict())
            except synthetic.CheckError as exc:
                field = check._fields.get(exc.field)
                raise ValidationError(
                    self.env._(
                        "%(field)s: %(message)s",
                        field=field.string if field else exc.field,
                        message=exc.message,
                    )
                ) from None

    @api.model
    def _create_defaults(self):
        base = (self.env["ir.config_parameter"].sudo().get_param("web.base.url") or "").rstrip("/")
        if not base.startswith(("http://", "https://")):
            return
        portal = (
            self.env["ir.module.module"]
            .sudo()
            .search_count([("name", "=", "portal"), ("state", "=", "installed")])
        )
        for name, path, status, text, mode in DEFAULTS:
            if path.startswith("/my/") and not portal:
                continue  # the customer portal is not installed here
            if not self.with_context(active_test=False).search_count([("name", "=", name)]):
                self.create(
                    {
                        "name": name,
                        "url": base + path,
                        "expected_status": status,
                        "expected_text": text or False,
                        "mode": mode,
                    }
                )

    @api.model
    def _run_due(self):
        """Cron: run the due inside-out checks as workflow runs."""
        now = fields.Datetime.now()
        checks = self.search(
            [("mode", "=", "inside_out")], limit=MAX_PER_RUN, order="last_run asc nulls first"
        )
        for check in checks:
            if check.last_run and (now - check.last_run).total_seconds() < check.interval:
                continue
            check._run_once()

    def _run_once(self):
        self.ensure_one()
        definition = self._as_dict()
        workflow = core_workflow.register(synthetic.workflow_name(self.name))
        with observe.run(self.env, workflow, reference=self.url) as run:
            ok, reason, _seconds = synthetic.probe(definition)
            if not ok:
                run.fail(reason)
        now = fields.Datetime.now()
        values = {"state": "pass" if ok else "fail", "last_reason": reason or False, "last_run": now}
        if ok:
            values["failing_since"] = False
        elif self.state != "fail" or not self.failing_since:
            values["failing_since"] = now
        self.write(values)
        return ok
