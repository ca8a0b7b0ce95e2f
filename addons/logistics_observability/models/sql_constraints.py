"""SQL constraints declared once for Odoo 18.0 and 19.0.

18.0 reads a model's ``_sql_constraints`` list; 19.0 ignores it (with a warning) and reads
``models.Constraint`` class attributes instead, named ``_<name>``. Both give the constraint the
name ``<table>_<name>``, so a database keeps its constraints across the series; which form the
running series reads is ``compat``'s knowledge (``compat.sql_constraints``). Used in a model's
class body (public API: the glue addons use it too)::

    sql_constraints(locals(), [("name_unique", "unique(name)", "Message.")])
"""

from .. import compat


def sql_constraints(namespace, constraints):
    """Declare ``constraints`` (``(name, definition, message)`` tuples) in the class body
    ``namespace`` (a class body's ``locals()`` is its namespace)."""
    compat.sql_constraints(namespace, constraints)
