"""Make the addons' Odoo-free code importable without Odoo.

``logistics_observability.core`` and ``logistics_slo.core`` (and their other
Odoo-free modules) become importable under the addons' names, without running
the addons' ``__init__`` (which imports Odoo). Importing this module does it.
"""

import sys
import types
from pathlib import Path

ADDONS = Path(__file__).resolve().parent.parent / "addons"


def expose(names=("logistics_observability", "logistics_slo")):
    for name in names:
        if name not in sys.modules:
            pkg = types.ModuleType(name)
            pkg.__path__ = [str(ADDONS / name)]
            sys.modules[name] = pkg


expose()
