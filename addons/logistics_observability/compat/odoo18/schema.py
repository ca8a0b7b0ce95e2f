"""Odoo 18.0: schema helpers the models call through the ``compat`` facade."""

from odoo.tools import sql


def create_unique_index(cr, indexname, tablename, expressions):
    # 18.0's create_index takes no ``unique``: the unique index has its own function
    sql.create_unique_index(cr, indexname, tablename, expressions)


def sql_constraints(namespace, constraints):
    # 18.0 reads the model's ``_sql_constraints`` list (``models.Constraint`` is 19.0's)
    namespace["_sql_constraints"] = list(constraints)
