"""Bounded label values: a tenant (database) or route label as the instance-wide caps admit it.

The first ``observability_max_tenants`` tenants and ``observability_max_routes`` route templates
seen by any process of the instance keep their name (:class:`.labelcaps.LabelCaps`, through the
process's store); later ones are ``__overflow__`` / ``__other__``. Re-exported by :mod:`.metrics`.
"""

from . import names as _names
from . import series as _series

TENANT_OVERFLOW = "__overflow__"
ROUTE_OTHER = "__other__"
_log_once = _series._log_once
_settings = _series._settings
_clip = _names.clip


def _admitted(kind, value, cap, overflow):
    """``value`` when admitted under the instance-wide ``cap`` of ``kind``, else ``overflow``."""
    try:
        admitted = _series.get_store().admit(kind, value, _settings[cap])
        if admitted:
            return value
        if admitted is None:  # the caps file could not be read (a busy lock alone never overflows)
            _log_once(
                "admit-%s-unread" % kind,
                "metrics: cannot read the %s cap; %s counted as %s this time",
                kind,
                value,
                overflow,
                exc_info=False,
            )
    except Exception:
        _log_once("admit-%s" % kind, "metrics: cannot check the %s cap" % kind)
    return overflow


def tenant_label(dbname):
    """``dbname`` while fewer than ``observability_max_tenants`` tenants were seen, else ``__overflow__``.

    No database gives ``""``. The cap holds for the whole instance.
    """
    dbname = _clip(dbname)
    return _admitted("tenant", dbname, "max_tenants", TENANT_OVERFLOW) if dbname else ""


def route_label(route):
    """A route template while fewer than ``observability_max_routes`` were seen, else ``__other__``."""
    route = _clip(route)
    if not route:
        return ROUTE_OTHER
    if route.startswith("__"):
        return route
    return _admitted("route", route, "max_routes", ROUTE_OTHER)
