"""Kubernetes manifests: kustomize build, schema validation (kubernetes-validate for core kinds,
the Prometheus operator's v1 API for ServiceMonitor / PrometheusRule), rules in sync and valid."""

import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "k8s" / "base"
RULES = ROOT / "deploy" / "prometheus" / "rules"

_STR = {"type": "string"}
_STRMAP = {"type": "object", "additionalProperties": _STR}
_META = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": _STR, "namespace": _STR, "labels": _STRMAP, "annotations": _STRMAP},
    "additionalProperties": False,
}
_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"matchLabels": _STRMAP, "matchExpressions": {"type": "array"}},
}
_SECRET_KEY = {
    "type": "object",
    "required": ["key"],
    "additionalProperties": False,
    "properties": {"name": _STR, "key": _STR, "optional": {"type": "boolean"}},
}
_DURATION = {
    "type": "string",
    "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?"
    r"(([0-9]+)s)?(([0-9]+)ms)?)$",
}
_RELABEL = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "action": {
            "enum": [
                "replace",
                "keep",
                "drop",
                "hashmod",
                "labelmap",
                "labeldrop",
                "labelkeep",
                "lowercase",
                "uppercase",
                "keepequal",
                "dropequal",
            ]
        },
        "sourceLabels": {"type": "array", "items": _STR},
        "separator": _STR,
        "targetLabel": _STR,
        "regex": _STR,
        "modulus": {"type": "integer"},
        "replacement": _STR,
    },
}
# Subset of monitoring.coreos.com/v1 (prometheus-operator API reference): the fields these
# manifests may use, with unknown fields rejected as the API server's structural schema would.
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "jobLabel": _STR,
                "selector": _SELECTOR,
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "any": {"type": "boolean"},
                        "matchNames": {"type": "array", "items": _STR},
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": _STR,
                            "targetPort": {},
                            "path": _STR,
                            "scheme": {"enum": ["http", "https"]},
                            "interval": _DURATION,
                            "scrapeTimeout": _DURATION,
                            "honorLabels": {"type": "boolean"},
                            "authorization": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {"type": _STR, "credentials": _SECRET_KEY},
                            },
                            "bearerTokenSecret": _SECRET_KEY,
                            "relabelings": {"type": "array", "items": _RELABEL},
                            "metricRelabelings": {"type": "array", "items": _RELABEL},
                        },
                    },
                },
            },
        },
    },
}
PROMETHEUS_RULE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": _DURATION,
                            "limit": {"type": "integer"},
                            "partial_response_strategy": _STR,
                            "rules": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["expr"],
                                    "additionalProperties": False,
                                    "oneOf": [{"required": ["record"]}, {"required": ["alert"]}],
                                    "properties": {
                                        "record": _STR,
                                        "alert": _STR,
                                        "expr": {"type": ["string", "integer"]},
                                        "for": _DURATION,
                                        "keep_firing_for": _DURATION,
                                        "labels": _STRMAP,
                                        "annotations": _STRMAP,
                                    },
                                },
                            },
                        },
                    },
                }
            },
        },
    },
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl NOT INSTALLED: kustomize build not validated")
    proc = subprocess.run([kubectl, "kustomize", str(BASE)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path_factory.mktemp("k8s") / "built.yaml"
    path.write_text(proc.stdout)
    return path, [d for d in yaml.safe_load_all(proc.stdout) if d]


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def test_core_kinds_pass_kubernetes_schemas(built):
    path, docs = built
    kinds = {d["kind"] for d in docs}
    assert kinds >= {"Deployment", "Service", "ConfigMap", "ServiceMonitor", "PrometheusRule"}
    exe = Path(sys.executable).parent / "kubernetes-validate"
    proc = subprocess.run(
        [str(exe), "--strict", "--kubernetes-version", "1.31.0", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for kind in ("deployment", "service", "configmap", "poddisruptionbudget", "persistentvolumeclaim"):
        assert "passed for resource %s/" % kind in out, out
    assert "ERROR" not in out


def test_kubernetes_validate_catches_a_typo(built, tmp_path):
    path, _docs = built
    bad = tmp_path / "bad.yaml"
    bad.write_text(path.read_text().replace("readinessProbe:", "readinesProbe:", 1))
    exe = Path(sys.executable).parent / "kubernetes-validate"
    proc = subprocess.run([str(exe), "--strict", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "readinesProbe" in proc.stdout + proc.stderr


def test_crds_match_the_operator_api(built):
    _path, docs = built
    for doc in by_kind(docs, "ServiceMonitor"):
        jsonschema.validate(doc, SERVICE_MONITOR)
    for doc in by_kind(docs, "PrometheusRule"):
        jsonschema.validate(doc, PROMETHEUS_RULE)
    bad = dict(by_kind(docs, "ServiceMonitor")[0])
    bad["spec"] = dict(bad["spec"], endpoint=bad["spec"]["endpoints"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SERVICE_MONITOR)


def test_probes_ports_and_servicemonitor_fit_together(built):
    _path, docs = built
    deploy = by_kind(docs, "Deployment")[0]
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    service = by_kind(docs, "Service")[0]
    svc_ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert svc_ports["metrics"]["targetPort"] == "metrics" and ports["metrics"] == 9127
    assert service["spec"]["selector"].items() <= deploy["spec"]["template"]["metadata"]["labels"].items()
    sm = by_kind(docs, "ServiceMonitor")[0]
    assert sm["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    endpoint = sm["spec"]["endpoints"][0]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    assert endpoint["authorization"]["credentials"] == {"name": "odoo-logistics", "key": "metrics-token"}
    secret_volume = next(v for v in deploy["spec"]["template"]["spec"]["volumes"] if "secret" in v)
    assert secret_volume["secret"]["secretName"] == "odoo-logistics"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ODOO_OBSERVABILITY_METRICS_TOKEN_FILE"] == "/run/secrets/odoo/metrics-token"
    config = next(d for d in by_kind(docs, "ConfigMap") if "odoo.conf" in d.get("data", {}))
    assert "server_wide_modules = base,web,logistics_observability" in config["data"]["odoo.conf"]
    assert "observability_metrics_port = 9127" in config["data"]["odoo.conf"]


def test_prometheusrules_hold_the_shipped_rules_and_are_in_sync(built, tmp_path):
    _path, docs = built
    sys.path.insert(0, str(ROOT / "deploy" / "k8s"))
    try:
        import render_prometheusrules as render
    finally:
        sys.path.pop(0)
    for src, name, out in render.DEFAULTS:
        expected = render.render(src.read_text(), name, "deploy/prometheus/rules/" + src.name)
        assert out.read_text() == expected, "%s is stale: run deploy/k8s/render_prometheusrules.py" % out.name
        rule = next(d for d in by_kind(docs, "PrometheusRule") if d["metadata"]["name"] == name)
        assert rule["spec"]["groups"] == ((yaml.safe_load(src.read_text()) or {}).get("groups") or [])
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool NOT INSTALLED")
    platform = next(d for d in by_kind(docs, "PrometheusRule") if d["metadata"]["name"] == "odoo-platform")
    extracted = tmp_path / "extracted.yml"
    extracted.write_text(yaml.safe_dump({"groups": platform["spec"]["groups"]}))
    proc = subprocess.run([promtool, "check", "rules", str(extracted)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_render_wraps_generated_slo_rules(tmp_path):
    """The GitOps path: a generated rule file becomes a PrometheusRule."""
    from logistics_slo.core import rules as slo_rules

    text = slo_rules.render_rules([])
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "deploy" / "k8s" / "render_prometheusrules.py"),
            "--rules",
            "-",
            "--name",
            "odoo-slo",
        ],
        input=text,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    doc = yaml.safe_load(proc.stdout)
    jsonschema.validate(doc, PROMETHEUS_RULE)
    assert doc["metadata"]["name"] == "odoo-slo"


def test_each_pod_keeps_its_metrics_in_its_own_memory_volume(built):
    """Replicas share the filestore volume: a metrics directory there would make every pod count
    the fleet. The store lives in a per-pod emptyDir (medium Memory) named by observability_metrics_dir."""
    _path, docs = built
    spec = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
    container = spec["containers"][0]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    config = next(d for d in by_kind(docs, "ConfigMap") if "odoo.conf" in d.get("data", {}))
    conf = config["data"]["odoo.conf"].splitlines()
    metrics_dir = next(x for x in conf if x.startswith("observability_metrics_dir")).split("=", 1)[1].strip()
    mount = max(
        (p for p in mounts if metrics_dir == p or metrics_dir.startswith(p.rstrip("/") + "/")), key=len
    )
    volume = volumes[mounts[mount]]
    assert volume.get("emptyDir", {}).get("medium") == "Memory", volume
    assert "persistentVolumeClaim" not in volume
