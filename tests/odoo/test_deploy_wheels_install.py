"""`pip install` of the wheels built by setup/build-wheels.sh into a fresh virtual environment gives
an Odoo that installs the addons from site-packages (the wheels' contents:
tests/unit/test_deploy_wheels.py)."""

import contextlib
import subprocess
import sys
from pathlib import Path

import odoo_harness
import pytest
from wheel_build import build


def test_pip_install_into_an_odoo_environment(odoo_available, tmp_path):
    """A fresh venv that can import Odoo (and the venv's libraries), the wheels pip-installed,
    no addons path for them: Odoo finds and installs both addons from site-packages."""
    series = odoo_harness.current_series()
    wheels = build(tmp_path / "dist", series)
    series_py = str(odoo_harness.odoo_venv() / "bin" / "python")
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    venv = tmp_path / "venv"
    subprocess.run([series_py, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", purelib], capture_output=True, text=True, check=True).stdout.strip()
    # Odoo and its dependencies come from the series' environment (processing its .pth files).
    parent_site = subprocess.run(
        [series_py, "-c", purelib], capture_output=True, text=True, check=True
    ).stdout.strip()
    Path(site, "odoo-env.pth").write_text("import site; site.addsitedir(%r)\n" % parent_site)
    targets = [
        str(w)
        for n, w in wheels.items()
        if n in ("odoo_addon_logistics_observability", "odoo_addon_logistics_slo")
    ]
    # --no-deps: Odoo itself is a source tree here, not an installed "odoo" distribution.
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", *targets],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if "no such option: --python" in proc.stderr:
        pytest.skip("pip too old for --python")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check = subprocess.run(
        [
            str(py),
            "-c",
            (
                "import importlib.metadata as md\n"
                "import odoo.addons.logistics_observability as m, odoo.addons.logistics_slo as s\n"
                "print(m.__file__); print(s.__file__)\n"
                "for dist in ('odoo-addon-logistics_observability', 'odoo-addon-logistics_slo'):\n"
                "    for req in md.requires(dist):\n"
                "        name = req.split(';')[0].split('=')[0].split('<')[0].split('>')[0].strip()\n"
                "        if name != 'odoo' and not name.startswith('odoo-addon-'):\n"
                "            md.version(name)\n"
            ),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    assert all(line.startswith(site) for line in check.stdout.split()), check.stdout
    odoo_init = subprocess.run(
        [series_py, "-c", "import odoo; print(odoo.__file__)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    src = Path(odoo_init).resolve().parent.parent
    core_addons = [str(src / "addons")] if (src / "addons").is_dir() else []
    db = odoo_harness.DB_PREFIX + "deploy_wheels"
    odoo_harness.drop_db(db)
    try:
        cmd = [
            str(py),
            "-m",
            "odoo",
            "--db_host=" + odoo_harness.PG["host"],
            "--db_port=%s" % odoo_harness.PG["port"],
            "--db_user=" + odoo_harness.PG["user"],
            "-d",
            db,
            "-i",
            "logistics_observability,logistics_slo",
            *odoo_harness.demo_option(False),
            "--stop-after-init",
            "--max-cron-threads=0",
            "--log-level=warn",
            "--http-port=%s" % odoo_harness.free_port(),
        ]
        if core_addons:
            cmd.append("--addons-path=" + ",".join(core_addons))
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
        assert proc.returncode == 0 and "Traceback" not in proc.stdout + proc.stderr, (
            proc.stdout + proc.stderr
        )[-4000:]
        with contextlib.closing(odoo_harness.pg_connect(db)) as conn, conn.cursor() as cr:
            cr.execute(
                "SELECT name, state FROM ir_module_module WHERE name IN %s",
                (("logistics_observability", "logistics_slo"),),
            )
            states = dict(cr.fetchall())
            assert states == {"logistics_observability": "installed", "logistics_slo": "installed"}
    finally:
        odoo_harness.drop_db(db)
