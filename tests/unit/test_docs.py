"""The docs say what the code does: names and paths they mention exist, addon READMEs render.

Odoo-free: reads the Markdown and reStructuredText files and greps the addons' sources.
"""

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from logistics_observability.core import config

ROOT = Path(__file__).resolve().parents[2]
ADDONS = ROOT / "addons"
MAIN_ADDON = ADDONS / "logistics_observability"
ADDON_DIRS = sorted(p for p in ADDONS.iterdir() if (p / "__manifest__.py").exists())
FRAGMENTS = sorted(ADDONS.glob("*/readme/*.md"))

# `observability_*` words in the docs that are no configuration key
NOT_CONFIG_KEYS = {
    "observability_server": "odoo-bin subcommand (cli/observability_server.py)",
    "observability_backup": "odoo-bin subcommand (cli/observability_backup.py)",
    "observability_collectors": "manifest key read by compat/exporters.py",
}
# `odoo_*` metric names the docs list that no Python literal spells out whole
BUILT_NAMES = {}
# `odoo_*` words in SPEC.md / METRICS.md that are no metric
NOT_METRICS = {}
# files DESIGN.md names that another developer's branch is creating (none at this base)
# paths DESIGN.md names that another branch brings (the Collector's deploy config, with tail sampling)
DESIGN_PATHS_PLANNED = {"deploy/otel/collector.yaml"}


def _text(path):
    return path.read_text(encoding="utf-8")


# --- addon READMEs --------------------------------------------------------------------------


@pytest.mark.parametrize("addon", [p.name for p in ADDON_DIRS])
def test_addon_readme_renders_without_warnings(addon):
    try:
        from docutils import core as docutils_core
    except ImportError:
        pytest.fail("docutils is not installed: run scripts/bootstrap.sh (requirements-dev.txt)")
    path = ADDONS / addon / "README.rst"
    warnings = io.StringIO()
    docutils_core.publish_doctree(
        _text(path),
        source_path=str(path),
        settings_overrides={
            "report_level": 2,  # warnings and worse are reported...
            "halt_level": 5,  # ...and collected, never raised
            "warning_stream": warnings,
            # code blocks are checked for structure; colouring them needs Pygments, which
            # PyPI's and GitHub's renderers have and this test does not need
            "syntax_highlight": "none",
        },
    )
    assert warnings.getvalue() == "", warnings.getvalue()


@pytest.mark.parametrize("addon", [p.name for p in ADDON_DIRS])
def test_addon_has_a_description_fragment(addon):
    assert (ADDONS / addon / "readme" / "DESCRIPTION.md").is_file()


def test_addon_readmes_match_their_fragments():
    proc = subprocess.run(
        [sys.executable, "scripts/gen_addon_readme.py", "--check"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("fragment", FRAGMENTS, ids=lambda p: str(p.relative_to(ADDONS)))
def test_fragment_inline_code_stays_on_one_line(fragment):
    """The generator converts line by line: inline code split over two lines comes out wrong in
    the README.rst, often without a docutils warning."""
    fenced, split = False, []
    for number, line in enumerate(_text(fragment).splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.count("`") % 2:
            split.append("%d: %s" % (number, line))
    assert not split, "inline code split over lines:\n" + "\n".join(split)


def test_markdown_tables_become_list_tables():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_addon_readme
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    rst = gen_addon_readme.md_to_rst("| key | meaning |\n|---|---|\n| `a` | x `b|c` y |\n| | z |\n")
    assert rst.splitlines() == [
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - key",
        "     - meaning",
        "   * - ``a``",
        "     - x ``b|c`` y",
        "   * -",
        "     - z",
    ]


# --- configuration keys ---------------------------------------------------------------------

KEY_RE = re.compile(r"(?<![A-Za-z0-9_])observability_[a-z0-9_]*[a-z0-9]")
ENV_RE = re.compile(r"(?<![A-Za-z0-9_])ODOO_OBSERVABILITY_[A-Z0-9_]*[A-Z0-9]")
KEY_DOCS = [ROOT / "README.md", ROOT / "docs" / "SPEC.md", *FRAGMENTS]


def _rel(path):
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("doc", KEY_DOCS, ids=_rel)
def test_documented_configuration_keys_exist(doc):
    text = _text(doc)
    unknown = set(KEY_RE.findall(text)) - set(config.KEYS) - set(NOT_CONFIG_KEYS)
    assert not unknown, "%s names keys that core/config.py KEYS does not have: %s" % (
        _rel(doc),
        sorted(unknown),
    )
    env_names = {env for env, _default in config.KEYS.values()}
    unknown_env = {n for n in ENV_RE.findall(text) if n not in env_names}
    assert not unknown_env, "%s names environment variables no key reads: %s" % (
        _rel(doc),
        sorted(unknown_env),
    )


def test_every_configuration_key_is_in_the_readme():
    text = _text(ROOT / "README.md")
    missing = [key for key in config.KEYS if "`%s`" % key not in text]
    assert not missing, "README.md's Configuration does not document %s" % missing
    missing_env = [env for env, _default in config.KEYS.values() if "`%s`" % env not in text]
    assert not missing_env, "README.md does not give the environment variable of %s" % missing_env


# --- metric names ---------------------------------------------------------------------------

METRIC_RE = re.compile(r"(?<![A-Za-z0-9_])odoo_[a-z0-9_]*[a-z0-9]")
METRIC_DOCS = [ROOT / "docs" / "SPEC.md", ROOT / "docs" / "METRICS.md"]


def _python_sources():
    return "\n".join(
        _text(path) for path in sorted(ADDONS.rglob("*.py")) if "tests" not in path.relative_to(ADDONS).parts
    )


@pytest.fixture(scope="module")
def python_literals():
    return set(re.findall(r"""["'](odoo_[a-z0-9_]+)["']""", _python_sources()))


@pytest.mark.parametrize("doc", METRIC_DOCS, ids=_rel)
def test_documented_metrics_are_defined(doc, python_literals):
    names = set(METRIC_RE.findall(_text(doc))) - set(NOT_METRICS)
    assert len(names) > 20, "the metric name pattern found too few names in %s" % _rel(doc)
    undefined = sorted(n for n in names if n not in python_literals and n not in BUILT_NAMES)
    assert not undefined, "%s lists metrics that no addon's Python defines: %s" % (_rel(doc), undefined)


# --- DESIGN.md paths ------------------------------------------------------------------------

PATH_RE = re.compile(
    r"`([A-Za-z0-9_.<>|{}/-]+/[A-Za-z0-9_.<>|{},/-]*"  # a path with a folder
    r"|[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.(?:py|sh|xml|csv|yml|yaml|txt|json|toml|cfg|ini|md))`"  # a file
)


def _expand(path):
    """``compat/{a,b}.py`` and ``compat/odoo18|odoo19/x.py`` name several files."""
    braces = re.search(r"\{([^}]*)\}", path)
    if braces:
        return [
            p
            for option in braces.group(1).split(",")
            for p in _expand(path[: braces.start()] + option + path[braces.end() :])
        ]
    bars = re.search(r"([A-Za-z0-9_]+(?:\|[A-Za-z0-9_]+)+)", path)
    if bars:
        return [
            p
            for option in bars.group(1).split("|")
            for p in _expand(path[: bars.start()] + option + path[bars.end() :])
        ]
    return [path]


def design_paths():
    found = []
    for match in PATH_RE.finditer(_text(ROOT / "docs" / "DESIGN.md")):
        raw = match.group(1)
        if "<" in raw or raw.startswith(("http", "/")) or "*" in raw:
            continue  # a pattern (`<metrics_dir>/ledger/...`), a URL or an absolute path
        if "." not in raw.rsplit("/", 1)[-1] and not raw.endswith("/"):
            continue  # a dotted Python name or a label, not a file
        found.extend(_expand(raw))
    return sorted(set(found))


# DESIGN.md's layout names a file from the repository root, from an addon, or from the folder
# whose bullet lists it (core/, compat/, cli/ of the main addon)
DESIGN_BASES = [
    ROOT,
    ROOT / "tests",
    ADDONS,
    MAIN_ADDON,
    MAIN_ADDON / "core",
    MAIN_ADDON / "core" / "collectors",
    MAIN_ADDON / "compat",
    MAIN_ADDON / "cli",
    ADDONS / "logistics_slo",
    ADDONS / "logistics_slo" / "core",
]


def _exists(path):
    return any((base / path.rstrip("/")).exists() for base in DESIGN_BASES)


def test_design_names_paths():
    assert len(design_paths()) > 30, "the path pattern found too few of DESIGN.md's files"


@pytest.mark.parametrize("path", design_paths())
def test_design_paths_exist(path):
    assert _exists(path) or path in DESIGN_PATHS_PLANNED, (
        "docs/DESIGN.md names %s, found under none of %s"
        % (path, ", ".join(str(b.relative_to(ROOT)) + "/" for b in DESIGN_BASES))
    )
