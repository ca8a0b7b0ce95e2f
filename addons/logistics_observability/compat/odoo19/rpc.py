"""Odoo 19.0: the XML-RPC / JSON-RPC endpoints stay served without a database.

19.0 moved ``/xmlrpc`` and ``/jsonrpc`` from ``base`` into the ``rpc`` addon, one of its default
server-wide modules (``base,rpc,web``). The documented ``server_wide_modules =
base,web,logistics_observability`` (18.0's defaults plus this addon) would drop it: a request
whose host selects no database (``common.login``, ``db.list``, a client on the server's IP) then
answers 404, where 18.0 served it. ``rpc`` is added to the list, as Odoo itself adds a missing
``base`` or ``web``; in a database the endpoints are the installed ``rpc`` addon's either way.

The list is checked again once the server loaded its server-wide modules: a configuration parsed
after the hooks were installed would have dropped the addition.
"""

import functools
import logging

_logger = logging.getLogger(__name__)

MODULE = "rpc"


def ensure_loaded():
    """Add ``rpc`` to the server-wide modules and import it; ``True`` if it was missing."""
    from odoo.modules.module import get_module_path, load_openerp_module
    from odoo.tools import config

    modules = list(config["server_wide_modules"] or [])
    if MODULE in modules or not get_module_path(MODULE, display_warning=False):
        return False
    at = modules.index("base") + 1 if "base" in modules else 0
    config["server_wide_modules"] = modules[:at] + [MODULE] + modules[at:]
    _logger.info(
        "adding missing %r to server_wide_modules: Odoo 19.0 serves /xmlrpc and /jsonrpc without a"
        " database from it",
        MODULE,
    )
    load_openerp_module(MODULE)
    return True


def _ensure_failing_open():
    try:
        ensure_loaded()
    except Exception:
        _logger.warning(
            "logistics_observability: cannot load the %r server-wide module; /xmlrpc and /jsonrpc"
            " without a database may answer 404",
            MODULE,
            exc_info=True,
        )


def install():
    from odoo.service import server

    # loaded server-wide by Odoo (``--load``): the configuration is final now
    _ensure_failing_open()
    load = server.load_server_wide_modules

    @functools.wraps(load)
    def load_server_wide_modules():
        load()
        _ensure_failing_open()

    server.load_server_wide_modules = load_server_wide_modules
