"""Odoo 18.0: one module per concern, each with ``install()``."""
from . import collectors, cron, http, ledger, log, server

# Install order: the server hook parses the options the others read.
CONCERNS = (server, http, log, cron, collectors, ledger)
