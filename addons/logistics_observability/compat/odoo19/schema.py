"""Odoo 19.0: schema helpers the models call through the ``compat`` facade."""

from odoo import models
from odoo.tools import sql


def create_unique_index(cr, indexname, tablename, expressions):
    # 19.0 deprecates create_unique_index (a DeprecationWarning per call) for create_index(unique=True)
    sql.create_index(cr, indexname, tablename, expressions, unique=True)


def sql_constraints(namespace, constraints):
    # 19.0 ignores ``_sql_constraints`` (with a warning) and reads ``models.Constraint`` class
    # attributes named ``_<name>``; the constraint is still named ``<table>_<name>``
    for name, definition, message in constraints:
        namespace["_" + name] = models.Constraint(definition, message)
