"""Metric names used by PromQL expressions (rules, dashboards, docs), without a PromQL parser.

Strips strings, label matchers, ranges, grouping clauses and offsets, then keeps the
identifiers that are not keywords and not followed by "(" (functions, aggregations).
"""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"

_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "and",
    "or",
    "unless",
    "inf",
    "nan",
    "atan2",
}
_AGGREGATIONS = {
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "topk",
    "bottomk",
    "quantile",
    "stddev",
    "stdvar",
    "count_values",
    "group",
    "limitk",
    "limit_ratio",
}
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)")

#: Series Prometheus makes itself, and the one exporter metric the rules fall back on.
EXTERNAL = {
    "up",
    "ALERTS",
    "pg_settings_max_connections",
    "probe_success",
    "probe_duration_seconds",
    "probe_http_status_code",
}

_SUFFIXES = ("_bucket", "_sum", "_count", "_created")


def metric_names(expr):
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"'(?:[^'\\]|\\.)*'", "''", text)
    text = re.sub(r"\{[^}]*\}", "{}", text)
    text = re.sub(r"\[[^\]]*\]", "[]", text)
    text = _GROUPING.sub(r"\1()", text)
    text = re.sub(r"\boffset\s+-?[0-9a-zA-Z_$]+", "", text)
    text = re.sub(r"#[^\n]*", "", text)
    names = set()
    for match in _IDENT.finditer(text):
        token = match.group(1)
        rest = text[match.end() :].lstrip()
        if token.lower() in _KEYWORDS or rest.startswith("(") or token in _AGGREGATIONS:
            continue
        names.add(token)
    return names


def family(name):
    """Metric family of a sample name (histogram series -> family name)."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def rule_files():
    return sorted((DEPLOY / "prometheus" / "rules").glob("*.rules.yml"))


def rule_exprs():
    """{(file, rule name): expr} of the shipped rule files."""
    out = {}
    for path in rule_files():
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups") or []:
            for rule in group["rules"]:
                out[(path.name, rule.get("record") or rule.get("alert"))] = rule["expr"]
    return out


def recorded_names():
    """Recording rules of the shipped files and the ones logistics_slo generates."""
    from logistics_slo.core import rules as slo_rules

    names = set()
    for path in rule_files():
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups") or []:
            names.update(r["record"] for r in group["rules"] if "record" in r)
    for template in (slo_rules.EVENTS, slo_rules.BAD, slo_rules.ERRORS, slo_rules.SLI, slo_rules.BURN):
        names.update(template % window for window in slo_rules.ALL_WINDOWS)
    names.update((slo_rules.OBJECTIVE, slo_rules.MIN_EVENTS))
    return names


def grafana_substitute(expr):
    """Grafana variables -> values Prometheus accepts."""
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "1h")
    return re.sub(r"\$\{?\w+(?::\w+)?\}?", ".*", expr)


def dashboard_files():
    return sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))


def dashboard_exprs():
    """{(file, panel title, refId): expr}, annotation queries included."""
    import json

    out = {}
    for path in dashboard_files():
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                out[(path.name, panel["title"], target["refId"])] = target["expr"]
        for ann in board.get("annotations", {}).get("list", []):
            if ann.get("expr"):
                out[(path.name, "annotation " + ann["name"], "-")] = ann["expr"]
    return out


def doc_exprs():
    """PromQL in ```promql fenced blocks of the READMEs and docs (one expression per block)."""
    out = {}
    paths = [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "addons").glob("*/readme/*.md")),
    ]
    for path in paths:
        if not path.exists():
            continue
        for i, block in enumerate(re.findall(r"```promql\n(.*?)```", path.read_text(), re.S)):
            out[(str(path.relative_to(ROOT)), i)] = block.strip()
    return out
