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


def tenant_label(dbname):
    """``dbname`` while fewer than ``observability_max_tenants`` tenants were seen, else ``__overflow__``.

    No database gives ``""``. The cap holds for the whole instance.
    """
    dbname = _clip(dbname)
    if not dbname:
        return ""
    try:
        admitted = _series.get_store().admit("tenant", dbname, _settings["max_tenants"])
        if admitted:
            return dbname
        if admitted is None:
            _log_once(
                "admit-tenant-busy",
                "metrics: tenant cap lock busy; %s counted as %s this time",
                dbname,
                TENANT_OVERFLOW,
                exc_info=False,
            )
    except Exception:
        _log_once("admit-tenant", "metrics: cannot check the tenant cap")
    return TENANT_OVERFLOW


def route_label(route):
    """A route template while fewer than ``observability_max_routes`` were seen, else ``__other__``."""
    route = _clip(route)
    if not route:
        return ROUTE_OTHER
    if route.startswith("__"):
        return route
    try:
        admitted = _series.get_store().admit("route", route, _settings["max_routes"])
        if admitted:
            return route
        if admitted is None:
            _log_once(
                "admit-route-busy",
                "metrics: route cap lock busy; %s counted as %s this time",
                route,
                ROUTE_OTHER,
                exc_info=False,
            )
    except Exception:
        _log_once("admit-route", "metrics: cannot check the route cap")
    return ROUTE_OTHER
