"""Odoo 19.0: one module per concern, each with ``install()``.

A concern whose Odoo entry points are the same in 19.0 is 18.0's module, imported from
``odoo18`` (that package imports no model hook of its own: ``compat/__init__.py`` imports the
running series' ``security``). What differs lives here: ``server`` (graceful reload) and
``security`` (logins, groups and privileges).
"""
from ..odoo18 import collectors, cron, http, ledger, log, modules
from .. import security_common  # model hooks the same on every series, no install()
from . import security  # model hooks (res.users, res.groups, API keys), no install()
from . import options, server  # options: declared on import, before Odoo reads its file

# Install order: the server hook parses the options the others read.
CONCERNS = (server, http, log, cron, collectors, ledger)
# Logging set up before Odoo's first line (odoo-bin observability_server).
EARLY_LOGGING = log.early
