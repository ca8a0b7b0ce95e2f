"""Odoo-free core: metric store, exposition, log formatting, collectors.

Nothing in this package imports ``odoo``; tests import it without an Odoo
server. Modules here use relative imports only.
"""
