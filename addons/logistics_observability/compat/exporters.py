"""Addons that add scrape-time collectors, loaded in every process (no database needed).

The dedicated metrics listener runs in the master, which never loads a database
registry, so an addon whose collectors it must serve declares itself in its
manifest (``"observability_collectors": True``, depending on this addon) and its
Python code is imported here whenever it is on the addons path. No addon is named
in this addon's code.
"""

import logging

_logger = logging.getLogger(__name__)

MANIFEST_KEY = "observability_collectors"
BASE = "logistics_observability"


def exporter_addons():
    from odoo.modules import module as odoo_module

    found = []
    for name in odoo_module.get_modules():
        manifest = odoo_module.get_manifest(name) or {}
        if manifest.get(MANIFEST_KEY) and BASE in (manifest.get("depends") or ()):
            found.append(name)
    return sorted(found)


def install():
    from odoo.modules import module as odoo_module

    for name in exporter_addons():
        try:
            odoo_module.load_openerp_module(name)
        except Exception:  # fail open: the addon's own metrics are missing, nothing else
            _logger.exception("logistics_observability: could not load the collectors of %s", name)
