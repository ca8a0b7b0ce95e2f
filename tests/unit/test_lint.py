"""Lint as OCA does: ruff on all Python, pylint-odoo's mandatory checks on each addon."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tool(name):
    path = BIN / name
    if not path.exists():
        path = shutil.which(name)
    if not path:
        pytest.fail("%s is not installed: run scripts/bootstrap.sh" % name)
    return str(path)


def test_ruff_clean():
    proc = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", "addons", "tests", "benchmarks", "scripts"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout


def test_ruff_format_clean():
    proc = subprocess.run(
        [
            _tool("ruff"),
            "format",
            "--check",
            "--no-cache",
            "addons",
            "tests",
            "benchmarks",
            "scripts",
            "deploy",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize(
    "addon", sorted(p.name for p in (ROOT / "addons").iterdir() if (p / "__manifest__.py").exists())
)
def test_pylint_odoo_mandatory_checks(addon):
    proc = subprocess.run(
        [_tool("pylint"), "--rcfile=.pylintrc", "addons/" + addon],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:]


def test_addon_readmes_are_generated_from_fragments():
    proc = subprocess.run(
        [sys.executable, "scripts/gen_addon_readme.py", "--check"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout
