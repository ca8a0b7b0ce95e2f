"""setup/build-wheels.sh builds OCA-style wheels (whool), offline; installing them into an Odoo
environment is tests/odoo/test_deploy_wheels_install.py."""

import re
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest
from wheel_build import build

ROOT = Path(__file__).resolve().parents[2]
ADDONS = sorted(p.parent.name for p in (ROOT / "addons").glob("*/__manifest__.py"))


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
