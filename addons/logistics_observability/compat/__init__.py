"""Everything that depends on the Odoo version lives in this package.

One subpackage per Odoo series (``odoo18``, ``odoo19``), chosen here by a
static import when the addon is imported. A series package imports its concern
modules (server processes, HTTP, logging, cron, collectors: the series-neutral ones
of this package where Odoo's entry points did not change, its own where they did)
and lists them in ``CONCERNS`` in install order; each exposes ``install()``. An ``ImportError``
in a concern is a bug and fails loudly; :func:`install` installs each concern
at most once per process, and one failing hook never stops the others
(observability fails open).
"""

import logging

from odoo import release

_logger = logging.getLogger(__name__)

SERIES = release.version_info[0]

if SERIES == 18:
    from . import odoo18 as version
elif SERIES == 19:
    from . import odoo19 as version
else:
    version = None

_installed = set()


def install():
    if version is None or not version.CONCERNS:
        _logger.warning("logistics_observability: Odoo %s is not supported; hooks disabled", SERIES)
        return
    for module in version.CONCERNS:
        name = module.__name__
        if name in _installed:
            continue
        try:
            module.install()
            _installed.add(name)
        except Exception:
            _logger.exception("logistics_observability: hook %s failed to install", name)


def requested_operations(registry, snapshot):
    """``{module: (operation, uid)}`` this registry load installed or upgraded, as the version
    layer reads them from Odoo (``{}`` on a series without that reader)."""
    modules = getattr(version, "modules", None)
    return modules.requested_operations(registry, snapshot) if modules is not None else {}


def create_unique_index(cr, indexname, tablename, expressions):
    """Create the unique index ``indexname`` on ``tablename`` (SQL ``expressions``) unless it
    exists, the way the running series' Odoo asks for it (a model's ``init``)."""
    version.schema.create_unique_index(cr, indexname, tablename, expressions)


#: Date intervals from the finest to the coarsest (a view's ``interval`` attribute).
_INTERVALS = ("hour", "day", "week", "month", "quarter", "year")


def date_interval(wanted):
    """The interval a view of the running series groups a date or datetime by when it asks for
    ``wanted``: ``wanted`` when the series' web client accepts it, else the finest coarser one it
    does (18.0: ``hour`` becomes ``day``)."""
    accepted = version.views.DATE_INTERVALS
    if wanted in accepted or wanted not in _INTERVALS:
        return wanted
    coarser = _INTERVALS[_INTERVALS.index(wanted) + 1 :]
    return next((interval for interval in coarser if interval in accepted), wanted)


def sql_constraints(namespace, constraints):
    """Declare the SQL ``constraints`` (``(name, definition, message)`` tuples) in the model class
    body ``namespace`` the way the running series reads them (``models/sql_constraints.py``)."""
    version.schema.sql_constraints(namespace, constraints)


def db_names(options):
    """The databases Odoo's ``db_name`` option names, as a list (``options``: Odoo's configuration)."""
    return version.options.db_names(options)


def command_aliases(name):
    """The other names the running series' ``odoo-bin`` accepts for the command ``name``."""
    return version.commands.aliases(name)


def early_logging(then):
    """Make Odoo's next configuration parse (``odoo-bin observability_server`` runs Odoo's
    ``server`` command next) set up its logging in the configured format before it logs
    anything, and call ``then()`` once it parsed the configuration. False when the running
    series has no such set-up (nothing is called then)."""
    early = getattr(version, "EARLY_LOGGING", None)
    if early is None:
        return False
    early(then)
    return True
