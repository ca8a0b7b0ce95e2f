"""Registers the platform collectors with the metrics API, using Odoo's ``db_*`` options.

Collectors run in whatever process answers the scrape (an HTTP worker or the
dedicated metrics listener in the master), without an Odoo environment.
"""

import logging

from ..core import config as obs_config
from ..core import metrics
from ..core.collectors import as_collector, pg, pgconn, redis_collector, tenant

_logger = logging.getLogger(__name__)

#: Seconds each collector may take before the scrape reports it down.
COLLECTOR_TIMEOUT = 0.9
#: Seconds the per-tenant cache is served before a background refresh.
TENANT_TTL = 30.0

_state = {}


def db_params(options):
    return pgconn.params_from_options(options)


def tenant_collector():
    """The process's :class:`tenant.TenantCollector` (``None`` before :func:`install`)."""
    return _state.get("tenants")


def install():
    import odoo

    from . import db_names  # the facade: which shape the running series gives ``db_name``

    options = odoo.tools.config
    params = db_params(options)

    def filter_fn(names):
        return tenant.db_filter(
            names, db_names(options), options.get("dbfilter"), obs_config.current().tenant_exclude
        )

    tenants = tenant.TenantCollector(params, filter_fn, ttl=TENANT_TTL)
    _state["tenants"] = tenants

    def postgres():
        families, ok = pg.collect(params, tenants=tenants.tenants())
        return as_collector(lambda: (families, ok))()

    metrics.register_collector("postgres", postgres, timeout=COLLECTOR_TIMEOUT)
    metrics.register_collector("tenants", as_collector(tenants.collect), timeout=COLLECTOR_TIMEOUT)
    url = obs_config.current().redis_url
    if url:
        metrics.register_collector(
            "redis", as_collector(redis_collector.collect, url), timeout=COLLECTOR_TIMEOUT
        )
