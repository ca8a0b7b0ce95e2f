"""Generated Prometheus rules: promtool check rules / test rules, Alertmanager snippet."""

import re
import shutil
import subprocess

import pytest
import yaml

from logistics_slo.core import promtool_tests, rules, slo_math

PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
needs_promtool = pytest.mark.skipif(not PROMTOOL, reason="promtool not installed (Debian package prometheus)")

DEFINITIONS = [
    {"workflow": "order_release", "sli_type": "success_ratio", "objective": 0.995},
    {
        "workflow": "dispatch",
        "sli_type": "latency",
        "threshold": 10,
        "objective": 0.99,
        "first_action": "Check {{ stock }} locks",
        "runbook_url": "https://runbooks.example/dispatch",
    },
    {"workflow": "pod_sync", "sli_type": "freshness", "threshold": 14400, "objective": 0.95},
    # a changed minimum traffic is exported and joined; the others use the rules' default
    {"workflow": "invoicing", "sli_type": "success_ratio", "objective": 0.995, "min_events": 50},
    {"workflow": "cron", "sli_type": "cron_on_time", "threshold": 300, "objective": 0.99, "window_days": 7},
]


def promtool(*args, cwd):
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600
    )


def write(tmp_path, definitions, mutate=None):
    text = rules.render_rules(definitions)
    if mutate:
        text = mutate(text)
    (tmp_path / "rules.yml").write_text(text)
    (tmp_path / "tests.yml").write_text(promtool_tests.render_tests(definitions, "rules.yml"))
    return text


def test_rule_structure():
    doc = rules.rule_groups(DEFINITIONS)
    recording = [r for g in doc["groups"] for r in g["rules"] if "record" in r]
    alerts = [r for g in doc["groups"] for r in g["rules"] if "alert" in r]
    assert all(re.match(r"^[a-z_]+:[a-z_]+:[a-z0-9_]+$", r["record"]) for r in recording)
    # long windows are built from recorded short-window rates
    by_name = {r["record"]: r["expr"] for r in recording}
    assert by_name["tenant_slo:odoo_slo_events:rate1d"].startswith(
        "avg_over_time(tenant_slo:odoo_slo_events:rate5m[1d:5m])"
    )
    assert "tenant_slo:odoo_slo_events:rate30m[3d:30m]" in by_name["tenant_slo:odoo_slo_events:rate3d"]
    burn = [a for a in alerts if a["alert"] == rules.ALERT_BURN]
    assert len(burn) == 4 * len(DEFINITIONS)  # one rule per tier
    windows = {
        (a["labels"]["burn_tier"], a["labels"]["long_window"], a["labels"]["short_window"]) for a in burn
    }
    assert windows == {
        ("page", "1h", "5m"),
        ("page", "6h", "30m"),
        ("ticket", "1d", "2h"),
        ("ticket", "3d", "6h"),
    }
    page = next(a for a in burn if a["labels"]["long_window"] == "1h" and "order_release" in a["expr"])
    assert "> 13.44" in page["expr"] and "tenant_slo:odoo_slo_min_events:count" in page["expr"]
    # a 7-day window scales the factors: 0.02 * 7 * 24 = 3.36
    cron_page = next(a for a in burn if a["labels"]["long_window"] == "1h" and 'slo="cron' in a["expr"])
    assert "> 3.36" in cron_page["expr"]
    ann = next(a for a in burn if "dispatch" in a["expr"])["annotations"]
    assert (
        ann["tenant"] == "{{ $labels.tenant }}" and ann["runbook_url"] == "https://runbooks.example/dispatch"
    )
    assert ann["first_action"] == "Check { { stock } } locks"  # user text cannot inject templates
    assert "PostgreSQL" in ann["probable_dependency"]
    # objectives come from the per-tenant metric, never from the rule text
    assert "0.995" not in rules.render_rules(DEFINITIONS)
    assert "odoo_slo_objective_ratio" in by_name["tenant_slo:odoo_slo_objective:ratio"]


def test_refuses_bad_definition_with_message():
    with pytest.raises(slo_math.SloDefinitionError, match="can never fire"):
        rules.render_rules([{"workflow": "dispatch", "sli_type": "success_ratio", "objective": 0.9}])
    with pytest.raises(slo_math.SloDefinitionError, match="bucket bound"):
        rules.render_rules(
            [{"workflow": "dispatch", "sli_type": "latency", "threshold": 3, "objective": 0.99}]
        )


@needs_promtool
def test_promtool_check_and_generated_tests_pass(tmp_path):
    write(tmp_path, DEFINITIONS)
    check = promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert check.returncode == 0, check.stdout
    assert "SUCCESS" in check.stdout
    doc = yaml.safe_load((tmp_path / "tests.yml").read_text())
    names = [t["name"] for t in doc["tests"]]
    for defn in DEFINITIONS:
        key = slo_math.normalize(defn)["key"]
        for scenario in (
            "fast burn pages",
            "slow burn opens only tickets",
            "healthy traffic fires nothing",
            "traffic under the minimum fires nothing",
            "absent data fires the no-data alert",
        ):
            assert "%s: %s" % (key, scenario) in names
    fast = next(t for t in doc["tests"] if t["name"].endswith("fast burn pages"))
    fired = [
        a["exp_labels"]["burn_tier"]
        for c in fast["alert_rule_test"]
        for a in c["exp_alerts"]
        if a["exp_labels"]["tenant"] == promtool_tests.TENANT_A
    ]
    assert fired == ["page"]
    slow = next(t for t in doc["tests"] if t["name"].endswith("slow burn opens only tickets"))
    fired = sorted(
        a["exp_labels"]["long_window"]
        for c in slow["alert_rule_test"]
        for a in c["exp_alerts"]
        if a["exp_labels"]["tenant"] == promtool_tests.TENANT_A
    )
    assert fired == ["1d", "3d"]
    test = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert test.returncode == 0, test.stdout[-4000:]


@needs_promtool
@pytest.mark.parametrize(
    "mutation, expect",
    [
        # a page factor twice too high: the fast burn no longer pages
        (lambda t: t.replace("> 13.44", "> 26.88"), "fast burn pages"),
        # no minimum-traffic guard: the low-traffic outage alerts
        (
            lambda t: t.replace(
                "tenant_slo:odoo_slo_min_events:count{slo=", "0 * tenant_slo:odoo_slo_min_events:count{slo="
            ),
            "traffic under the minimum fires nothing",
        ),
    ],
)
def test_generated_tests_catch_broken_rules(tmp_path, mutation, expect):
    defs = DEFINITIONS[:1]
    text = write(tmp_path, defs, mutate=mutation)
    assert text != rules.render_rules(defs), "mutation did not apply"
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert expect in result.stdout


@pytest.mark.skipif(not AMTOOL, reason="amtool not installed (Debian package prometheus-alertmanager)")
def test_alertmanager_inhibition_snippet(tmp_path):
    snippet = yaml.safe_load(rules.render_alertmanager_inhibition())
    config = {"route": {"receiver": "null"}, "receivers": [{"name": "null"}], **snippet}
    (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [AMTOOL, "check-config", str(tmp_path / "am.yml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout
    first = snippet["inhibit_rules"][0]
    assert 'burn_tier="page"' in first["source_matchers"] and 'burn_tier="ticket"' in first["target_matchers"]
    assert first["equal"] == ["tenant", "slo"]
