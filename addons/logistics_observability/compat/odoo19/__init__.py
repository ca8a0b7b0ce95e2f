"""Odoo 19.0: one module per concern, each with ``install()``; a concern that is the same on 19.0
is the 18.0 module, imported from there."""
from .. import security_common  # model hooks the same on every series, no install()
from . import security  # model hooks (res.users, res.groups, API keys), no install()

# Install order: the server hook parses the options the others read.
CONCERNS = ()
