"""Every documented way of starting Odoo goes through ``odoo-bin observability_server``: the image's
entrypoint (compose, Kubernetes) waits for the real PostgreSQL, then runs the launcher (the demo, the
README and the harness: tests/unit/test_launcher_docs.py)."""

import subprocess
import sys
from pathlib import Path

import odoo_harness

ROOT = Path(__file__).resolve().parents[2]


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
