"""Scrape-time collectors (Odoo-free): PostgreSQL server, Redis, tenant databases.

Each ``collect()`` returns ``(families, ok)``. ``ok`` False means the watched
dependency is down: the families still say so (``odoo_pg_up 0``), and the
registered collector raises :class:`PartialResult` carrying them so the scrape
reports ``odoo_collector_up{collector} 0`` *and* the partial families.
"""


class PartialResult(Exception):
    """A collector's dependency is down; ``families`` is what could be collected.

    ``reason`` is a short fixed token (a label value of ``odoo_collector_down_reason``).
    """

    def __init__(self, families, message="dependency down", reason="down"):
        super().__init__(message)
        self.families = list(families)
        self.reason = reason


def as_collector(collect_fn, *args, **kwargs):
    """Adapt ``collect(...)`` returning ``(families, ok)`` or ``(families, ok, reason)`` to
    ``metrics.register_collector``."""

    def run():
        families, ok, *why = collect_fn(*args, **kwargs)
        if not ok:
            reason = why[0] if why and why[0] else "down"
            raise PartialResult(families, "%s" % reason.replace("_", " "), reason=reason)
        return families

    return run
