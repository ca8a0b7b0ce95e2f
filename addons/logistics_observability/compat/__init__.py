"""Everything that depends on the Odoo version lives in this package.

Each ``odooNN_*`` module patches one concern (server processes, HTTP, cron,
logging, ...). ``install()`` picks the modules for the running Odoo version
and installs each one at most once per process; one failing hook never stops
the others (observability fails open).
"""
import importlib
import logging

_logger = logging.getLogger(__name__)

# Concerns in install order; each module exposes ``install()``.
CONCERNS = ("server", "http", "logging", "cron", "collectors")
_installed = set()


def odoo_major():
    from odoo import release

    return release.version_info[0]


def install():
    major = odoo_major()
    if major != 18:
        _logger.warning("logistics_observability: Odoo %s is not supported yet; hooks disabled", major)
        return
    for concern in CONCERNS:
        name = "odoo%s_%s" % (major, concern)
        if name in _installed:
            continue
        try:
            module = importlib.import_module("." + name, __name__)
        except ImportError:
            continue  # concern not shipped yet
        try:
            module.install()
            _installed.add(name)
        except Exception:
            _logger.exception("logistics_observability: hook %s failed to install", name)
