"""Odoo 18.0: one module per concern, each with ``install()``.

Odoo 19.0 reuses the concerns whose entry points did not change (``odoo19/__init__.py``), so
this package imports no model hook that holds only on 18.0: ``security`` (logins, groups) is
imported by ``compat/__init__.py`` when 18.0 runs.
"""
from . import collectors, cron, exporters, http, ledger, log, modules, outbound, server

# Install order: the server hook parses the options the others read; addons with
# collectors are imported last, once every hook is in place.
CONCERNS = (server, http, log, cron, collectors, ledger, outbound, exporters)
# Logging set up before Odoo's first line (odoo-bin observability_server).
EARLY_LOGGING = log.early
