"""Scrape-time collectors (Odoo-free): PostgreSQL server, Redis, tenant databases.

Each ``collect()`` returns ``(families, ok)``. ``ok`` False means the watched
dependency is down: the families still say so (``odoo_pg_up 0``), and the
registered collector raises :class:`PartialResult` carrying them so the scrape
reports ``odoo_collector_up{collector} 0`` *and* the partial families.
"""


class PartialResult(Exception):
    """A collector's dependency is down; ``families`` is what could be collected."""

    def __init__(self, families, message="dependency down"):
        super().__init__(message)
        self.families = list(families)


def as_collector(collect_fn, *args, **kwargs):
    """Adapt ``collect(...) -> (families, ok)`` to ``metrics.register_collector``."""

    def run():
        families, ok = collect_fn(*args, **kwargs)
        if not ok:
            raise PartialResult(families)
        return families

    return run
