"""The modules this registry load installed or upgraded (Odoo 18.0 and 19.0).

``odoo-bin -i/-u`` marks modules with ``button_install`` / ``button_upgrade`` while only
``base`` is loaded (before the suite's ``ir.module.module`` extension exists), and the
``-i``/``-u`` options are cleared before ``_register_hook`` runs; ``registry.updated_modules``
(the modules loaded with an update) is what remains.
"""

from odoo import SUPERUSER_ID

from ..core import changes


def requested_operations(registry, snapshot):
    """``{module: (operation, uid)}`` for the modules this load updated: an upgrade when it was
    installed before (``snapshot``), else an install; by the system (a shell or the loader)."""
    out = {}
    reported = getattr(registry, "_lo_reported_updates", set())
    for name in getattr(registry, "updated_modules", None) or ():
        if name not in reported:  # once per registry: a later comparison must not repeat them
            out[name] = (changes.UPGRADE if name in snapshot else changes.INSTALL, SUPERUSER_ID)
    registry._lo_reported_updates = reported | set(out)
    return out
