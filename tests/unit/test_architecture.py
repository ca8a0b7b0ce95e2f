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

ROOT = Path(__file__).resolve().parents[2]
MAIN = "logistics_observability"
# what any other addon may import of the main addon (DESIGN.md): the workflow decorator and
# context managers, the metric store API, the bucket bounds and the ledger table's name and DDL
PUBLIC = frozenset(
    "odoo.addons.%s.%s" % (MAIN, name)
    for name in (
        "observe",
        "core.metrics",
        "core.buckets",
        "core.ledger",
        "core.tables",
        "models.sql_constraints",
        "cli",
    )
)
SERIES_RE = re.compile(r"^odoo\.addons\.%s\.compat\.odoo\d+(\.|$)" % MAIN)
DYNAMIC = ("import_module", "__import__")
# the version rule (outside compat/): Odoo's objects, by the names the code hands them around as
HANDLES = frozenset(("env", "cr", "registry"))  # a name, or an attribute of anything (self.env, env.cr)
PROBES = frozenset(("hasattr", "getattr"))
SERIES_ATTRS = frozenset(("version_info", "serie", "major_version", "version"))  # odoo.release's
SERIES_FACADE = frozenset(("odoo_major", "SERIES", "version"))  # compat's own series answers
# PEP 249 cursor attributes: the database API's names, not Odoo's (core/ledger.py reads rowcount)
DBAPI = frozenset(("rowcount", "description", "lastrowid", "arraysize", "rownumber", "connection"))
FACTS = "odoo_facts"
# one concept per module: a core module is at most this many lines...
CORE_MAX_LINES = 300
# ...except these, over it when the rule came (a ratchet: each may shrink, never grow past its
# figure; split one before it needs more). metrics.py keeps room for a small API change.
CORE_OVER_LIMIT = {
    MAIN + "/core/collection.py": 316,
    MAIN + "/core/exemplars.py": 305,
    MAIN + "/core/health_cards.py": 354,
    MAIN + "/core/metrics.py": 368,
    MAIN + "/core/workflow.py": 360,
    "logistics_slo/core/promtool_tests.py": 356,
    "logistics_slo/core/rules.py": 337,
    "logistics_slo/core/slo_math.py": 492,
}


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


def _chain(node):
    """``(root, attributes)`` of ``a.b.c`` / ``a.b()`` / ``a[0].b``: the root node (a Name or a
    Call that starts the chain) and the attribute names along it."""
    attrs = []
    while True:
        if isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Subscript):
            node = node.func
        else:
            return node, attrs[::-1]


def _is_thread_call(node):
    """``current_thread()`` / ``threading.current_thread()``: the thread Odoo sets attributes on."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)) == "current_thread"


class _Bindings:
    """What a module's names stand for: bound by an import of Odoo (not of the suite's own
    addons), to ``odoo_facts`` (the module or its constants), or to the serving thread."""

    def __init__(self, tree, suite):
        self.odoo, self.facts, self.facts_consts, self.threads = set(), set(), set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if self._odoos(alias.name, suite):
                        self.odoo.add(alias.asname or alias.name.split(".")[0])
                    if alias.name.split(".")[-1] == FACTS:
                        self.facts.add(alias.asname or alias.name)
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                for alias in node.names:
                    bound = alias.asname or alias.name
                    if not node.level and self._odoos(module + "." + alias.name, suite):
                        self.odoo.add(bound)
                    if alias.name == FACTS:
                        self.facts.add(bound)
                    elif module.split(".")[-1] == FACTS:
                        self.facts_consts.add(bound)
            elif isinstance(node, ast.Assign) and _is_thread_call(node.value):
                self.threads.update(t.id for t in node.targets if isinstance(t, ast.Name))

    @staticmethod
    def _odoos(dotted, suite):
        parts = dotted.split(".")
        if parts[0] != "odoo":
            return False
        return not (len(parts) > 2 and parts[1] == "addons" and parts[2] in suite)

    def odoo_module(self, node):
        """``node`` is (an attribute of) a name bound by an import of Odoo."""
        root, _attrs = _chain(node)
        return isinstance(root, ast.Name) and root.id in self.odoo

    def odoo_object(self, node):
        """``node`` is one of Odoo's objects as the code names them: the environment, cursor or
        registry (``env``, ``cr``, ``registry``, ``self.env``, ``env.cr``, ...) or the serving thread."""
        root, attrs = _chain(node)
        if _is_thread_call(root) or (isinstance(root, ast.Name) and root.id in self.threads | HANDLES):
            return True
        return bool(HANDLES & set(attrs))

    def fact(self, node):
        """``node`` names an ``odoo_facts`` constant (``odoo_facts.X``, ``facts.X`` or ``X``)."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return node.value.id in self.facts
        return isinstance(node, ast.Name) and node.id in self.facts_consts


def _series_probes(tree, suite):
    """``(line, what)`` of series probes: ``hasattr``/``getattr`` (by a name that is no
    ``odoo_facts`` constant) or ``inspect`` on a module or object of Odoo's import; reads of
    Odoo's version (``odoo.release`` imported, ``version_info``/``serie``/``major_version``/
    ``version`` of an Odoo name); compat's own series answers (``compat.odoo_major``, ...)."""
    names = _Bindings(tree, suite)
    inspect_names = {"inspect"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "inspect":
            inspect_names.update(a.asname or a.name for a in node.names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = getattr(func, "id", None)
            by_inspect = name in inspect_names or (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "inspect"
            )
            fact = name in PROBES and len(node.args) > 1 and names.fact(node.args[1])
            if (name in PROBES or by_inspect) and names.odoo_module(node.args[0]) and not fact:
                yield node.lineno, ast.unparse(node)[:80]
        elif isinstance(node, ast.Attribute) and node.attr in SERIES_ATTRS and names.odoo_module(node.value):
            yield node.lineno, ast.unparse(node)
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in SERIES_FACADE
            and isinstance(node.value, ast.Name)
            and node.value.id == "compat"
        ):
            yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            dotted = [module] if module else [a.name for a in node.names]
            if module == "odoo":
                dotted = ["odoo." + a.name for a in node.names]
            if any(d == "odoo.release" or d.startswith("odoo.release.") for d in dotted if d):
                yield node.lineno, "odoo.release"


def _odoo_attr_reads(tree, suite, names_facts=False):
    """``(line, what)`` of reads of Odoo's objects by names that are no ``odoo_facts`` constant:
    ``hasattr``/``getattr`` on the environment, cursor, registry or serving thread with any other
    name (PEP 249 cursor attributes excepted), and werkzeug environ keys spelled as literals."""
    names = _Bindings(tree, suite)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in PROBES and len(node.args) >= 2:
            obj, attr = node.args[0], node.args[1]
            if not names.odoo_object(obj) or names.fact(attr):
                continue
            root, attrs = _chain(obj)
            cursor = getattr(root, "id", None) == "cr" or "cr" in attrs
            if cursor and isinstance(attr, ast.Constant) and attr.value in DBAPI:
                continue
            yield node.lineno, ast.unparse(node)[:80]
        elif (
            not names_facts
            and isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("werkzeug.")
        ):
            yield node.lineno, node.value


def _model_names(addons_dir):
    """Every model the suite defines (``_name = "..."`` in a class body)."""
    out = set()
    for path in Path(addons_dir).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if (
                        isinstance(stmt, ast.Assign)
                        and any(getattr(t, "id", None) == "_name" for t in stmt.targets)
                        and isinstance(stmt.value, ast.Constant)
                    ):
                        out.add(stmt.value.value)
    return out


def _private_overrides(tree, own_models):
    """``(line, model.method)`` of private methods (``_x``, not the suite's ``_lo_x``) defined on an
    extension (``_inherit``) of a model the suite does not define: hooks into Odoo's internals."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        inherits = []
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and any(
                getattr(t, "id", None) == "_inherit" for t in stmt.targets
            ):
                value = stmt.value
                items = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
                inherits += [i.value for i in items if isinstance(i, ast.Constant)]
        odoo_models = [m for m in inherits if m not in own_models]
        if not odoo_models:
            continue
        for stmt in node.body:
            if (
                isinstance(stmt, ast.FunctionDef)
                and stmt.name.startswith("_")
                and not stmt.name.startswith(("_lo_", "__"))
            ):
                yield stmt.lineno, "%s.%s" % (odoo_models[0], stmt.name)


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
    suite = frozenset(a.name for a in _addons(addons_dir))
    own_models = _model_names(addons_dir)
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
                if addon.name == MAIN and parts[0] in ("models", "controllers", "cli"):
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
            if addon.name == MAIN and parts[0] in ("models", "controllers", "cli"):
                for node in ast.walk(tree):
                    if (
                        isinstance(node, ast.Attribute)
                        and isinstance(node.value, ast.Name)
                        and node.value.id == "compat"
                        and node.attr not in facade
                    ):
                        out.append("models-import-compat " + where % node.lineno + " compat." + node.attr)
            # 6. one concept per module: core modules stay short
            if parts[0] == "core":
                lines = len(path.read_text().splitlines())
                if lines > CORE_OVER_LIMIT.get(rel.as_posix(), CORE_MAX_LINES):
                    out.append("core-too-long %s %d lines" % (rel.as_posix(), lines))
            for line, name in _dynamic_imports(tree):
                if parts[0] == "core" or (addon.name == MAIN and _names_compat(name)):
                    out.append("dynamic-import " + where % line + " " + name)
            if addon.name == MAIN and parts[0] == "compat":
                for line in _swallowed_imports(tree):
                    out.append("swallowed-import " + where % line)
            # 5. the version rule: compat/ is the only place that knows Odoo's internals/version
            elif not in_tests:
                for line, what in _series_probes(tree, suite):
                    out.append("series-probe " + where % line + " " + what)
                for line, what in _odoo_attr_reads(tree, suite, names_facts=path.stem == FACTS):
                    out.append("odoo-attr-read " + where % line + " " + what)
                if addon.name == MAIN:
                    for line, what in _private_overrides(tree, own_models):
                        out.append("override-private " + where % line + " " + what)
    return out


def test_the_addons_keep_the_import_rules():
    assert check(ROOT / "addons") == []


def test_the_line_limit_exceptions_are_still_needed_and_exist():
    """Every exception of the core line limit names a file that exists (a split or a rename
    removes its line here)."""
    for rel in CORE_OVER_LIMIT:
        assert (ROOT / "addons" / rel).is_file(), rel


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


# what the version rule allows outside compat/: odoo_facts constants, PEP 249 cursor attributes,
# duck typing on the caller's objects, public ORM overrides, the suite's own private methods
ALLOWED = {
    MAIN + "/core/odoo_facts.py": 'THREAD_DBNAME = "dbname"\nPROXY = "werkzeug.proxy_fix.orig"\n',
    MAIN + "/core/workflow.py": "import sys\nimport threading\nfrom . import metrics, odoo_facts\n"
    "from .odoo_facts import THREAD_UID\n"
    "thread = threading.current_thread()\n"
    "db = getattr(thread, odoo_facts.THREAD_DBNAME, None)\n"
    "uid = getattr(threading.current_thread(), THREAD_UID, None)\n"
    "def written(cr):\n    return getattr(cr, 'rowcount', 1) != 0\n"
    "def url(request):\n    return getattr(request, 'url', '')\n"
    "OLD = sys.version_info < (3, 11)\n",
    MAIN + "/observe.py": "from .core import metrics, odoo_facts\n"
    "def count(cr):\n    return getattr(cr, odoo_facts.CURSOR_SQL_LOG_COUNT)\n"
    "def run(env_or_records):\n    return getattr(env_or_records, 'env', env_or_records)\n",
    MAIN + "/models/audit.py": "from odoo import models\n"
    "class Cron(models.Model):\n    _inherit = 'ir.cron'\n"
    "    def write(self, vals):\n        return super().write(vals)\n"
    "    def _lo_record(self):\n        pass\n"
    "class Own(models.Model):\n    _name = 'logistics.thing'\n"
    "class OwnMore(models.Model):\n    _inherit = 'logistics.thing'\n"
    "    def _dispatch_time(self):\n        pass\n",
    MAIN + "/compat/odoo18/http.py": "from odoo import models, release\nimport inspect\n"
    "NEW = hasattr(models, 'Constraint') or release.version_info[0] > 18\n"
    "class Cron(models.Model):\n    _inherit = 'ir.cron'\n"
    "    def _callback(self, name, action):\n        return getattr(self.env.cr, 'sql_log_count', 0)\n",
    MAIN + "/tests/test_x.py": "from odoo import http, release\n"
    "STATICS = hasattr(http.root, 'statics') and release.version_info[0] == 18\n",
    "glue/models/__init__.py": "from odoo.addons.logistics_observability import observe\n"
    "from odoo.addons.logistics_observability.core import metrics\n"
    "from odoo import models\n"
    "class Move(models.Model):\n    _inherit = 'account.move'\n    def _post(self, soft=True):\n"
    "        return getattr(observe, 'run')\n",
}


def test_a_tree_that_keeps_the_rules_is_clean(tmp_path):
    assert check(_tree(tmp_path, {})) == []


def test_what_the_version_rule_allows_is_clean(tmp_path):
    assert check(_tree(tmp_path, ALLOWED)) == []


@pytest.mark.parametrize(
    "rule, files",
    [
        ("core-imports-odoo", {MAIN + "/core/workflow.py": "import odoo\n"}),
        ("core-too-long", {MAIN + "/core/big.py": "X = 1\n" * (CORE_MAX_LINES + 1)}),
        ("core-too-long", {"glue/core/big.py": "X = 1\n" * (CORE_MAX_LINES + 1)}),
        ("core-too-long", {MAIN + "/core/metrics.py": "X = 1\n" * 381}),
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
        # 5. the version rule, outside compat/
        (
            "series-probe",
            {
                MAIN + "/models/sql_constraints.py": "from odoo import models\n"
                "NEW = hasattr(models, 'Constraint')\n"
            },
        ),
        (
            "series-probe",
            {"glue/models/__init__.py": "import odoo\nSQL = getattr(odoo.tools, 'SQL', None)\n"},
        ),
        (
            "series-probe",
            {
                MAIN + "/observe.py": "import inspect\nfrom odoo.tools import sql\n"
                "P = inspect.signature(sql.create_index)\n"
            },
        ),
        (
            "series-probe",
            {
                MAIN + "/hooks.py": "from inspect import signature\nfrom odoo import api\n"
                "P = signature(api.Environment)\n"
            },
        ),
        ("series-probe", {MAIN + "/controllers/main.py": "from odoo import release\n"}),
        ("series-probe", {MAIN + "/models/thing.py": "from odoo.release import version_info\n"}),
        ("series-probe", {"glue/models/__init__.py": "import odoo\nNEW = odoo.release.serie >= '19.0'\n"}),
        (
            "series-probe",
            {MAIN + "/cli/__init__.py": "from odoo import service\nV = service.common.version\n"},
        ),
        (
            "series-probe",
            {MAIN + "/models/thing.py": "from .. import compat\nNEW = compat.odoo_major() >= 19\n"},
        ),
        (
            "odoo-attr-read",
            {MAIN + "/observe.py": "def count(cr):\n    return getattr(cr, 'sql_log_count', 0)\n"},
        ),
        (
            "odoo-attr-read",
            {
                MAIN + "/core/workflow.py": "import threading\nt = threading.current_thread()\n"
                "DB = getattr(t, 'dbname', None)\n"
            },
        ),
        (
            "odoo-attr-read",
            {
                MAIN + "/core/workflow.py": "from threading import current_thread\n"
                "U = hasattr(current_thread(), 'uid')\n"
            },
        ),
        (
            "odoo-attr-read",
            {
                MAIN
                + "/models/thing.py": "class A:\n    def f(self):\n        return hasattr(self.env, 'su')\n"
            },
        ),
        (
            "odoo-attr-read",
            {"glue/models/__init__.py": "def f(registry):\n    return getattr(registry, 'ready')\n"},
        ),
        (
            "odoo-attr-read",
            {
                MAIN + "/controllers/main.py": "def peer(environ):\n"
                "    return environ.get('werkzeug.proxy_fix.orig')\n"
            },
        ),
        (
            "override-private",
            {
                MAIN + "/models/thing.py": "from odoo import models\nclass Cron(models.Model):\n"
                "    _inherit = 'ir.cron'\n    def _callback(self, name, action):\n"
                "        return super()._callback(name, action)\n"
            },
        ),
        (
            "override-private",
            {
                MAIN + "/observe.py": "from odoo import models\nclass Users(models.Model):\n"
                "    _inherit = ['res.users']\n    @classmethod\n    def _login(cls, db, credential, env):\n"
                "        pass\n"
            },
        ),
    ],
)
def test_each_rule_bites(tmp_path, rule, files):
    found = check(_tree(tmp_path, files))
    assert any(v.startswith(rule + " ") for v in found), found
