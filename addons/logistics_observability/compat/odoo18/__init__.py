"""Odoo 18.0: the concerns, each with ``install()``.

The concerns whose Odoo entry points are the same in 18.0 and 19.0 are the series-neutral
modules of ``compat/``; what is 18.0's own is here (``security``: logins, groups; ``schema``: index
creation for the models' ``init``; ``views``: the date intervals its web client groups by;
``options``: ``db_name``'s shape).
"""

from .. import collectors, cron, exporters, http, ledger, log, modules, outbound, server
from .. import security_common  # model hooks the same on every series, no install()
from . import options  # how 18.0 keeps the options it parsed (db_name)
from . import commands  # the other names odoo-bin accepts for a command
from . import schema, security  # security: model hooks (res.users, res.groups, API keys), no install()
from . import views  # what the web client accepts in a view's arch, no install()

# Install order: the server hook parses the options the others read; addons with
# collectors are imported last, once every hook is in place.
CONCERNS = (server, http, log, cron, collectors, ledger, outbound, exporters)
# Logging set up before Odoo's first line (odoo-bin observability_server).
EARLY_LOGGING = log.early
