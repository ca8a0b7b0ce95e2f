"""Server-wide start-up: installs the process hooks once per Odoo process.

``post_load`` runs when the module is imported server-wide (``--load``) or by a
database registry. Everything version-specific lives in :mod:`.compat`.
"""

import logging

_logger = logging.getLogger(__name__)


def post_load():
    from . import compat

    try:
        compat.install()
    except Exception:  # fail open: Odoo must start even if observability cannot
        _logger.exception("logistics_observability: could not install its hooks")
