"""The shipped fleet configs (deploy/fleet/) and their native renderer (deploy/render_fleet.py),
offline: rendering, the taxonomy and dedup invariants, vmalert's and promtool's own checks."""

import shutil
import subprocess
from pathlib import Path

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


FLEET_COMPOSE = FLEET / "docker-compose.fleet.yml"
PER_DEPLOYMENT = ("-httpListenAddr=", "-storageDataPath=", "-remoteWrite.tmpDataPath=")
COMPONENT_OF = {"victoriametrics": "victoria-metrics", "vmalert": "vmalert"}


def _shipped_flags(command):
    return [flag for flag in command if not flag.startswith(PER_DEPLOYMENT)]


@pytest.fixture(scope="module")
def merged():
    """docker-compose.yml + deploy/fleet/docker-compose.fleet.yml as docker-compose merges them."""
    compose_bin = shutil.which("docker-compose")
    if not compose_bin:
        pytest.skip("docker-compose NOT INSTALLED (scripts/bootstrap.sh installs it): not validated")
    args = [compose_bin, "-f", "docker-compose.yml", "-f", str(FLEET_COMPOSE.relative_to(odoo_harness.ROOT))]
    check = subprocess.run([*args, "config", "-q"], capture_output=True, text=True, cwd=odoo_harness.ROOT)
    assert check.returncode == 0, check.stdout + check.stderr
    proc = subprocess.run([*args, "config"], capture_output=True, text=True, cwd=odoo_harness.ROOT)
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


def test_compose_fleet_uses_the_shipped_flags_and_files(merged):
    services = merged["services"]
    for service, component in COMPONENT_OF.items():
        assert _shipped_flags(services[service]["command"]) == fleet_stack.read_shipped_args(component)
    agents = {name: s for name, s in services.items() if name.startswith("vmagent-")}
    assert len(agents) == 4
    for service in agents.values():
        assert _shipped_flags(service["command"]) == fleet_stack.read_shipped_args("vmagent")
    # bind mounts resolve to the project's files (paths relative to the first compose file)
    binds = {}
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source, target = (
                (volume["source"], volume["target"]) if isinstance(volume, dict) else volume.split(":")[:2]
            )
            if source.startswith("/"):
                assert Path(source).exists(), (name, source)
                binds[(name, target)] = Path(source)
    assert binds[("vmalert", "/etc/vmalert/rules")] == odoo_harness.ROOT / "deploy" / "prometheus" / "rules"
    for name in agents:
        assert binds[(name, "/etc/vmagent/vmagent.yml")] == FLEET / "vmagent.yml"


def test_compose_agent_pairs_are_identical_and_name_their_instance(merged):
    services = merged["services"]
    agents = {name: s for name, s in services.items() if name.startswith("vmagent-")}
    pairs = {}
    for name, service in agents.items():
        pairs.setdefault(name.rsplit("-", 1)[0], []).append(service)
    assert sorted(pairs) == ["vmagent-odoo-1", "vmagent-odoo-2"]
    instances = set()
    for pair in pairs.values():
        a, b = pair
        assert a["environment"] == b["environment"] and a["command"] == b["command"]
        env = a["environment"]
        assert {"FLEET_ENVIRONMENT", "FLEET_REGION", "FLEET_CLUSTER"} <= set(env)
        host, port = env["ODOO_METRICS_TARGET"].split(":")
        assert host in services and port == "9127" and "9127" in services[host]["expose"]
        instances.add(env["ODOO_INSTANCE"])
    assert instances == {"odoo-1", "odoo-2"}
    # one metrics store per instance, never shared
    assert services["odoo-2"]["environment"]["ODOO_OBSERVABILITY_METRICS_DIR"].startswith(
        "/var/run/odoo-metrics/"
    )
    assert services["odoo-2"]["tmpfs"]
