"""SQL constraints declared once for Odoo 18.0 and 19.0.

18.0 reads a model's ``_sql_constraints`` list; 19.0 ignores it (with a warning) and reads
``models.Constraint`` class attributes instead, named ``_<name>``. Both give the constraint the
name ``<table>_<name>``, so a database keeps its constraints across the series. Used in a model's
class body::

    sql_constraints(locals(), [("name_unique", "unique(name)", "Message.")])
"""

from odoo import models


def sql_constraints(namespace, constraints):
    """Declare ``constraints`` (``(name, definition, message)`` tuples) in the class body
    ``namespace`` (a class body's ``locals()`` is its namespace)."""
    if hasattr(models, "Constraint"):  # 19.0
        for name, definition, message in constraints:
            namespace["_" + name] = models.Constraint(definition, message)
    else:
        namespace["_sql_constraints"] = list(constraints)
