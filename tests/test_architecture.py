"""The layout's house rules (docs/DESIGN.md, "Import rules"), checked on the sources with ``ast``.

Odoo-free. Each rule is also run on a small synthetic tree that breaks it, so a checker that
stopped seeing a violation fails here too.
"""

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAIN = "logistics_observability"
# what any other addon may import of the main addon (DESIGN.md): the workflow decorator and
# context managers, the metric store API, the bucket bounds and the ledger table's name and DDL
PUBLIC = frozenset(
    "odoo.addons.%s.%s" % (MAIN, name)
    for name in ("observe", "core.metrics", "core.buckets", "core.ledger", "models.sql_constraints")
)
SERIES_RE = re.compile(r"^odoo\.addons\.%s\.compat\.odoo\d+(\.|$)" % MAIN)
DYNAMIC = ("import_module", "__import__")


def _addons(addons_dir):
    return sorted(p for p in Path(addons_dir).iterdir() if (p / "__manifest__.py").exists())


def _module_of(addons_dir, path):
    rel = path.relative_to(addons_dir).with_suffix("")
    parts = list(rel.parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts.pop()
    return "odoo.addons." + ".".join(parts), is_pkg


def _is_module(addons_dir, dotted):
    """``dotted`` names a module or package of the tree (``odoo.addons.<addon>...``)."""
    if not dotted.startswith("odoo.addons."):
        return False
    base = Path(addons_dir, *dotted.split(".")[2:])
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _imports(addons_dir, path, tree):
    """``(line, imported module)`` for every import statement of ``path`` (relative ones resolved)."""
    modname, is_pkg = _module_of(addons_dir, path)
    package = modname if is_pkg else modname.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                base = base + "." + node.module if node.module else base
            else:
                base = node.module or ""
            for alias in node.names:
                sub = base + "." + alias.name
                yield node.lineno, sub if _is_module(addons_dir, sub) else base


def _dynamic_imports(tree):
    """``(line, string)`` of ``importlib.import_module("...")`` / ``__import__("...")`` calls."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in DYNAMIC:
                arg = node.args[0] if node.args else None
                yield node.lineno, arg.value if isinstance(arg, ast.Constant) else "<computed>"


def _swallowed_imports(tree):
    """Lines of imports inside ``try`` blocks that catch ImportError (a concern "not shipped yet")."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        caught = set()
        for handler in node.handlers:
            names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            caught.update(getattr(n, "id", None) for n in names)
        if caught & {"ImportError", "ModuleNotFoundError", None}:
            for stmt in node.body:
                for sub in ast.walk(stmt):
                    if isinstance(sub, ast.Import | ast.ImportFrom):
                        yield sub.lineno


def _facade(addons_dir):
    """The public names of ``compat/__init__.py``: its top-level functions."""
    init = Path(addons_dir, MAIN, "compat", "__init__.py")
    if not init.exists():
        return frozenset()
    tree = ast.parse(init.read_text())
    return frozenset(n.name for n in tree.body if isinstance(n, ast.FunctionDef))


def _core_may_import(target, own_core):
    """Core imports its own core, another addon's public Odoo-free core API, and no Odoo."""
    if target in ("odoo", "openerp"):
        return False
    if not target.startswith(("odoo.", "openerp.")):
        return True
    return (
        target == own_core or target.startswith(own_core + ".") or (target in PUBLIC and ".core." in target)
    )


def _names_compat(name):
    return name == "<computed>" or "compat" in name or re.search(r"odoo\d+", name) is not None


def check(addons_dir):
    """Every violation of the import rules under ``addons_dir``, as ``"<rule> <file>:<line> ..."``."""
    addons_dir = Path(addons_dir)
    facade = _facade(addons_dir)
    out = []
    for addon in _addons(addons_dir):
        for path in sorted(addon.rglob("*.py")):
            rel = path.relative_to(addons_dir)
            parts = rel.parts[1:]
            tree = ast.parse(path.read_text(), str(path))
            where = "%s:%%d" % rel.as_posix()
            in_tests = "tests" in parts[:-1]
            imports = list(_imports(addons_dir, path, tree))
            own_core = "odoo.addons.%s.core" % addon.name
            series_pkg = None
            if addon.name == MAIN and len(parts) > 2 and parts[0] == "compat":
                series_pkg = "odoo.addons.%s.compat.%s" % (MAIN, parts[1])
            for line, target in imports:
                # 1. core is Odoo-free: no odoo, nothing of the addon outside its core
                if parts[0] == "core" and not _core_may_import(target, own_core):
                    out.append("core-imports-odoo " + where % line + " " + target)
                # 2. models and controllers use the compat facade only, never a module of it
                if addon.name == MAIN and parts[0] in ("models", "controllers"):
                    if target.startswith("odoo.addons.%s.compat." % MAIN):
                        out.append("models-import-compat " + where % line + " " + target)
                    # which series runs is compat's knowledge: no probing Odoo's signatures here
                    if target == "inspect" or target.startswith("inspect."):
                        out.append("models-probe-odoo " + where % line + " " + target)
                # 3. other addons use the main addon's public API only
                if addon.name != MAIN and not in_tests:
                    if (target == "odoo.addons." + MAIN or target.startswith("odoo.addons.%s." % MAIN)) and (
                        target not in PUBLIC
                    ):
                        out.append("glue-imports-internals " + where % line + " " + target)
                # 4. a series module is imported by compat/__init__.py (or within its own package) only
                if SERIES_RE.match(target):
                    own = series_pkg is not None and (
                        target == series_pkg or target.startswith(series_pkg + ".")
                    )
                    if not own and rel.as_posix() != "%s/compat/__init__.py" % MAIN:
                        out.append("series-import " + where % line + " " + target)
            if addon.name == MAIN and parts[0] in ("models", "controllers"):
                for node in ast.walk(tree):
                    if (
                        isinstance(node, ast.Attribute)
                        and isinstance(node.value, ast.Name)
                        and node.value.id == "compat"
                        and node.attr not in facade
                    ):
                        out.append("models-import-compat " + where % node.lineno + " compat." + node.attr)
            for line, name in _dynamic_imports(tree):
                if parts[0] == "core" or (addon.name == MAIN and _names_compat(name)):
                    out.append("dynamic-import " + where % line + " " + name)
            if addon.name == MAIN and parts[0] == "compat":
                for line in _swallowed_imports(tree):
                    out.append("swallowed-import " + where % line)
    return out


def test_the_addons_keep_the_import_rules():
    assert check(ROOT / "addons") == []


def test_the_public_api_exists():
    for dotted in PUBLIC:
        assert _is_module(ROOT / "addons", dotted), dotted


def test_the_ledger_schema_imports_without_hooks():
    """``core.ledger`` (the table's name and DDL, public) starts nothing: no exit or fork hook."""
    script = textwrap.dedent(
        """
        import atexit, os, sys
        sys.path.insert(0, sys.argv[1])
        import core_packages
        calls = []
        atexit.register = lambda *a, **k: calls.append("atexit")
        os.register_at_fork = lambda **k: calls.append("fork")
        from logistics_observability.core import ledger
        assert ledger.TABLE == "logistics_workflow_ledger" and ledger.TABLE in ledger.CREATE_TABLE
        assert calls == [], calls
        """
    )
    subprocess.run([sys.executable, "-c", script, str(ROOT / "tests")], check=True, timeout=60)


# ---------------------------------------------------------------------------
# each rule bites on a tree that breaks it


def _tree(tmp_path, files):
    addons = tmp_path / "addons"
    for name in (MAIN, "glue"):
        (addons / name).mkdir(parents=True, exist_ok=True)
        (addons / name / "__manifest__.py").write_text("{}")
    base = {
        MAIN + "/__init__.py": "from . import compat, models\n",
        MAIN + "/observe.py": "from .core import metrics\n",
        MAIN + "/core/__init__.py": "",
        MAIN + "/core/metrics.py": "import os\n",
        MAIN + "/core/workflow.py": "from . import metrics\n",
        MAIN + "/compat/__init__.py": (
            "from odoo import release\n"
            "if release.version_info[0] == 18:\n    from . import odoo18 as version\n"
            "def install():\n    pass\n"
        ),
        MAIN + "/compat/odoo18/__init__.py": "from . import http\n",
        MAIN + "/compat/odoo18/http.py": "from ...core import metrics\nfrom . import helpers\n",
        MAIN + "/compat/odoo18/helpers.py": "",
        MAIN + "/models/__init__.py": "from . import thing\n",
        MAIN
        + "/models/thing.py": "from odoo import models\nfrom .. import compat\nfrom ..core import workflow\n"
        "compat.install()\n",
        MAIN + "/tests/test_x.py": "",
        "glue/__init__.py": "from . import models\n",
        "glue/models/__init__.py": "from odoo.addons.logistics_observability import observe\n"
        "from odoo.addons.logistics_observability.core import metrics\n",
        "glue/tests/test_glue.py": "from odoo.addons.logistics_observability.core import workflow\n",
    }
    base.update(files)
    for rel, text in base.items():
        path = addons / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return addons


def test_a_tree_that_keeps_the_rules_is_clean(tmp_path):
    assert check(_tree(tmp_path, {})) == []


@pytest.mark.parametrize(
    "rule, files",
    [
        ("core-imports-odoo", {MAIN + "/core/workflow.py": "import odoo\n"}),
        ("core-imports-odoo", {MAIN + "/core/workflow.py": "def f():\n    from odoo.tools import SQL\n"}),
        ("core-imports-odoo", {MAIN + "/core/workflow.py": "from .. import compat\n"}),
        ("core-imports-odoo", {MAIN + "/core/workflow.py": "from ..models import thing\n"}),
        ("core-imports-odoo", {MAIN + "/core/workflow.py": "from ..controllers import main\n"}),
        (
            "dynamic-import",
            {MAIN + "/core/workflow.py": "import importlib\nimportlib.import_module('odoo')\n"},
        ),
        ("models-import-compat", {MAIN + "/models/thing.py": "from ..compat.odoo18 import helpers\n"}),
        ("models-import-compat", {MAIN + "/models/thing.py": "from ..compat import odoo18\n"}),
        ("models-import-compat", {MAIN + "/models/thing.py": "from .. import compat\ncompat.version.http\n"}),
        ("models-probe-odoo", {MAIN + "/models/thing.py": "import inspect\n"}),
        ("models-probe-odoo", {MAIN + "/controllers/main.py": "from inspect import signature\n"}),
        (
            "glue-imports-internals",
            {"glue/models/__init__.py": "from odoo.addons.logistics_observability.core " "import workflow\n"},
        ),
        (
            "glue-imports-internals",
            {"glue/models/__init__.py": "import odoo.addons.logistics_observability\n"},
        ),
        (
            "glue-imports-internals",
            {"glue/models/__init__.py": "from odoo.addons.logistics_observability " "import compat\n"},
        ),
        ("series-import", {MAIN + "/hooks.py": "from .compat import odoo18\n"}),
        ("series-import", {MAIN + "/compat/odoo19/__init__.py": "from ..odoo18 import http\n"}),
        (
            "series-import",
            {
                MAIN + "/tests/test_x.py": "from odoo.addons.logistics_observability.compat.odoo18 "
                "import http\n"
            },
        ),
        (
            "dynamic-import",
            {
                MAIN + "/compat/__init__.py": "import importlib\n"
                "version = importlib.import_module('.odoo18', __name__)\n"
            },
        ),
        (
            "swallowed-import",
            {
                MAIN + "/compat/odoo18/__init__.py": "try:\n    from . import http\n"
                "except ImportError:\n    http = None\n"
            },
        ),
    ],
)
def test_each_rule_bites(tmp_path, rule, files):
    found = check(_tree(tmp_path, files))
    assert any(v.startswith(rule + " ") for v in found), found
