"""``odoo-bin slo_rules``: rules, promtool tests and OpenSLO from real tenant databases."""

import shutil
import subprocess

import odoo_harness
import pytest
import yaml

pytestmark = [pytest.mark.odoo]

SETUP = """
env["logistics.slo"].create([
    {"name": "POD success", "workflow": "pod_sync", "sli_type": "success_ratio", "objective": %(objective)s},
    {"name": "Dispatch 10 s", "workflow": "dispatch", "sli_type": "latency", "threshold": 10,
     "objective": 0.99},
])
env.cr.commit()
"""


def slo_rules(*args):
    cmd = [
        *odoo_harness.odoo_cmd(),
        "--addons-path=" + odoo_harness.addons_path(),
        "slo_rules",
        "--db_host=" + odoo_harness.PG["host"],
        "--db_port=%s" % odoo_harness.PG["port"],
        "--db_user=" + odoo_harness.PG["user"],
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=odoo_harness.ROOT)


def test_slo_rules_command(base_template, make_db, tmp_path):
    dbs = [make_db(base_template, "lotest_slocli_%s" % x) for x in ("a", "b")]
    for db, objective in zip(dbs, (0.995, 0.98), strict=False):
        proc = odoo_harness.run_shell(db, SETUP % {"objective": objective})
        assert proc.returncode == 0, proc.stdout[-3000:]
    out = tmp_path / "rules" / "slo.yml"
    tests = tmp_path / "tests" / "slo_test.yml"
    args = [
        "-d",
        dbs[0],
        "-d",
        dbs[1],
        "-o",
        str(out),
        "--tests",
        str(tests),
        "--openslo",
        str(tmp_path / "openslo.yml"),
        "--alertmanager",
        str(tmp_path / "am.yml"),
    ]
    if shutil.which("promtool"):
        args.append("--verify")
    proc = slo_rules(*args)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "6 definitions, 3 distinct SLOs" in proc.stderr  # the default cron SLO is shared too
    rules = yaml.safe_load(out.read_text())
    exprs = "\n".join(r.get("expr", "") for g in rules["groups"] for r in g["rules"])
    assert 'slo="pod_sync_success_ratio"' in exprs and 'slo="dispatch_latency_10s"' in exprs
    assert yaml.safe_load(tests.read_text())["rule_files"] == ["../rules/slo.yml"]
    docs = list(yaml.safe_load_all((tmp_path / "openslo.yml").read_text()))
    targets = {
        (d["spec"]["service"], d["metadata"]["labels"]["slo"][0]): d["spec"]["objectives"][0]["target"]
        for d in docs
    }
    assert targets[(dbs[0], "pod_sync_success_ratio")] == 0.995
    assert targets[(dbs[1], "pod_sync_success_ratio")] == 0.98

    # a definition that slipped past the UI (written by SQL) is refused, naming tenant and reason
    with odoo_harness.pg_connect(dbs[1]) as conn, conn.cursor() as cr:
        cr.execute("UPDATE logistics_slo SET objective = 0.9 WHERE workflow = 'pod_sync'")
    proc = slo_rules("-d", dbs[1], "-o", str(tmp_path / "bad.yml"))
    assert proc.returncode == 2
    assert "%s: SLO 'POD success' refused" % dbs[1] in proc.stderr
    assert "can never fire the page_fast alert" in proc.stderr
