"""What changed: module operations (who asked), system parameters, the suite's settings and
scheduled actions, as ``logistics.audit.event`` change rows. Thin: the rules are in core/changes.

Changes made while a registry loads (module data) are not audited one by one: the module
operation that loaded them is.
"""

import logging

from odoo import api, models

from ..core import changes

_logger = logging.getLogger(__name__)

INTENT_UPSERT = """
INSERT INTO logistics_module_intent (name, operation, uid, at)
VALUES (%s, %s, %s, now() AT TIME ZONE 'UTC')
ON CONFLICT (name) DO UPDATE SET operation = EXCLUDED.operation, uid = EXCLUDED.uid, at = EXCLUDED.at
"""


def _audit(env):
    return env["logistics.audit.event"].sudo()


def _live(env):
    """Audit only once the registry is ready (not while modules load their data)."""
    return env.registry.ready and "logistics.audit.event" in env


class IrModuleModule(models.Model):
    _inherit = "ir.module.module"

    def _lo_intent(self, operation):
        try:
            with self.env.cr.savepoint():
                for module in self:
                    self.env.cr.execute(INTENT_UPSERT, (module.name, operation, self.env.uid))
        except Exception as exc:
            _logger.debug("recording a module intent failed: %s", exc)

    def button_install(self):
        self._lo_intent(changes.INSTALL)
        return super().button_install()

    def button_upgrade(self):
        self._lo_intent(changes.UPGRADE)
        return super().button_upgrade()

    def button_uninstall(self):
        self._lo_intent(changes.UNINSTALL)
        return super().button_uninstall()


class IrConfigParameter(models.Model):
    _inherit = "ir.config_parameter"

    def _lo_record(self, operation, key, before, after):
        try:
            if before == after:
                return
            _audit(self.env)._lo_change(
                changes.parameter_kind(key),
                operation,
                key,
                changes.shown(key, before),
                changes.shown(key, after),
            )
        except Exception:
            _logger.debug("auditing a parameter change failed", exc_info=True)

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        if _live(self.env):
            for record in records.sudo():
                self._lo_record("create", record.key, None, record.value)
        return records

    def write(self, vals):
        if not _live(self.env) or not ({"key", "value"} & set(vals)):
            return super().write(vals)
        before = {r.id: (r.key, r.value) for r in self.sudo()}
        result = super().write(vals)
        for record in self.sudo():
            key, value = before.get(record.id, (record.key, None))
            if key != record.key:
                self._lo_record("delete", key, value, None)
                self._lo_record("create", record.key, None, record.value)
            else:
                self._lo_record("update", key, value, record.value)
        return result

    def unlink(self):
        gone = [(r.key, r.value) for r in self.sudo()] if _live(self.env) else []
        result = super().unlink()
        for key, value in gone:
            self._lo_record("delete", key, value, None)
        return result


# compat/cron.py extends ir.cron for its runs (the version layer); this extension audits
# definition changes through the public API, version-free
class IrCron(models.Model):
    _inherit = "ir.cron"  # pylint: disable=consider-merging-classes-inherited

    _lo_watched = ("active", "interval_number", "interval_type")

    def write(self, vals):
        if not _live(self.env) or not (set(self._lo_watched) & set(vals)):
            return super().write(vals)
        before = {c.id: (c.active, c.interval_number, c.interval_type) for c in self.sudo()}
        result = super().write(vals)
        try:
            for cron in self.sudo():
                was = before.get(cron.id)
                now = (cron.active, cron.interval_number, cron.interval_type)
                if was is None or was == now:
                    continue
                if was[0] != now[0]:
                    operation = "activate" if now[0] else "deactivate"
                else:
                    operation = "reschedule"
                _audit(self.env)._lo_change(
                    "cron",
                    operation,
                    cron.cron_name or cron.name,
                    "%s, every %s %s" % ("active" if was[0] else "inactive", was[1], was[2]),
                    "%s, every %s %s" % ("active" if now[0] else "inactive", now[1], now[2]),
                )
        except Exception:
            _logger.debug("auditing a scheduled action change failed", exc_info=True)
        return result
