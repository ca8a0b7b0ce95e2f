"""The one place where the SLO core reaches into logistics_observability.

Inside Odoo the addon is ``odoo.addons.logistics_observability``; in pytest
(``tests/conftest.py``) it is importable as ``logistics_observability``.
"""

try:  # pragma: no cover - depends on how the package was imported
    from odoo.addons.logistics_observability.core import buckets, ledger, tables
except ImportError:  # Odoo-free (pytest, tooling)
    from logistics_observability.core import buckets, ledger, tables

__all__ = ["buckets", "ledger", "tables"]
