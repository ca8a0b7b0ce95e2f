"""The fleet's components from Debian's ``victoria-metrics`` package (victoria-metrics, vmagent,
vmalert) as test daemons, with the flags and the scrape configuration of ``deploy/fleet/``
rendered by ``deploy/render_fleet.py``."""

import shutil
import subprocess
import sys
from pathlib import Path

import native_stack
import odoo_harness
import requests
from prometheus_client.parser import text_string_to_metric_families

RENDERER = odoo_harness.ROOT / "deploy" / "render_fleet.py"
BINARIES = ("victoria-metrics", "vmagent", "vmalert", "prometheus-alertmanager")


def missing_binaries():
    return [name for name in BINARIES if not shutil.which(name)]


def render(out, *args):
    return subprocess.run(
        [sys.executable, str(RENDERER), "--out", str(out), *args], capture_output=True, text=True, timeout=60
    )


def rendered_args(conf, component):
    return [line for line in (Path(conf) / ("%s.args" % component)).read_text().splitlines() if line]


def victoria_metrics(conf, port, data_dir, log_dir, extra=()):
    return native_stack.Daemon(
        "victoria-metrics",
        [
            "victoria-metrics",
            *rendered_args(conf, "victoria-metrics"),
            "-httpListenAddr=127.0.0.1:%s" % port,
            "-storageDataPath=%s" % data_dir,
            *extra,
        ],
        log_dir,
        ready_url="http://127.0.0.1:%s/health" % port,
    )


def vmagent(conf, name, port, data_dir, log_dir, env):
    """One agent of a pair: ``env`` names the Odoo instance and its target (vmagent.yml)."""
    return native_stack.Daemon(
        name,
        [
            "vmagent",
            *rendered_args(conf, "vmagent"),
            "-httpListenAddr=127.0.0.1:%s" % port,
            "-remoteWrite.tmpDataPath=%s" % data_dir,
        ],
        log_dir,
        ready_url="http://127.0.0.1:%s/health" % port,
        env=env,
    )


def vmalert(conf, port, log_dir, extra=()):
    return native_stack.Daemon(
        "vmalert",
        ["vmalert", *rendered_args(conf, "vmalert"), "-httpListenAddr=127.0.0.1:%s" % port, *extra],
        log_dir,
        ready_url="http://127.0.0.1:%s/health" % port,
    )


def odoo_counters(metrics_url, token, name="odoo_workflow_runs_total", by=("tenant", "outcome"), **match):
    """{label values: value} of a counter as one Odoo instance answers on its metrics port."""
    text = requests.get(metrics_url, headers={"Authorization": "Bearer " + token}, timeout=10).text
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in match.items()):
                key = tuple(sample.labels.get(label) for label in by)
                out[key] = out.get(key, 0.0) + sample.value
    return out


def vm_vector(api, expr, by=("tenant", "outcome"), **params):
    """{label values: value} of a PromQL/MetricsQL instant query against VictoriaMetrics."""
    result = api.get("/api/v1/query", query=expr, **params)["result"]
    return {tuple(r["metric"].get(label) for label in by): float(r["value"][1]) for r in result}


def read_shipped_args(component):
    """The flags shipped in deploy/fleet/<component>.args (comments dropped)."""
    path = odoo_harness.ROOT / "deploy" / "fleet" / ("%s.args" % component)
    return [
        line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
