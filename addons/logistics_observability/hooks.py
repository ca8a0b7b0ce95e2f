"""Server-wide start-up: installs the process hooks once per Odoo process.

``post_load`` runs when the module is imported server-wide (``--load``) or by a
database registry. Everything version-specific lives in :mod:`.compat`.
"""
import logging

_logger = logging.getLogger(__name__)

# Addons that add scrape-time collectors. The dedicated metrics listener runs in the
# master process, which never loads a database registry, so their Python code is
# loaded here whenever they are on the addons path (no database needed).
EXPORTER_ADDONS = ("logistics_slo",)


def _load_exporter_addons():
    from odoo.modules import module as odoo_module

    for name in EXPORTER_ADDONS:
        try:
            if odoo_module.get_module_path(name, display_warning=False):
                odoo_module.load_openerp_module(name)
        except Exception:  # fail open: the addon's own metrics are missing, nothing else
            _logger.exception("logistics_observability: could not load the collectors of %s", name)


def post_load():
    from . import compat

    try:
        compat.install()
    except Exception:  # fail open: Odoo must start even if observability cannot
        _logger.exception("logistics_observability: could not install its hooks")
    _load_exporter_addons()
