"""The demo, the README's systemd unit, the test harness and the Kubernetes deployment start Odoo
through ``odoo-bin observability_server`` (the image's entrypoint doing so:
tests/services/test_launcher.py)."""

import os
import re
from pathlib import Path

import odoo_harness

ROOT = Path(__file__).resolve().parents[2]


def test_demo_readme_and_harness_use_the_launcher():
    demo = (ROOT / "scripts" / "demo.sh").read_text()
    starts = [line for line in demo.splitlines() if line.startswith('setsid "$ODOO"')]
    assert starts and all("observability_server" in line for line in starts), starts
    readme = (ROOT / "README.md").read_text()
    exec_start = re.findall(r"^\s*ExecStart=(.*)$", readme, re.M)
    assert exec_start and all(" observability_server -c " in line for line in exec_start), exec_start
    assert odoo_harness.OdooServer().command == "observability_server"
    for path in (ROOT / "deploy" / "k8s" / "base" / "deployment.yaml",):
        assert 'args: ["odoo"]' in path.read_text()  # the entrypoint's launcher path
    assert os.access(ROOT / "deploy" / "odoo" / "entrypoint.sh", os.R_OK)
