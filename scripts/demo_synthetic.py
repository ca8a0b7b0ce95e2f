#!/usr/bin/env python3
"""Wire the tenants' outside-in synthetic checks into the demo's monitoring stack.

``odoo-bin synthetic_targets`` writes one file-SD target per check (the tenant's own URL, e.g.
``http://alpha.localhost:8069/web/login``) and the blackbox modules. The demo's tenants are
names of a host-based ``dbfilter`` that no resolver knows, so every target on a ``*.localhost``
host is probed through ``--via`` (the Odoo port) with its host sent as the ``Host`` header, as an
ingress would. The modules are merged into the rendered blackbox configuration and a
``synthetic`` job (file SD) is added to the rendered Prometheus configuration.
"""

import argparse
import hashlib
import json
import os
import urllib.parse

import yaml

JOB = "synthetic"


def _write(path, text):
    tmp = "%s.tmp" % path
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def route(groups, modules, via):
    """Targets on ``*.localhost`` probed through ``via`` with their Host header."""
    out_groups, out_modules = [], dict(modules)
    for group in groups:
        group = json.loads(json.dumps(group))
        url = urllib.parse.urlsplit(group["targets"][0])
        if (url.hostname or "").endswith(".localhost"):
            name = "%s_%s" % (group["labels"]["module"], hashlib.sha1(url.netloc.encode()).hexdigest()[:8])
            module = json.loads(json.dumps(modules[group["labels"]["module"]]))
            module.setdefault("http", {}).setdefault("headers", {})["Host"] = url.netloc
            out_modules[name] = module
            group["labels"]["module"] = name
            group["targets"] = [urllib.parse.urlunsplit(url._replace(netloc=via))]
        out_groups.append(group)
    return out_groups, out_modules


def job(targets_file, blackbox_address):
    return {
        "job_name": JOB,
        "metrics_path": "/probe",
        "file_sd_configs": [{"files": [str(targets_file)], "refresh_interval": "30s"}],
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["module"], "target_label": "__param_module"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"target_label": "__address__", "replacement": blackbox_address},
            {"regex": "module", "action": "labeldrop"},
        ],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", required=True, help="file-SD targets from synthetic_targets (rewritten)")
    parser.add_argument("--modules", required=True, help="blackbox modules from synthetic_targets")
    parser.add_argument("--blackbox-config", required=True, help="blackbox exporter configuration to extend")
    parser.add_argument("--prometheus", required=True, help="Prometheus configuration to extend")
    parser.add_argument("--blackbox-address", required=True, help="host:port of the blackbox exporter")
    parser.add_argument("--via", required=True, help="host:port of the Odoo port the probes go through")
    args = parser.parse_args(argv)
    with open(args.targets, encoding="utf-8") as f:
        groups = json.load(f)
    with open(args.modules, encoding="utf-8") as f:
        modules = yaml.safe_load(f).get("modules") or {}
    groups, modules = route(groups, modules, args.via)
    _write(args.targets, json.dumps(groups, indent=2, sort_keys=True) + "\n")
    with open(args.blackbox_config, encoding="utf-8") as f:
        blackbox = yaml.safe_load(f) or {}
    blackbox.setdefault("modules", {}).update(modules)
    _write(args.blackbox_config, yaml.safe_dump(blackbox, sort_keys=False))
    with open(args.prometheus, encoding="utf-8") as f:
        prometheus = yaml.safe_load(f)
    jobs = [j for j in prometheus.get("scrape_configs") or [] if j.get("job_name") != JOB]
    prometheus["scrape_configs"] = [*jobs, job(os.path.abspath(args.targets), args.blackbox_address)]
    _write(args.prometheus, yaml.safe_dump(prometheus, sort_keys=False))
    print("synthetic checks: %d targets in the %s job" % (len(groups), JOB))


if __name__ == "__main__":
    main()
