"""Grafana dashboards: generated files in sync, well formed, every query valid PromQL
(checked by promtool) and built only from metrics the addons export or the rules record."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import promql_names
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
EXPECTED = {
    "platform-overview.json",
    "tenant.json",
    "workflows.json",
    "crons-queues.json",
    "postgres-redis.json",
    "backups.json",
    "slos.json",
    "security.json",
    "synthetic.json",
}


def load_generator():
    sys.path.insert(0, str(GRAFANA))
    try:
        import generate_dashboards
    finally:
        sys.path.pop(0)
    return generate_dashboards


def test_dashboards_are_generated_and_in_sync():
    files = {p.name for p in promql_names.dashboard_files()}
    assert files == EXPECTED
    for name, text in load_generator().render_all().items():
        assert (GRAFANA / "dashboards" / name).read_text() == text, (
            "%s is stale: run deploy/grafana/generate_dashboards.py" % name
        )


def test_dashboards_are_well_formed():
    uids = set()
    for path in promql_names.dashboard_files():
        board = json.loads(path.read_text())
        assert board["uid"] not in uids and len(board["uid"]) <= 40
        uids.add(board["uid"])
        assert board["title"].startswith("Odoo logistics")
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, (path.name, panel["title"])
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
            assert panel["targets"], (path.name, panel["title"])
        for variable in board["templating"]["list"]:
            assert variable["datasource"]["uid"] == "prometheus"
            assert variable["query"]["query"].startswith("label_values(")
            # every variable a query uses is defined
        defined = {v["name"] for v in board["templating"]["list"]}
        used = set(re.findall(r"\$(\w+)", path.read_text())) - {
            "__rate_interval",
            "__interval",
            "__range",
            "__all",
            "labels",
            "value",
        }
        assert used <= defined, (path.name, used - defined)


def test_every_dashboard_and_doc_query_is_valid_promql(tmp_path):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool NOT INSTALLED: dashboard queries not parsed")
    exprs = promql_names.dashboard_exprs()
    assert len(exprs) > 60
    docs = promql_names.doc_exprs()
    assert any(where[0] == "docs/DEPLOYMENT.md" for where in docs)
    exprs.update(docs)
    rules = [
        {"record": "dashboard:query_%d:check" % i, "expr": promql_names.grafana_substitute(expr)}
        for i, expr in enumerate(exprs.values())
    ]
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dashboards_and_rules_only_use_known_names():
    recorded = promql_names.recorded_names()
    sources = {
        **{("rules", *k): v for k, v in promql_names.rule_exprs().items()},
        **{("dashboard", *k): v for k, v in promql_names.dashboard_exprs().items()},
    }
    for where, expr in sources.items():
        for name in promql_names.metric_names(expr):
            known = name.startswith("odoo_") or name in recorded or name in promql_names.EXTERNAL
            assert known, (where, name)


def test_dashboards_cover_the_platform():
    used = set()
    for expr in promql_names.dashboard_exprs().values():
        used |= {promql_names.family(n) for n in promql_names.metric_names(expr)}
    for name in (
        "odoo_workflow_runs_total",
        "odoo_workflow_duration_seconds",
        "odoo_cron_lateness_seconds",
        "odoo_queue_oldest_pending_age_seconds",
        "odoo_pg_connections",
        "odoo_redis_memory_used_bytes",
        "odoo_backup_last_success_timestamp_seconds",
        "odoo_restore_test_last_success_timestamp_seconds",
        "odoo_slo_error_budget_remaining_ratio",
        "odoo_tenant_request_seconds_total",
        "odoo_workflow_start_delay_seconds",
        "odoo_auth_attempts_total",
        "odoo_privilege_changes_total",
        "odoo_endpoint_auth_failures_total",
    ):
        assert name in used, name


def test_promql_name_extraction():
    expr = (
        'sum by (tenant) (rate(odoo_a_total{x="y",t=~"$tenant"}[5m] offset 1d)) / on () group_left () '
        "(max(pg_settings_max_connections) or vector(100)) > 1e3 and histogram_quantile(0.95, "
        "sum by (le) (rate(odoo_b_seconds_bucket[$__rate_interval]))) unless tenant:odoo_c:rate5m"
    )
    assert promql_names.metric_names(expr) == {
        "odoo_a_total",
        "pg_settings_max_connections",
        "odoo_b_seconds_bucket",
        "tenant:odoo_c:rate5m",
    }
    assert promql_names.family("odoo_b_seconds_bucket") == "odoo_b_seconds"


def test_latency_panels_show_exemplars_linking_to_logs():
    """Every timeseries on an exemplar-carrying histogram asks for exemplars; the datasource
    turns their trace_id into a log link; the compose Prometheus stores them."""
    gen = load_generator()
    seen = 0
    for path in promql_names.dashboard_files():
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                latency = any(h in target["expr"] for h in gen.EXEMPLAR_HISTOGRAMS)
                if panel["type"] == "timeseries" and latency:
                    assert target.get("exemplar") is True, (path.name, panel["title"])
                    seen += 1
                else:
                    assert "exemplar" not in target, (path.name, panel["title"])
    assert seen >= 7
    ds = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    prom = next(d for d in ds["datasources"] if d["type"] == "prometheus")
    # the link to the trace itself (Tempo) is checked in test_deploy_traces.py
    [dest] = [d for d in prom["jsonData"]["exemplarTraceIdDestinations"] if "url" in d]
    assert dest["name"] == "trace_id" and dest["url"].endswith("$${__value.raw}")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "--enable-feature=exemplar-storage" in compose["services"]["prometheus"]["command"]
    assert "LOGS_TRACE_URL" in compose["services"]["grafana"]["environment"]
