"""Loads the running Odoo version's security model hooks (``odooNN_security``)."""

from . import odoo_major

if odoo_major() == 18:
    from . import odoo18_security  # noqa: F401
