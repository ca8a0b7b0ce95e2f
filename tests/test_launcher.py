"""Every documented way of starting Odoo goes through ``odoo-bin observability_server``."""

import os
import re
import subprocess
import sys
from pathlib import Path

import odoo_harness

ROOT = Path(__file__).resolve().parent.parent


def test_entrypoint_starts_odoo_through_the_launcher(tmp_path):
    """The image's entrypoint (compose, Kubernetes) runs the launcher with the configuration's addons path."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "odoo").write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    (fake / "odoo").chmod(0o755)
    (fake / "python3").write_text('#!/bin/sh\nexec "%s" "$@"\n' % sys.executable)  # has psycopg2
    (fake / "python3").chmod(0o755)
    conf = tmp_path / "odoo.conf"
    conf.write_text(
        "[options]\naddons_path = /mnt/extra-addons,/opt/more\ndb_host = %s\ndb_port = %s\n"
        "db_user = %s\n" % (odoo_harness.PG["host"], odoo_harness.PG["port"], odoo_harness.PG["user"])
    )
    env = {"PATH": "%s:/usr/bin:/bin" % fake, "ODOO_RC": str(conf), "WAIT_FOR_POSTGRES_SECONDS": "10"}
    for args in ([], ["odoo"], ["odoo", "-d", "acme"], ["--workers=2"]):
        proc = subprocess.run(
            ["bash", str(ROOT / "deploy" / "odoo" / "entrypoint.sh"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        argv = proc.stdout.splitlines()
        assert argv[:2] == ["--addons-path=/mnt/extra-addons,/opt/more", "observability_server"], argv
        assert argv[2:] == [a for a in args if a != "odoo"]


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
