"""Offline validation of the compose stack: Prometheus, Alertmanager, rules, compose, Traefik, Odoo image,
and the nginx proxy that routes as Traefik does where Docker is not (the demo).

Uses the real tools (promtool, amtool, docker-compose, nginx); a missing tool skips its test loudly.
Running the stack needs a Docker host (see docs/DEPLOYMENT.md).
"""

import configparser
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "rules"
COMPOSE = ROOT / "docker-compose.yml"


def tool(name):
    path = shutil.which(name)
    if not path:
        pytest.skip("%s NOT INSTALLED (scripts/bootstrap.sh installs it): not validated" % name)
    return path


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


# services whose image has no shell or HTTP client to probe itself from inside (their health is
# probed from outside on Kubernetes); nothing waits for them to be healthy
NO_HEALTH_CHECK = {"otel-collector"}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def test_prometheus_config_passes_promtool(tmp_path):
    """prometheus.yml as the container sees it: secret and rule paths mapped into a temp dir."""
    promtool = tool("promtool")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "odoo_metrics_token").write_text("t0ken\n")
    shutil.copytree(RULES, tmp_path / "rules")
    text = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    assert "/run/secrets/odoo_metrics_token" in text and "/etc/prometheus/rules/*.rules.yml" in text
    text = text.replace("/run/secrets/", str(secrets) + "/")
    text = text.replace("/etc/prometheus/rules/", str(tmp_path / "rules") + "/")
    conf = tmp_path / "prometheus.yml"
    conf.write_text(text)
    proc = run([promtool, "check", "config", str(conf)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # every shipped rule file was found through the glob and checked
    for path in RULES.glob("*.rules.yml"):
        assert path.name in proc.stdout + proc.stderr


def test_prometheus_config_scrapes_the_stack(compose):
    conf = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in conf["scrape_configs"]}
    assert {"odoo", "traefik", "postgres", "redis"} <= set(jobs)
    odoo = jobs["odoo"]
    assert odoo["authorization"] == {"type": "Bearer", "credentials_file": "/run/secrets/odoo_metrics_token"}
    # each target is a compose service on a port it listens on
    odoo_conf = configparser.ConfigParser()
    odoo_conf.read(DEPLOY / "odoo" / "odoo.conf")
    ports = {
        "odoo": odoo_conf["options"]["observability_metrics_port"],
        "traefik": "8082",
        "postgres-exporter": "9187",
        "redis-exporter": "9121",
        "alertmanager": "9093",
        "localhost": "9090",
        "blackbox-exporter": "9115",
    }
    probes = [job for job in conf["scrape_configs"] if job.get("metrics_path") == "/probe"]
    assert [job["job_name"] for job in probes] == ["blackbox", "synthetic"]
    for job in conf["scrape_configs"]:
        if "file_sd_configs" in job:  # the tenants' checks: see test_synthetic_targets_service_*
            assert "static_configs" not in job
            continue
        targets = list(job["static_configs"][0]["targets"])
        if job in probes:  # targets are probed URLs; the exporter's address comes by relabelling
            assert [
                r["replacement"] for r in job["relabel_configs"] if r["target_label"] == "__address__"
            ] == ["blackbox-exporter:9115"]
            assert all(t.startswith("http://odoo:8069/") for t in targets), targets
            targets = ["blackbox-exporter:9115"]
        for target in targets:
            host, port = target.split(":")
            assert host == "localhost" or host in compose["services"], target
            assert ports[host] == port, target
    assert "odoo_metrics_token" in compose["services"]["prometheus"]["secrets"]
    assert conf["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]


def test_rule_files_pass_promtool_check():
    promtool = tool("promtool")
    files = sorted(str(p) for p in RULES.glob("*.rules.yml"))
    assert {Path(f).name for f in files} >= {"platform.rules.yml", "slo.rules.yml"}
    proc = run([promtool, "check", "rules", *files])
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("tests_file", ["platform.tests.yml", "platform.long.tests.yml"])
def test_platform_alert_unit_tests_pass(tests_file):
    promtool = tool("promtool")
    proc = run([promtool, "test", "rules", tests_file], cwd=RULES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_platform_alert_unit_tests_can_fail(tmp_path):
    """The unit tests bite: raising a threshold makes them fail."""
    promtool = tool("promtool")
    rules = (RULES / "platform.rules.yml").read_text()
    broken = rules.replace(
        "max by (tenant, cron) (odoo_cron_lateness_seconds) > 1800",
        "max by (tenant, cron) (odoo_cron_lateness_seconds) > 18000",
    )
    assert broken != rules
    (tmp_path / "platform.rules.yml").write_text(broken)
    shutil.copy(RULES / "platform.tests.yml", tmp_path)
    proc = run([promtool, "test", "rules", "platform.tests.yml"], cwd=tmp_path)
    assert proc.returncode != 0 and "OdooCronLate" in proc.stdout + proc.stderr


def test_every_platform_alert_is_complete_and_tested():
    doc = yaml.safe_load((RULES / "platform.rules.yml").read_text())
    tested = set(
        re.findall(
            r"alertname: (\w+)",
            (RULES / "platform.tests.yml").read_text() + (RULES / "platform.long.tests.yml").read_text(),
        )
    )
    alerts = [r for g in doc["groups"] for r in g["rules"] if "alert" in r]
    assert len(alerts) >= 20
    for rule in alerts:
        assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]
        assert {
            "summary",
            "description",
            "tenant",
            "blast_radius",
            "probable_dependency",
            "first_action",
        } <= set(rule["annotations"]), rule["alert"]
        assert rule["alert"] in tested, "%s has no promtool unit test" % rule["alert"]
    names = {r["alert"] for r in alerts}
    # what the platform must watch (issue: workflows, crons, queues, backups, WAL, replicas,
    # Redis, PostgreSQL connections, noisy neighbours, releases)
    assert {
        "OdooWorkflowFailureSpike",
        "OdooCronBacklog",
        "OdooCronFailing",
        "OdooQueueJobsStuck",
        "OdooBackupStale",
        "OdooRestoreDrillOverdue",
        "OdooWalArchivingFailing",
        "OdooPostgresReplicationLag",
        "OdooRedisMemoryPressure",
        "OdooRedisEvictions",
        "OdooPostgresConnectionSaturation",
        "OdooNoisyNeighbour",
        "OdooReleaseErrorRegression",
    } <= names
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                assert re.fullmatch(r"[a-z_]*:[a-z0-9_]+:[a-z0-9_]+", rule["record"]), rule["record"]


def test_alertmanager_config_and_routing():
    amtool = tool("amtool")
    conf = DEPLOY / "alertmanager" / "alertmanager.yml"
    proc = run([amtool, "check-config", str(conf)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for labels, receiver in (
        (["severity=page", "tenant=acme"], "page"),
        (["severity=ticket"], "ticket"),
        (["alertname=Other"], "ticket"),
    ):
        proc = run([amtool, "config", "routes", "test", "--config.file=%s" % conf, *labels])
        assert proc.stdout.strip() == receiver, (labels, proc.stdout, proc.stderr)


def test_alertmanager_carries_the_slo_inhibition_snippet():
    from logistics_slo.core import rules as slo_rules

    conf = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    for rule in slo_rules.alertmanager_inhibition()["inhibit_rules"]:
        assert rule in conf["inhibit_rules"], rule


def test_compose_file_validates_with_docker_compose(tmp_path):
    compose_bin = tool("docker-compose")
    proc = run([compose_bin, "-f", str(COMPOSE), "config", "-q"], cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # ... and the validator rejects a typo
    broken = COMPOSE.read_text().replace("healthcheck:", "healthchek:", 1)
    (tmp_path / "docker-compose.yml").write_text(broken)
    proc = run([compose_bin, "-f", str(tmp_path / "docker-compose.yml"), "config", "-q"], cwd=tmp_path)
    assert proc.returncode != 0 and "healthchek" in proc.stdout + proc.stderr


def _mounts(service):
    """{container path: source} of a compose service's short-syntax volumes."""
    out = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        out[target] = source
    return out


def _volume_path(service, volume, path):
    """``path`` (in ``service``) lies in the named ``volume``: its path inside the volume."""
    for target, source in _mounts(service).items():
        if source == volume and path.startswith(target.rstrip("/") + "/"):
            return path[len(target.rstrip("/")) + 1 :]
    raise AssertionError("%s is not in volume %s: %s" % (path, volume, service.get("volumes")))


def test_synthetic_targets_service_feeds_prometheus_and_the_exporter(compose):
    """The file the synthetic-targets service writes is the one Prometheus' synthetic job reads,
    its modules file is the blackbox exporter's configuration, and the exporter it reloads is the
    one the job probes through."""
    services = compose["services"]
    writer, exporter, prometheus = (
        services["synthetic-targets"],
        services["blackbox-exporter"],
        services["prometheus"],
    )
    words = " ".join(writer["command"]).split()
    assert words[words.index("exec") + 1 :][:3] == [
        "odoo",
        "--addons-path=/mnt/extra-addons",
        "synthetic_targets",
    ]
    opts = {words[i]: words[i + 1] for i, w in enumerate(words) if w.startswith("-") and i + 1 < len(words)}
    assert writer["image"] == services["odoo"]["image"] and writer["build"] == services["odoo"]["build"]
    assert "db_password" in writer["secrets"] and writer["environment"]["PGPASSWORD_FILE"]
    assert float(opts["--every"]) >= 5
    # targets: written in the volume, read by the synthetic job through Prometheus' mount of it
    conf = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in conf["scrape_configs"] if j["job_name"] == "synthetic")
    (read,) = [f for sd in job["file_sd_configs"] for f in sd["files"]]
    assert _volume_path(writer, "synthetic", opts["-o"]) == _volume_path(prometheus, "synthetic", read)
    # modules: the exporter's configuration, with the platform's own modules merged in
    config = next(a.split("=", 1)[1] for a in exporter["command"] if a.startswith("--config.file="))
    assert _volume_path(writer, "synthetic", opts["--blackbox"]) == _volume_path(
        exporter, "synthetic", config
    )
    assert _mounts(writer)[opts["--blackbox-base"]] == "./deploy/blackbox/blackbox.yml"
    assert exporter["depends_on"]["synthetic-targets"]["condition"] == "service_healthy"
    # the exporter that is reloaded is the one probing: same service and port as the relabelling
    (address,) = [r["replacement"] for r in job["relabel_configs"] if r.get("target_label") == "__address__"]
    assert opts["--reload-url"] == "http://%s/-/reload" % address
    assert {"__param_target", "__param_module"} <= {r.get("target_label") for r in job["relabel_configs"]}
    assert "synthetic" in compose["volumes"]


def test_compose_services_health_order_and_secrets(compose):
    services = compose["services"]
    assert {
        "odoo",
        "postgres",
        "redis",
        "traefik",
        "prometheus",
        "alertmanager",
        "grafana",
        "postgres-exporter",
        "redis-exporter",
        "blackbox-exporter",
        "synthetic-targets",
        "otel-collector",
        "tempo",
    } <= set(services)
    for name, svc in services.items():
        check = svc.get("healthcheck", {}).get("test")
        if name in NO_HEALTH_CHECK:
            assert check == ["NONE"], name
            continue
        assert check and check != ["NONE"], "%s has no health check" % name
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, (name, dep)
            assert cond["condition"] in ("service_healthy", "service_started"), (name, dep)
            assert dep not in NO_HEALTH_CHECK or cond["condition"] == "service_started", (name, dep)
    assert services["odoo"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    assert services["prometheus"]["depends_on"]["odoo"]["condition"] == "service_healthy"
    # secrets come from gitignored files with committed templates, never inline
    for name, secret in compose["secrets"].items():
        path = ROOT / secret["file"]
        assert path.parent == DEPLOY / "secrets"
        assert (path.parent / (path.name + ".example")).is_file(), name
    ignore = (DEPLOY / "secrets" / ".gitignore").read_text().split()
    assert "*" in ignore and "!*.example" in ignore
    text = COMPOSE.read_text()
    secret_value = re.compile(r"(?i)(password|token)\s*[:=]\s*['\"]?[A-Za-z0-9]{6,}")
    assert not secret_value.search(text.replace("_FILE", "")), "a secret value in docker-compose.yml"
    odoo = services["odoo"]
    assert odoo["build"]["dockerfile"] == "deploy/odoo/Dockerfile"
    assert odoo["environment"]["ODOO_OBSERVABILITY_METRICS_TOKEN_FILE"] == "/run/secrets/odoo_metrics_token"
    assert "9127" in [str(p) for p in odoo["expose"]]
    assert "ports" not in odoo, "Odoo is reached through Traefik only"
    for name in ("prometheus", "grafana", "alertmanager", "otel-collector", "tempo"):
        assert all(str(p).startswith("127.0.0.1:") for p in services[name]["ports"]), name


def test_odoo_image_and_config():
    dockerfile = (DEPLOY / "odoo" / "Dockerfile").read_text()
    assert re.search(r"^FROM odoo:18\b", dockerfile, re.M)
    assert "COPY --chown=odoo:odoo addons/ /mnt/extra-addons/" in dockerfile
    assert "requirements.txt" in dockerfile and "HEALTHCHECK" in dockerfile
    conf = configparser.ConfigParser()
    conf.read(DEPLOY / "odoo" / "odoo.conf")
    opts = conf["options"]
    assert "logistics_observability" in opts["server_wide_modules"].split(",")
    assert int(opts["workers"]) >= 2 and int(opts["max_cron_threads"]) >= 1
    assert opts["observability_metrics_interface"] == "0.0.0.0"
    assert opts["proxy_mode"] == "True"
    assert "db_password" not in opts and "observability_metrics_token" not in opts
    proc = run(["bash", "-n", str(DEPLOY / "odoo" / "entrypoint.sh")])
    assert proc.returncode == 0, proc.stderr
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignore and "deploy/secrets" in ignore


def test_entrypoint_reads_secret_files(tmp_path):
    """The entrypoint turns *_FILE secrets into environment variables, then runs the command."""
    (tmp_path / "pw").write_text("s3cret\n")
    (tmp_path / "tok").write_text("tok3n")
    proc = run(
        [
            "bash",
            str(DEPLOY / "odoo" / "entrypoint.sh"),
            "sh",
            "-c",
            'printf "%s|%s" "$PGPASSWORD" "$ODOO_OBSERVABILITY_METRICS_TOKEN"',
        ],
        env={
            "PATH": "/usr/bin:/bin",
            "PGPASSWORD_FILE": str(tmp_path / "pw"),
            "ODOO_OBSERVABILITY_METRICS_TOKEN_FILE": str(tmp_path / "tok"),
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "s3cret|tok3n"
    proc = run(
        ["bash", str(DEPLOY / "odoo" / "entrypoint.sh"), "true"],
        env={"PATH": "/usr/bin:/bin", "PGPASSWORD_FILE": str(tmp_path / "missing")},
    )
    assert proc.returncode == 2 and "PGPASSWORD_FILE" in proc.stderr and "s3cret" not in proc.stderr


def test_traefik_routes_tenants_and_logs_json():
    static = yaml.safe_load((DEPLOY / "traefik" / "traefik.yml").read_text())
    dynamic = yaml.safe_load((DEPLOY / "traefik" / "dynamic.yml").read_text())
    assert static["accessLog"]["format"] == "json"
    assert static["accessLog"]["fields"]["headers"]["names"]["X-Request-Id"] == "keep"
    assert static["metrics"]["prometheus"]["entryPoint"] == "metrics"
    assert static["entryPoints"]["metrics"]["address"] == ":8082"
    routers = dynamic["http"]["routers"]
    host_re = re.search(r"HostRegexp\(`(.*?)`\)", routers["odoo"]["rule"]).group(1).replace("\\\\", "\\")
    for host in ("acme.example.com", "beta.localhost", "acme"):
        assert re.match(host_re, host), host
    assert dynamic["http"]["services"]["odoo"]["loadBalancer"]["servers"][0]["url"] == "http://odoo:8069"
    assert (
        dynamic["http"]["services"]["odoo-websocket"]["loadBalancer"]["servers"][0]["url"]
        == "http://odoo:8072"
    )
    blocked = routers["odoo-metrics-blocked"]
    assert "/metrics" in blocked["rule"] and blocked["priority"] > 1000


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with the headers it received, as JSON."""

    def do_GET(self):
        body = json.dumps({"path": self.path, "port": self.server.server_address[1], **self.headers}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nginx_proxy_routes_as_traefik(tmp_path):
    """deploy/nginx/odoo.conf rendered for a local nginx (deploy/render_native.py --proxy, as the
    demo runs it): `nginx -t` passes and a real nginx routes as Traefik does: the tenants' hosts
    (the same pattern) to Odoo's HTTP port with the client's host kept, /websocket upgraded to the
    gevent port, X-Forwarded-* set by the proxy (a client's own replaced, for Odoo's proxy_mode),
    other hosts refused, one JSON access-log line per request."""
    nginx = shutil.which("nginx", path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin")
    if not nginx:
        pytest.skip("nginx NOT INSTALLED (scripts/bootstrap.sh installs it): not validated")
    dynamic = yaml.safe_load((DEPLOY / "traefik" / "dynamic.yml").read_text())
    traefik_hosts = re.search(r"HostRegexp\(`(.*?)`\)", dynamic["http"]["routers"]["odoo"]["rule"]).group(1)
    shipped = (DEPLOY / "nginx" / "odoo.conf").read_text()
    nginx_hosts = re.search(r'server_name "~(.*?)";', shipped).group(1)
    assert nginx_hosts == traefik_hosts, (nginx_hosts, traefik_hosts)
    backends = [ThreadingHTTPServer(("127.0.0.1", 0), _Echo) for _ in range(2)]
    http_port, ws_port = (b.server_address[1] for b in backends)
    proxy_port = _free_port()
    out = tmp_path / "out"
    mapped = [
        "--address=%s" % a
        for a in (
            "odoo:9127=127.0.0.1:1",
            "odoo:8069=127.0.0.1:%d" % http_port,
            "postgres-exporter:9187=127.0.0.1:2",
            "redis-exporter:9121=127.0.0.1:3",
            "blackbox-exporter:9115=127.0.0.1:4",
            "alertmanager:9093=127.0.0.1:5",
            "localhost:9090=127.0.0.1:6",
        )
    ]
    render = [sys.executable, str(DEPLOY / "render_native.py"), "--out", str(out), "--drop-job", "traefik"]
    proc = run([*render, *mapped, "--proxy", "127.0.0.1:%d" % proxy_port])
    assert proc.returncode == 2 and "no local address for odoo:8072" in proc.stderr, proc.stderr
    proc = run(
        [
            *render,
            *mapped,
            "--proxy",
            "127.0.0.1:%d" % proxy_port,
            "--address=odoo:8072=127.0.0.1:%d" % ws_port,
        ]
    )
    assert proc.returncode == 0, proc.stderr
    conf = out / "nginx" / "nginx.conf"
    proc = run([nginx, "-t", "-c", str(conf)])
    assert proc.returncode == 0, proc.stderr
    for backend in backends:
        threading.Thread(target=backend.serve_forever, daemon=True).start()
    daemon = subprocess.Popen(
        [nginx, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    base = "http://127.0.0.1:%d" % proxy_port

    def get(path, host, **headers):
        return requests.get(base + path, headers=dict(headers, Host=host), timeout=10)

    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", proxy_port), timeout=1):
                break
            time.sleep(0.1)
        host = "acme.localhost:%d" % proxy_port
        seen = get("/web/login", host, **{"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil"}).json()
        assert seen["port"] == http_port and seen["path"] == "/web/login", seen
        assert seen["Host"] == seen["X-Forwarded-Host"] == host, seen
        assert seen["X-Forwarded-For"] == seen["X-Real-IP"] == "127.0.0.1", seen
        assert seen["X-Forwarded-Proto"] == "http", seen
        seen = get("/websocket?version=1", host, Upgrade="websocket", Connection="Upgrade").json()
        assert seen["port"] == ws_port and seen["path"] == "/websocket?version=1", seen
        assert seen["Upgrade"] == "websocket" and seen["Connection"].lower() == "upgrade", seen
        assert seen["X-Forwarded-For"] == "127.0.0.1" and seen["X-Forwarded-Host"] == host, seen
        # Traefik's Path(`/websocket`): the bus's other routes stay on the HTTP workers
        assert get("/websocket/peek_notifications", host).json()["port"] == http_port
        # /metrics: from this host only (Odoo then asks a proxied client for the token)
        assert get("/metrics", host).json()["port"] == http_port
        assert get("/web", "_not-a-tenant").status_code == 404
    finally:
        daemon.terminate()
        _, err = daemon.communicate(timeout=10)
        for backend in backends:
            backend.shutdown()
    lines = (out / "nginx" / "access.log").read_text().splitlines()
    assert [json.loads(line)["status"] for line in lines] == [200, 200, 200, 200, 404], lines
    assert not (out / "nginx" / "error.log").read_text().strip() and not err.strip(), err


def test_grafana_provisioning():
    ds = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    prom = next(d for d in ds["datasources"] if d["type"] == "prometheus")
    assert prom["uid"] == "prometheus" and prom["url"] == "http://prometheus:9090"
    prov = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "logistics.yml").read_text())
    assert prov["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
