"""The fleet on Kubernetes (deploy/k8s/fleet), offline: kustomize build, kubernetes-validate of every
kind, flags in sync with deploy/fleet/*.args, the rules ConfigMap holding the shipped rule files,
vmagent's own check of its Kubernetes scrape configuration, and one identical agent pair."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import fleet_stack
import odoo_harness
import pytest
import yaml

FLEET_K8S = odoo_harness.ROOT / "deploy" / "k8s" / "fleet"
RULES = odoo_harness.ROOT / "deploy" / "prometheus" / "rules"
PER_DEPLOYMENT = ("-httpListenAddr=", "-storageDataPath=", "-remoteWrite.tmpDataPath=")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl NOT INSTALLED: kustomize build not validated")
    proc = subprocess.run(
        [kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(FLEET_K8S)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    path = tmp_path_factory.mktemp("k8s-fleet") / "built.yaml"
    path.write_text(proc.stdout)
    return path, [d for d in yaml.safe_load_all(proc.stdout) if d]


def find(docs, kind, name):
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name)]
    return doc


def container(doc):
    (c,) = doc["spec"]["template"]["spec"]["containers"]
    return c


def test_every_kind_passes_kubernetes_schemas(built):
    path, docs = built
    kinds = {d["kind"] for d in docs}
    assert kinds >= {
        "Deployment",
        "StatefulSet",
        "Service",
        "ConfigMap",
        "ServiceAccount",
        "Role",
        "RoleBinding",
    }
    # vmagent and vmalert replace the operator's ServiceMonitor and PrometheusRules
    assert not [d for d in docs if d["apiVersion"].startswith("monitoring.coreos.com")]
    exe = Path(sys.executable).parent / "kubernetes-validate"
    proc = subprocess.run(
        [str(exe), "--strict", "--kubernetes-version", "1.31.0", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "ERROR" not in out, out
    for kind in ("statefulset", "role", "rolebinding", "serviceaccount"):
        assert "passed for resource %s/" % kind in out, out


def test_flags_are_the_shipped_ones(built):
    _path, docs = built
    for kind, name, component in (
        ("Deployment", "vmagent", "vmagent"),
        ("StatefulSet", "victoriametrics", "victoria-metrics"),
        ("Deployment", "vmalert", "vmalert"),
    ):
        args = container(find(docs, kind, name))["args"]
        assert [a for a in args if not a.startswith(PER_DEPLOYMENT)] == fleet_stack.read_shipped_args(
            component
        )
    # the addresses in the flags are the Services here
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    assert {"victoriametrics", "vmalert"} <= set(services)
    assert services["victoriametrics"]["spec"]["ports"][0]["port"] == 8428


def test_one_identical_agent_pair_scraping_every_odoo_pod(built, tmp_path):
    _path, docs = built
    agent = find(docs, "Deployment", "vmagent")
    assert agent["spec"]["replicas"] == 2
    spec = agent["spec"]["template"]["spec"]
    # nothing agent-specific in its environment (no pod name): both replicas send identical series
    env = container(agent).get("env", [])
    assert not [e for e in env if "fieldRef" in e.get("valueFrom", {})], env
    config = find(docs, "ConfigMap", "vmagent-config")["data"]["vmagent.yml"]
    conf = yaml.safe_load(config)
    shipped = yaml.safe_load((odoo_harness.ROOT / "deploy" / "fleet" / "vmagent.yml").read_text())
    assert conf["global"] == shipped["global"]
    (job,) = conf["scrape_configs"]
    # the token mounted where the config reads it, from the base's Secret
    mounts = {m["name"]: m["mountPath"] for m in container(agent)["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    (item,) = volumes["secrets"]["secret"]["items"]
    assert job["authorization"]["credentials_file"] == "%s/%s" % (mounts["secrets"], item["path"])
    odoo = container(find(docs, "Deployment", "odoo"))
    assert "metrics" in {p["name"] for p in odoo["ports"]}
    assert {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "instance"} in job[
        "relabel_configs"
    ]
    # vmagent's own check of the configuration (Kubernetes discovery included)
    if shutil.which("vmagent"):
        (tmp_path / "vmagent.yml").write_text(config)
        taxonomy = find(docs, "ConfigMap", "fleet-taxonomy")["data"]
        proc = subprocess.run(
            ["vmagent", "-dryRun", "-promscrape.config=%s" % (tmp_path / "vmagent.yml")],
            capture_output=True,
            text=True,
            env=dict(os.environ, **taxonomy),
            timeout=60,
        )
        assert proc.returncode == 0 and "all the configs are ok" in proc.stderr, proc.stderr[-2000:]


def test_rules_configmap_holds_the_shipped_rule_files(built):
    _path, docs = built
    data = find(docs, "ConfigMap", "vmalert-rules")["data"]
    assert data == {p.name: p.read_text() for p in RULES.glob("*.rules.yml")}
    mounts = container(find(docs, "Deployment", "vmalert"))["volumeMounts"]
    assert {"name": "rules", "mountPath": "/etc/vmalert/rules", "readOnly": True} in mounts
