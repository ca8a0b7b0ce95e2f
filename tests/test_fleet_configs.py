"""The shipped fleet configs (deploy/fleet/) and their native renderer (deploy/render_fleet.py),
offline: rendering, the taxonomy and dedup invariants, vmalert's and promtool's own checks."""

import shutil
import subprocess

import fleet_stack
import odoo_harness
import pytest
import yaml

FLEET = odoo_harness.ROOT / "deploy" / "fleet"
LOCAL = (
    "--address",
    "victoriametrics:8428=127.0.0.1:8428",
    "--address",
    "vmalert:8880=127.0.0.1:8880",
    "--address",
    "alertmanager:9093=127.0.0.1:9093",
)


def test_vmagent_config_carries_the_taxonomy_and_nothing_agent_specific():
    conf = yaml.safe_load((FLEET / "vmagent.yml").read_text())
    assert set(conf["global"]["external_labels"]) == {"environment", "region", "cluster"}
    (job,) = conf["scrape_configs"]
    (static,) = job["static_configs"]
    assert static["labels"] == {"instance": "%{ODOO_INSTANCE}"}
    assert static["targets"] == ["%{ODOO_METRICS_TARGET}"]
    agent = yaml.safe_load((FLEET / "prometheus-agent.yml").read_text())
    assert agent["global"]["external_labels"].keys() == conf["global"]["external_labels"].keys()
    assert agent["global"]["scrape_interval"] == conf["global"]["scrape_interval"]


def test_dedup_interval_is_the_scrape_interval():
    conf = yaml.safe_load((FLEET / "vmagent.yml").read_text())
    flags = dict(line.split("=", 1) for line in fleet_stack.read_shipped_args("victoria-metrics"))
    assert flags["-dedup.minScrapeInterval"] == conf["global"]["scrape_interval"]


def test_render_maps_addresses_paths_and_time_scale(tmp_path):
    proc = fleet_stack.render(tmp_path, *LOCAL, "--agent", "odoo-1=127.0.0.1:9464", "--time-scale", "15")
    assert proc.returncode == 0, proc.stderr
    vm = fleet_stack.rendered_args(tmp_path, "victoria-metrics")
    assert "-dedup.minScrapeInterval=1s" in vm and "-search.latencyOffset=1s" in vm
    vmalert = fleet_stack.rendered_args(tmp_path, "vmalert")
    assert "-rule=%s/rules/*.rules.yml" % tmp_path in vmalert
    assert "-notifier.url=http://127.0.0.1:9093" in vmalert and "-evaluationInterval=2s" in vmalert
    vmagent = fleet_stack.rendered_args(tmp_path, "vmagent")
    assert "-promscrape.config=%s/vmagent.yml" % tmp_path in vmagent
    assert "-remoteWrite.url=http://127.0.0.1:8428/api/v1/write" in vmagent
    conf = yaml.safe_load((tmp_path / "vmagent.yml").read_text())
    assert conf["global"]["scrape_interval"] == "1s"
    assert conf["scrape_configs"][0]["authorization"]["credentials_file"] == str(
        tmp_path / "secrets" / "odoo_metrics_token"
    )
    agent = yaml.safe_load((tmp_path / "prometheus-agent-odoo-1.yml").read_text())
    assert agent["scrape_configs"][0]["static_configs"] == [
        {"targets": ["127.0.0.1:9464"], "labels": {"instance": "odoo-1"}}
    ]
    assert agent["remote_write"][0]["url"] == "http://127.0.0.1:8428/api/v1/write"
    assert sorted(p.name for p in (tmp_path / "rules").iterdir()) == sorted(
        p.name for p in (odoo_harness.ROOT / "deploy" / "prometheus" / "rules").glob("*.rules.yml")
    )


def test_render_refuses_bad_input(tmp_path):
    proc = fleet_stack.render(tmp_path, "--address", "victoriametrics:8428=127.0.0.1:1")
    assert proc.returncode == 2 and "no local address for" in proc.stderr, proc.stderr
    proc = fleet_stack.render(tmp_path, *LOCAL, "--address", "nowhere:1=127.0.0.1:2")
    assert proc.returncode == 2 and "nowhere:1" in proc.stderr, proc.stderr
    proc = fleet_stack.render(tmp_path, *LOCAL, "--agent", "odoo-1")
    assert proc.returncode == 2 and "NAME=HOST:PORT" in proc.stderr


@pytest.mark.skipif(not shutil.which("vmalert"), reason="vmalert not installed (scripts/bootstrap.sh)")
def test_vmalert_accepts_the_shipped_rules(tmp_path):
    proc = fleet_stack.render(tmp_path, *LOCAL)
    assert proc.returncode == 0, proc.stderr
    check = subprocess.run(
        ["vmalert", "-dryRun", "-rule=%s/rules/*.rules.yml" % tmp_path], capture_output=True, text=True
    )
    assert check.returncode == 0 and "fatal" not in check.stderr, check.stderr[-2000:]


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool not installed (scripts/bootstrap.sh)")
def test_promtool_accepts_the_prometheus_agent_config(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "odoo_metrics_token").write_text("x\n")
    proc = fleet_stack.render(tmp_path, *LOCAL, "--agent", "odoo-1=127.0.0.1:9464")
    assert proc.returncode == 0, proc.stderr
    check = subprocess.run(
        ["promtool", "check", "config", "--agent", str(tmp_path / "prometheus-agent-odoo-1.yml")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
