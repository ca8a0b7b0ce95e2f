"""setup/build-wheels.sh builds OCA-style wheels (whool), and `pip install` of them into a
fresh virtual environment gives an Odoo that installs the addons from site-packages."""

import contextlib
import importlib.util
import os
import re
import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import odoo_harness
import pytest

ROOT = Path(__file__).resolve().parent.parent
ADDONS = sorted(p.parent.name for p in (ROOT / "addons").glob("*/__manifest__.py"))


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


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    return build(tmp_path_factory.mktemp("dist"), "18.0")


def metadata(wheel):
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return HeaderParser().parsestr(zf.read(name).decode()), zf.namelist()


def test_every_addon_is_packaged():
    for addon in ADDONS:
        assert (ROOT / "addons" / addon / "pyproject.toml").is_file(), addon
    meta = (ROOT / "setup" / "_metapackage" / "pyproject.toml").read_text()
    for addon in ADDONS:
        # the metapackage is what production installs: demo addons get a wheel, not a place in it
        assert ('"odoo-addon-%s==' % addon in meta) != addon.endswith("_demo"), addon


def test_wheels_have_oca_names_metadata_and_files(wheels):
    assert set(wheels) == {"odoo_addon_" + a for a in ADDONS} | {"odoo_addons_logistics_observability"}
    meta, files = metadata(wheels["odoo_addon_logistics_observability"])
    assert meta["Name"] == "odoo-addon-logistics_observability"
    manifest = (ROOT / "addons" / "logistics_observability" / "__manifest__.py").read_text()
    # the manifest's version has no series; the wheel's is <series>.<version>
    assert meta["Version"].startswith("18.0.")
    assert '"version": "%s"' % meta["Version"].removeprefix("18.0.") in manifest
    requires = meta.get_all("Requires-Dist")
    assert "odoo==18.0.*" in requires
    names = {re.split(r"[;=<>!~ ]", r)[0] for r in requires}
    assert {"prometheus_client", "redis", "requests"} <= names
    assert "odoo/addons/logistics_observability/__manifest__.py" in files
    assert "odoo/addons/logistics_observability/core/metrics.py" in files
    assert not [f for f in files if "__pycache__" in f or f.endswith("pyproject.toml")]
    slo, _files = metadata(wheels["odoo_addon_logistics_slo"])
    assert "odoo-addon-logistics_observability==18.0.*" in slo.get_all("Requires-Dist")


def test_wheels_for_odoo_19(tmp_path):
    wheels19 = build(tmp_path, "19.0")
    meta, _files = metadata(wheels19["odoo_addon_logistics_slo"])
    assert meta["Version"] == "19.0.1.0.0"
    requires = set(meta.get_all("Requires-Dist"))
    assert {"odoo==19.0.*", "odoo-addon-logistics_observability==19.0.*"} <= requires
    meta, _files = metadata(wheels19["odoo_addons_logistics_observability"])
    assert "odoo-addon-logistics_slo==19.0.*" in meta.get_all("Requires-Dist")


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
