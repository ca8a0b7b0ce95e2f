"""Odoo 18.0: one module per concern, each with ``install()``."""
from . import collectors, cron, http, ledger, log, modules, server
from . import security  # model hooks (res.users, res.groups, API keys), no install()

# Install order: the server hook parses the options the others read.
CONCERNS = (server, http, log, cron, collectors, ledger)
# Logging set up before Odoo's first line (odoo-bin observability-server).
EARLY_LOGGING = log.early
