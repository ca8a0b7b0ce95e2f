"""Odoo 19.0: schema helpers the models call through the ``compat`` facade."""

from odoo.tools import sql


def create_unique_index(cr, indexname, tablename, expressions):
    # 19.0 deprecates create_unique_index (a DeprecationWarning per call) for create_index(unique=True)
    sql.create_index(cr, indexname, tablename, expressions, unique=True)
