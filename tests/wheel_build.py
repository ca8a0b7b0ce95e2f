"""Builds the addons' wheels with setup/build-wheels.sh (shared by tests/unit/test_deploy_wheels.py
and tests/odoo/test_deploy_wheels_install.py)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def build(out, series):
    if importlib.util.find_spec("whool") is None:
        pytest.skip("whool NOT INSTALLED (requirements-dev.txt): wheels not built")
    proc = subprocess.run(
        ["sh", str(ROOT / "setup" / "build-wheels.sh"), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHON=sys.executable, ODOO_SERIES=series),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {p.name.split("-")[0]: p for p in out.glob("*.whl")}
