"""The test tiers hold (tests/conftest.py, docs/DESIGN.md "Test tiers"): a test outside tests/odoo/
cannot start Odoo, the folder gives the marker, and no test module sits outside a tier folder."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import conftest
import odoo_harness
import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"


def test_the_harness_refuses_to_start_odoo_outside_tests_odoo():
    """This test is in tests/unit: every harness helper that starts Odoo fails it, before any
    process starts."""
    server = odoo_harness.OdooServer()
    try:
        with pytest.raises(pytest.fail.Exception, match=r"OdooServer\.start.*not under tests/odoo/"):
            server.start()
        assert server.proc is None, "no process was started"
    finally:
        server.cleanup()
    starts = {
        "run_shell": lambda: odoo_harness.run_shell("lotest_never", "print(1)"),
        "template_db": lambda: odoo_harness.template_db(["base"]),
        "run_odoo": lambda: odoo_harness.run_odoo(["--version"]),
        "odoo_cmd": odoo_harness.odoo_cmd,
        "odoo_venv": odoo_harness.odoo_venv,
    }
    for name, start in starts.items():
        with pytest.raises(pytest.fail.Exception, match=r"test_tiers\.py::.* starts Odoo \(%s" % name):
            start()


def test_the_guard_is_the_only_thing_in_the_way():
    """With the flag of a tests/odoo/ test, the same helper answers (the guard bites on the tier,
    not on anything else)."""
    try:
        odoo_harness.guard_odoo(True, "tests/odoo/test_x.py::test_x")
        assert odoo_harness.odoo_cmd()
    finally:
        odoo_harness.guard_odoo(False, os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0])
    with pytest.raises(pytest.fail.Exception):
        odoo_harness.odoo_cmd()


def test_tier_of_a_path():
    assert conftest.tier_of(TESTS / "unit" / "test_x.py") == "unit"
    assert conftest.tier_of(TESTS / "services" / "test_x.py") == "services"
    assert conftest.tier_of(TESTS / "odoo" / "test_x.py") == "odoo"
    assert conftest.tier_of(TESTS / "test_x.py") is None
    assert conftest.tier_of(TESTS / "other" / "test_x.py") is None
    assert conftest.tier_of(ROOT / "addons" / "test_x.py") is None


def _item(path, *markers):
    return SimpleNamespace(
        path=Path(path),
        nodeid=str(Path(path).relative_to(ROOT)) + "::test_x",
        get_closest_marker=lambda name: name if name in markers else None,
    )


def test_misplaced_tests_are_refused():
    assert (
        conftest.tier_problems(
            [_item(TESTS / "unit" / "test_a.py"), _item(TESTS / "odoo" / "test_b.py", "odoo")]
        )
        == []
    )
    problems = conftest.tier_problems(
        [_item(TESTS / "test_flat.py"), _item(TESTS / "services" / "test_c.py", "odoo")]
    )
    assert problems == [
        "tests/test_flat.py::test_x: test modules live in tests/unit, tests/services or tests/odoo",
        "tests/services/test_c.py::test_x: marked odoo but under tests/services (move it to tests/odoo)",
    ]


PLUGIN = """
def pytest_collection_finish(session):
    for item in session.items:
        marks = sorted({m.name for m in item.iter_markers()} & {"odoo", "services"})
        print("TIER", item.nodeid, ",".join(marks) or "-")
"""


def test_the_folder_gives_the_marker(tmp_path):
    """Every test under tests/odoo/ is marked ``odoo``, every one under tests/services/ ``services``,
    and no other test is: the fast lane ``-m "not odoo"`` holds no test that starts Odoo."""
    (tmp_path / "tier_markers.py").write_text(PLUGIN)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tier_markers",
            "tests",
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [line[5:].rsplit(" ", 1) for line in proc.stdout.splitlines() if line.startswith("TIER ")]
    assert len(rows) > 100
    expected = {"unit": "-", "services": "services", "odoo": "odoo"}
    wrong = [(node, marks) for node, marks in rows if marks != expected[node.split("/")[1]]]
    assert not wrong, wrong
    assert {node.split("/")[1] for node, _marks in rows} == set(expected)
