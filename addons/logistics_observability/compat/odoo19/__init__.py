"""Odoo 19.0: one module per concern, each with ``install()`` (being ported)."""

CONCERNS = ()
