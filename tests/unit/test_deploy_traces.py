"""Traces, offline: the OpenTelemetry Collector's configuration (deploy/otel/collector.yaml) checked
as the collector would wire it, Tempo's (deploy/tempo/tempo.yaml), the compose services and Odoo's
OTLP settings, Grafana's Tempo data source and exemplar link, and the Kubernetes component built
with kustomize and validated. No collector or Tempo binary runs here: docs/DEPLOYMENT.md, "Traces".
"""

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from logistics_observability.core import server_metrics, workflow

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COLLECTOR = DEPLOY / "otel" / "collector.yaml"
TEMPO = DEPLOY / "tempo" / "tempo.yaml"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources"
K8S_TRACES = DEPLOY / "k8s" / "traces"
K8S_COMPONENT = DEPLOY / "k8s" / "components" / "traces"
KINDS = ("receivers", "processors", "exporters", "connectors", "extensions")


@pytest.fixture(scope="module")
def collector():
    return yaml.safe_load(COLLECTOR.read_text())


@pytest.fixture(scope="module")
def tempo():
    return yaml.safe_load(TEMPO.read_text())


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _port(endpoint):
    return int(endpoint.rsplit(":", 1)[1])


def collector_problems(conf):
    """What would make the collector refuse this configuration or sample otherwise than documented."""
    problems = []
    service = conf.get("service") or {}
    for ext in service.get("extensions") or []:
        if ext not in (conf.get("extensions") or {}):
            problems.append("extension %s is not defined" % ext)
    pipelines = service.get("pipelines") or {}
    if "traces" not in pipelines:
        problems.append("no traces pipeline")
    for name, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind) or []:
                # a connector is an exporter of one pipeline and a receiver of another
                if component not in (conf.get(kind) or {}) and component not in (
                    conf.get("connectors") or {}
                ):
                    problems.append("pipeline %s: %s %s is not defined" % (name, kind[:-1], component))
        if not pipeline.get("receivers") or not pipeline.get("exporters"):
            problems.append("pipeline %s lacks receivers or exporters" % name)
    traces = pipelines.get("traces") or {}
    processors = [p.split("/")[0] for p in traces.get("processors") or []]
    if processors[:1] != ["memory_limiter"]:
        problems.append("memory_limiter is not the first processor")
    if "tail_sampling" not in processors:
        problems.append("the traces pipeline does not tail-sample")
    elif "batch" in processors and processors.index("batch") < processors.index("tail_sampling"):
        problems.append("batch before tail_sampling")
    otlp = ((conf.get("receivers") or {}).get("otlp") or {}).get("protocols") or {}
    for protocol, port in (("grpc", 4317), ("http", 4318)):
        endpoint = (otlp.get(protocol) or {}).get("endpoint", "")
        if endpoint != "0.0.0.0:%d" % port:
            problems.append("otlp %s receiver listens on %r, not 0.0.0.0:%d" % (protocol, endpoint, port))
    policies = ((conf.get("processors") or {}).get("tail_sampling") or {}).get("policies") or []
    by_type = {}
    for policy in policies:
        by_type.setdefault(policy.get("type"), []).append(policy)
    if not any(
        "ERROR" in p.get("status_code", {}).get("status_codes", []) for p in by_type.get("status_code", [])
    ):
        problems.append("no policy keeps every trace in error")
    if not any(0 < p.get("latency", {}).get("threshold_ms", 0) <= 1000 for p in by_type.get("latency", [])):
        problems.append("no policy keeps every trace slower than 1 s")
    if not any(
        0 < p.get("probabilistic", {}).get("sampling_percentage", 0) < 100
        for p in by_type.get("probabilistic", [])
    ):
        problems.append("no probabilistic share of the other traces")
    return problems


def test_collector_config_is_wired_and_samples_as_documented(collector):
    assert collector_problems(collector) == []


def _drop_policy(conf, kind):
    policies = conf["processors"]["tail_sampling"]["policies"]
    policies[:] = [p for p in policies if p["type"] != kind]


@pytest.mark.parametrize(
    "break_it, problem",
    [
        (lambda c: _drop_policy(c, "status_code"), "no policy keeps every trace in error"),
        (lambda c: _drop_policy(c, "latency"), "no policy keeps every trace slower than 1 s"),
        (lambda c: _drop_policy(c, "probabilistic"), "no probabilistic share of the other traces"),
        (
            lambda c: c["processors"].pop("batch"),
            "pipeline traces: processor batch is not defined",
        ),
        (
            lambda c: c["service"]["pipelines"]["traces"]["exporters"].append("otlp/jaeger"),
            "pipeline traces: exporter otlp/jaeger is not defined",
        ),
        (
            lambda c: c["service"]["pipelines"]["traces"]["processors"].reverse(),
            "memory_limiter is not the first processor",
        ),
        (
            lambda c: c["receivers"]["otlp"]["protocols"]["http"].update(endpoint="localhost:4318"),
            "otlp http receiver listens on 'localhost:4318', not 0.0.0.0:4318",
        ),
    ],
    ids=[
        "no-error-policy",
        "no-latency-policy",
        "no-share",
        "undefined-processor",
        "undefined-exporter",
        "order",
        "localhost",
    ],
)
def test_collector_check_bites(collector, break_it, problem):
    broken = copy.deepcopy(collector)
    break_it(broken)
    assert problem in collector_problems(broken)


def test_collector_exports_to_tempo_over_otlp(collector, tempo, compose):
    (exporter,) = collector["service"]["pipelines"]["traces"]["exporters"]
    assert exporter.split("/")[0] == "otlp"  # gRPC OTLP, which Tempo's distributor receives
    host, port = collector["exporters"][exporter]["endpoint"].rsplit(":", 1)
    assert host == "tempo" and host in compose["services"]
    grpc = tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert grpc == "0.0.0.0:%s" % port
    assert collector["exporters"][exporter]["tls"] == {"insecure": True}  # inside the stack's network


def test_tempo_keeps_its_blocks_on_local_disk(tempo, compose):
    trace = tempo["storage"]["trace"]
    assert trace["backend"] == "local"
    assert tempo["compactor"]["compaction"]["block_retention"] == "168h"
    # both paths on the compose volume, so blocks and WAL survive a restart
    mounts = dict(reversed(v.split(":")[:2]) for v in compose["services"]["tempo"]["volumes"])
    for path in (trace["wal"]["path"], trace["local"]["path"]):
        assert any(
            path.startswith(target + "/") and source in compose["volumes"]
            for target, source in mounts.items()
        )


def _image_pinned(image, repository):
    name, _, tag = image.partition(":")
    return name == repository and tag and tag != "latest" and tag[0].isdigit()


def _mounted(service, source):
    """The container path where a compose service mounts ``source``."""
    (target,) = [v.split(":")[1] for v in service["volumes"] if v.split(":")[0] == source]
    return target


def test_compose_runs_collector_and_tempo_with_the_shipped_files(compose, collector, tempo):
    services = compose["services"]
    otel, backend = services["otel-collector"], services["tempo"]
    assert _image_pinned(otel["image"], "otel/opentelemetry-collector-contrib"), otel["image"]
    assert _image_pinned(backend["image"], "grafana/tempo"), backend["image"]
    (config,) = [a.split("=", 1)[1] for a in otel["command"] if a.startswith("--config=")]
    assert _mounted(otel, "./deploy/otel/collector.yaml") == config
    (config,) = [a.split("=", 1)[1] for a in backend["command"] if a.startswith("-config.file=")]
    assert _mounted(backend, "./deploy/tempo/tempo.yaml") == config
    for port in (4317, 4318):
        assert str(port) in otel["expose"] and str(port) in backend["expose"]
    assert str(tempo["server"]["http_listen_port"]) in backend["expose"]
    # published on the host's loopback only, as the rest of the stack
    for service in (otel, backend):
        assert all(str(p).startswith("127.0.0.1:") for p in service["ports"])
    assert otel["depends_on"]["tempo"]["condition"] == "service_healthy"
    assert services["grafana"]["depends_on"]["tempo"]["condition"] == "service_healthy"
    # memory_limiter's percentages need a limit to be percentages of
    assert collector["processors"]["memory_limiter"]["limit_percentage"] < 100 and otel["mem_limit"]


def _odoo_otlp(environment, services, collector):
    """Odoo's OTLP endpoint is the collector's HTTP receiver (the SDK's exporter is OTLP/HTTP)."""
    url = urlsplit(environment["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert url.scheme == "http" and url.hostname in services
    assert url.port == _port(collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"])
    assert environment["OTEL_SERVICE_NAME"] == "odoo"
    return url


def test_compose_odoo_sends_its_spans_to_the_collector(compose, collector):
    services = compose["services"]
    env = services["odoo"]["environment"]
    url = _odoo_otlp(env, services, collector)
    assert url.hostname == "otel-collector" and str(url.port) in services["otel-collector"]["expose"]
    assert env["ODOO_OBSERVABILITY_TRACING"] == "${ODOO_TRACING:-1}"
    attributes = dict(pair.split("=", 1) for pair in env["OTEL_RESOURCE_ATTRIBUTES"].split(","))
    assert attributes["service.version"] == env["ODOO_OBSERVABILITY_RELEASE"]
    # the fleet's replica traces the same way, under its own instance name
    fleet = yaml.safe_load((DEPLOY / "fleet" / "docker-compose.fleet.yml").read_text())
    replica = fleet["services"]["odoo-2"]["environment"]
    for key in ("ODOO_OBSERVABILITY_TRACING", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"):
        assert replica[key] == env[key], key
    replica_attributes = dict(pair.split("=", 1) for pair in replica["OTEL_RESOURCE_ATTRIBUTES"].split(","))
    assert replica_attributes == dict(attributes, **{"service.instance.id": "odoo-2"})
    assert attributes["service.instance.id"] == "odoo-1"


def _datasources():
    out = {}
    for path in sorted(DATASOURCES.glob("*.yml")):
        for ds in yaml.safe_load(path.read_text())["datasources"]:
            out[ds["type"]] = ds
    return out


def test_grafana_exemplars_open_their_trace_in_tempo(compose, tempo):
    sources = _datasources()
    prometheus, backend = sources["prometheus"], sources["tempo"]
    links = prometheus["jsonData"]["exemplarTraceIdDestinations"]
    # the label Odoo's exemplars carry, to the provisioned Tempo data source
    assert {"name": "trace_id", "datasourceUid": backend["uid"]} in [
        {k: v for k, v in link.items() if k != "urlDisplayLabel"} for link in links
    ]
    # ... and still to the log lines of the trace
    assert any(link["name"] == "trace_id" and "LOGS_TRACE_URL" in link.get("url", "") for link in links)
    url = urlsplit(backend["url"])
    assert url.hostname in compose["services"] and url.port == tempo["server"]["http_listen_port"]
    assert backend["jsonData"]["streamingEnabled"]["search"] == tempo["stream_over_http_enabled"] is True


def _defined_metrics():
    return {
        m.name: m.labelnames
        for module in (server_metrics, workflow)
        for m in vars(module).values()
        if hasattr(m, "labelnames") and hasattr(m, "name")
    }


def test_grafana_span_to_metrics_queries_are_valid_and_per_tenant(tmp_path):
    import promql_names

    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool NOT INSTALLED (scripts/bootstrap.sh installs it): queries not parsed")
    sources = _datasources()
    links = sources["tempo"]["jsonData"]["tracesToMetrics"]
    assert links["datasourceUid"] == sources["prometheus"]["uid"]
    # the span attribute Odoo sets, mapped onto the metrics' tenant label
    assert links["tags"] == [{"key": "odoo.tenant", "value": "tenant"}]
    defined = _defined_metrics()
    rules = []
    for i, query in enumerate(q["query"] for q in links["queries"]):
        # $$ in a provisioning file is a literal $: a single one would be read as an environment variable
        assert "$$__tags" in query and query.replace("$$", "").count("$") == 0, query
        expr = query.replace("$$__tags", 'tenant="acme"')
        for name in promql_names.metric_names(expr):
            assert "tenant" in defined[promql_names.family(name)], (name, query)
        rules.append({"record": "traces:query_%d:check" % i, "expr": expr})
    path = tmp_path / "queries.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "traces", "rules": rules}]}))
    proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- Kubernetes -----------------------------------------------------------------------------


def _kustomize(directory):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl NOT INSTALLED: kustomize build not validated")
    proc = subprocess.run(
        [kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    text = _kustomize(K8S_TRACES)
    path = tmp_path_factory.mktemp("k8s-traces") / "built.yaml"
    path.write_text(text)
    return path, [d for d in yaml.safe_load_all(text) if d]


def find(docs, kind, name):
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name)]
    return doc


def container(doc):
    (c,) = doc["spec"]["template"]["spec"]["containers"]
    return c


def test_k8s_traces_pass_kubernetes_schemas(built):
    path, _docs = built
    exe = Path(sys.executable).parent / "kubernetes-validate"
    proc = subprocess.run(
        [str(exe), "--strict", "--kubernetes-version", "1.31.0", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "ERROR" not in out, out
    for resource in (
        "deployment/otel-collector",
        "service/otel-collector",
        "statefulset/tempo",
        "service/tempo",
    ):
        assert "passed for resource %s " % resource in out, out


def _mounted_file(doc, flag):
    """The ConfigMap and key a container reads as its configuration (``flag`` names the file)."""
    spec = doc["spec"]["template"]["spec"]
    (config,) = [a.split("=", 1)[1] for a in container(doc)["args"] if a.startswith(flag)]
    directory, key = config.rsplit("/", 1)
    (mount,) = [m for m in container(doc)["volumeMounts"] if m["mountPath"] == directory]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    return volume["configMap"]["name"], key


def test_k8s_collector_and_tempo_run_the_shipped_files(built):
    _path, docs = built
    for kind, name, flag, source in (
        ("Deployment", "otel-collector", "--config=", COLLECTOR),
        ("StatefulSet", "tempo", "-config.file=", TEMPO),
    ):
        doc = find(docs, kind, name)
        configmap, key = _mounted_file(doc, flag)
        assert find(docs, "ConfigMap", configmap)["data"] == {key: source.read_text()}, name
    collector = find(docs, "Deployment", "otel-collector")
    # tail sampling needs every span of a trace in one collector
    assert collector["spec"]["replicas"] == 1
    ports = {p["name"]: p["containerPort"] for p in container(collector)["ports"]}
    conf = yaml.safe_load(COLLECTOR.read_text())
    assert ports["health"] == _port(conf["extensions"]["health_check"]["endpoint"])
    assert container(collector)["readinessProbe"]["httpGet"]["port"] == "health"
    assert "limits" in container(collector)["resources"]  # memory_limiter's percentages
    # the exporter's address is the tempo Service, on the port of Tempo's OTLP gRPC receiver
    host, port = conf["exporters"]["otlp/tempo"]["endpoint"].rsplit(":", 1)
    service = find(docs, "Service", host)
    (svc_port,) = [p for p in service["spec"]["ports"] if p["port"] == int(port)]
    tempo_ports = {
        p["name"]: p["containerPort"] for p in container(find(docs, "StatefulSet", "tempo"))["ports"]
    }
    assert tempo_ports[svc_port["targetPort"]] == int(port)


def test_k8s_odoo_sends_its_spans_to_the_collector_service(built):
    _path, docs = built
    odoo = container(find(docs, "Deployment", "odoo"))
    (env_from,) = [e["configMapRef"]["name"] for e in odoo["envFrom"]]
    env = dict(find(docs, "ConfigMap", env_from)["data"])
    assert env["ODOO_OBSERVABILITY_TRACING"] == "1"
    assert env["PGHOST"] == "postgres"  # merged into the base's, not replacing it
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    url = _odoo_otlp(env, services, yaml.safe_load(COLLECTOR.read_text()))
    (svc_port,) = [p for p in services[url.hostname]["spec"]["ports"] if p["port"] == url.port]
    collector = find(docs, "Deployment", "otel-collector")
    assert (
        services[url.hostname]["spec"]["selector"].items()
        <= collector["spec"]["template"]["metadata"]["labels"].items()
    )
    assert {p["name"]: p["containerPort"] for p in container(collector)["ports"]}[
        svc_port["targetPort"]
    ] == url.port
    # each pod's spans name the pod: the variable is defined before the attributes that expand it
    names = [e["name"] for e in odoo["env"]]
    assert names.index("K8S_POD_NAME") < names.index("OTEL_RESOURCE_ATTRIBUTES")
    assert (
        "service.instance.id=$(K8S_POD_NAME)" in odoo["env"][names.index("OTEL_RESOURCE_ATTRIBUTES")]["value"]
    )


def test_k8s_traces_component_adds_to_the_fleet(tmp_path):
    """The component is not tied to the base alone: an overlay of the fleet takes it as it is."""
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": [os.path.relpath(DEPLOY / "k8s" / "fleet", tmp_path)],
                "components": [os.path.relpath(K8S_COMPONENT, tmp_path)],
            }
        )
    )
    docs = [d for d in yaml.safe_load_all(_kustomize(tmp_path)) if d]
    assert find(docs, "Deployment", "vmagent") and find(docs, "Deployment", "otel-collector")
    odoo = container(find(docs, "Deployment", "odoo"))
    (env_from,) = [e["configMapRef"]["name"] for e in odoo["envFrom"]]
    assert (
        find(docs, "ConfigMap", env_from)["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
        == "http://otel-collector:4318"
    )
