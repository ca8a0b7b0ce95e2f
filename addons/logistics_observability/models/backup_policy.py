from odoo import api, fields, models

from ..core import backup_status
from .sql_constraints import sql_constraints


class LogisticsBackupPolicy(models.Model):
    """Backup targets of this database (the tenant): RPO and restore-drill interval."""

    _name = "logistics.backup.policy"
    _description = "Backup Policy"

    name = fields.Char(required=True, default="Default")
    active = fields.Boolean(default=True)
    rpo_hours = fields.Float(
        string="RPO (hours)",
        required=True,
        default=backup_status.DEFAULT_RPO_HOURS,
        help="A successful backup older than this is a warning.",
    )
    drill_interval_days = fields.Float(
        string="Restore drill interval (days)",
        required=True,
        default=backup_status.DEFAULT_DRILL_DAYS,
        help="A verified restore drill older than this is a warning.",
    )

    sql_constraints(
        locals(),
        [
            ("rpo_positive", "CHECK(rpo_hours > 0)", "The RPO must be positive."),
            ("drill_positive", "CHECK(drill_interval_days > 0)", "The drill interval must be positive."),
        ],
    )

    @api.model
    def _get_targets(self):
        """(rpo_hours, drill_interval_days) of the active policy, or the defaults."""
        policy = self.sudo().search([], limit=1, order="id")
        if not policy:
            return None
        return policy.rpo_hours, policy.drill_interval_days
