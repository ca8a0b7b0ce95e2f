"""The set-up commands fail with one clear message on bad input, and CI without Odoo says so."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import odoo_harness
import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent


def run(cmd, env=None, timeout=600):
    full_env = dict(os.environ, LO_VENV=str(VENV), **(env or {}))
    return subprocess.run(
        cmd,
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_wrong_odoo_src_is_a_clear_error(tmp_path):
    proc = run(["bash", "scripts/bootstrap.sh"], env={"ODOO_SRC": str(tmp_path / "nowhere")})
    assert proc.returncode == 2, proc.stdout
    assert "ODOO_SRC=%s is not an Odoo source tree" % (tmp_path / "nowhere") in proc.stdout
    assert "Traceback" not in proc.stdout


def test_demo_refuses_a_port_in_use(odoo_available, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = run(
            ["bash", "scripts/demo.sh", "--detach"],
            env={
                "DEMO_HTTP_PORT": str(port),
                "DEMO_STATE": str(tmp_path / "state"),
                "DEMO_ODOO": odoo_harness.current_series(),
            },
        )
    assert proc.returncode == 2, proc.stdout
    assert "port %d is already in use" % port in proc.stdout
    assert "Traceback" not in proc.stdout


def test_demo_reports_unreachable_postgresql(odoo_available, tmp_path):
    proc = run(
        ["bash", "scripts/demo.sh", "--detach"],
        env={
            "PGPORT": "1",
            "DEMO_STATE": str(tmp_path / "state"),
            "DEMO_ODOO": odoo_harness.current_series(),
        },
    )
    assert proc.returncode == 2, proc.stdout
    assert "PostgreSQL is not reachable at 127.0.0.1:1" in proc.stdout
    assert "Traceback" not in proc.stdout


@pytest.mark.timeout(900)
def test_without_odoo_the_odoo_tests_are_reported_as_skipped(tmp_path):
    """Fresh virtualenvs and no Odoo anywhere: setup says so loudly for each series, Odoo tests are
    skipped, not passed."""
    venv = tmp_path / "venv"
    env = {
        "LO_VENV": str(venv),
        "ODOO_DEFAULT_SRC": str(tmp_path / "no-odoo"),
        "ODOO_NO_DOWNLOAD": "1",
        "LO_VENV19": str(tmp_path / "venv19"),
        "ODOO19_DEFAULT_SRC": str(tmp_path / "no-odoo19"),
    }
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ODOO_SRC", "ODOO_BIN", "ODOO19_SRC", "ODOO19_BIN", "ODOO_SERIES")
    }
    full_env.update(env)
    setup = subprocess.run(
        ["bash", "scripts/bootstrap.sh"],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=800,
    )
    assert setup.returncode == 0, setup.stdout
    assert "ODOO 18.0 NOT FOUND" in setup.stdout and "ODOO 19.0 NOT FOUND" in setup.stdout
    assert (venv / "odoo.env").read_text().startswith("ODOO_FOUND=0")
    assert (tmp_path / "venv19" / "odoo.env").read_text().startswith("ODOO_FOUND=0")
    proc = subprocess.run(
        # The addons' suites (two tests, each on both series): all four skipped, none passed.
        [
            str(venv / "bin" / "python"),
            "-m",
            "pytest",
            "tests/odoo/test_odoo_suites.py",
            "-rs",
            "-k",
            "suite_on",
        ],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout
    assert "ODOO 18.0 NOT FOUND" in proc.stdout and "ODOO 19.0 NOT FOUND" in proc.stdout
    assert "4 skipped" in proc.stdout and "passed" not in proc.stdout.splitlines()[-1]
