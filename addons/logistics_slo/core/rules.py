"""Prometheus recording and alerting rules generated from SLO definitions.

Rules are generated per SLO *key* (what is measured), not per tenant: every
tenant defining the same SLO shares the rules, and its objective and minimum
traffic are joined at evaluation time from ``odoo_slo_objective_ratio`` and
``odoo_slo_min_events`` on ``(tenant, slo)``, so changing a tenant's objective
needs no new rules.

Naming follows ``level:metric:operations``. Short windows (5m ... 6h) are rates
of the raw counters; 1d and 3d are built from the 5m / 30m recorded rates with
non-overlapping subquery steps, so they stay cheap with hundreds of tenants.
Error ratios are ratios of summed rates, never averages of ratios.
"""

import yaml

from . import slo_math

RAW_WINDOWS = ("5m", "30m", "1h", "2h", "6h")
#: long window -> (short recorded window it is built from)
DERIVED_WINDOWS = (("1d", "5m"), ("3d", "30m"))
ALL_WINDOWS = tuple(name for name, _s in slo_math.BURN_WINDOWS)

EVENTS = "tenant_slo:odoo_slo_events:rate%s"
BAD = "tenant_slo:odoo_slo_bad_events:rate%s"
ERRORS = "tenant_slo:odoo_slo_errors:ratio_rate%s"
SLI = "tenant_slo:odoo_slo_sli:ratio_rate%s"
BURN = "tenant_slo:odoo_slo_burn_rate:rate%s"
OBJECTIVE = "tenant_slo:odoo_slo_objective:ratio"
MIN_EVENTS = "tenant_slo:odoo_slo_min_events:count"
# exported only where a tenant changed the default (the series budget): the default otherwise
MIN_EVENTS_EXPR = (
    "max by (tenant, slo) (odoo_slo_min_events)\n  or on (tenant, slo)\n(0 * %s + %%d)" % OBJECTIVE
)

ALERT_BURN = "LogisticsSLOErrorBudgetBurn"
ALERT_NO_DATA = "LogisticsSLONoData"
ALERT_EXHAUSTED = "LogisticsSLOErrorBudgetExhausted"
ALERT_OBJECTIVES_MISSING = "LogisticsSLOObjectivesMissing"
NO_DATA_FOR = "15m"
EXHAUSTED_FOR = "5m"


def le_matcher(bound):
    """Regex matching a bucket bound however the exporter formats it (5, 5.0, 5e+00)."""
    value = float(bound)
    if value == int(value):
        return r"%d(\\.0)?" % int(value)
    return ("%r" % value).replace(".", r"\\.")


def _selector(metric, **labels):
    parts = []
    for key, value in labels.items():
        if key.endswith("__re"):
            parts.append('%s=~"%s"' % (key[:-4], value))
        else:
            parts.append('%s="%s"' % (key, value))
    return "%s{%s}" % (metric, ",".join(parts))


def _rate(selector, window):
    return "sum by (tenant) (rate(%s[%s]))" % (selector, window)


def sli_queries(defn, window):
    """(events_expr, bad_expr) over the raw counters for one window."""
    wf = defn["workflow"]
    sli = defn["sli_type"]
    if sli == "success_ratio":
        total = _rate(_selector("odoo_workflow_runs_total", workflow=wf), window)
        failures = _rate(_selector("odoo_workflow_runs_total", workflow=wf, outcome="failure"), window)
        # a tenant without any failure yet has no failure series: count it as 0
        return total, "%s\nor\n0 * %s" % (failures, total)
    metric = (
        "odoo_workflow_start_delay_seconds" if sli == "cron_on_time" else "odoo_workflow_duration_seconds"
    )
    total = _rate(_selector(metric + "_count", workflow=wf), window)
    good = _rate(_selector(metric + "_bucket", workflow=wf, le__re=le_matcher(defn["threshold"])), window)
    return total, "clamp_min(\n  %s\n  - on (tenant)\n  %s,\n  0\n)" % (total, good)


def openslo_queries(defn):
    """(good, total) PromQL counters for exporters that take raw queries (OpenSLO)."""
    wf = defn["workflow"]
    if defn["sli_type"] == "success_ratio":
        return (
            _selector("odoo_workflow_runs_total", workflow=wf, outcome="success"),
            _selector("odoo_workflow_runs_total", workflow=wf),
        )
    metric = (
        "odoo_workflow_start_delay_seconds"
        if defn["sli_type"] == "cron_on_time"
        else "odoo_workflow_duration_seconds"
    )
    return (
        _selector(metric + "_bucket", workflow=wf, le__re=le_matcher(defn["threshold"])),
        _selector(metric + "_count", workflow=wf),
    )


def _template_safe(text):
    # user text goes into Go templates: neutralise template delimiters
    return (text or "").replace("{{", "{ {").replace("}}", "} }").strip()


def annotations(defn, kind, tier=None):
    """Alert annotations; they only use ``$labels.tenant`` so tests can predict them."""
    wf = defn["workflow"]
    dep = slo_math.PROBABLE_DEPENDENCY.get(wf, "the code instrumenting the %s workflow" % wf)
    base = {
        "tenant": "{{ $labels.tenant }}",
        "workflow": wf,
        "probable_dependency": dep,
        "first_action": _template_safe(defn["first_action"]),
    }
    if defn.get("runbook_url"):
        base["runbook_url"] = _template_safe(defn["runbook_url"])
    if kind == "burn":
        name, severity, long, short, share, _for = tier
        factor = slo_math.tier_factors(defn["window_days"])[name]
        base["summary"] = (
            "Tenant {{ $labels.tenant }}: %s SLO %s is burning its error budget "
            "faster than %gx (%s/%s, %s)" % (wf, defn["key"], factor, long, short, severity)
        )
        base["description"] = (
            "Workflow %s of tenant {{ $labels.tenant }} has an error ratio above %gx its error "
            "budget over both the last %s and the last %s: at this pace %d %% of the %d-day "
            "budget is spent in %s. Probable dependency: %s."
            % (wf, factor, long, short, round(share * 100), defn["window_days"], long, dep)
        )
    elif kind == "no_data":
        base["summary"] = "Tenant {{ $labels.tenant }}: no %s data for SLO %s" % (wf, defn["key"])
        base["description"] = (
            "The SLO %s is defined for tenant {{ $labels.tenant }} but Prometheus has had no %s "
            "samples for an hour: the workflow instrumentation, the scrape or the workflow itself "
            "is down, and the SLO cannot be judged." % (defn["key"], wf)
        )
    else:
        base["summary"] = "Tenant {{ $labels.tenant }}: %s SLO %s has exhausted its error budget" % (
            wf,
            defn["key"],
        )
        base["description"] = (
            "The %d-day error budget of %s (workflow %s) is spent for tenant {{ $labels.tenant }}: "
            "freeze risky changes and work on reliability." % (defn["window_days"], defn["key"], wf)
        )
    return base


def burn_alert_expr(defn, tier):
    name, _severity, long, short, _share, _for = tier
    factor = slo_math.tier_factors(defn["window_days"])[name]
    key = defn["key"]
    seconds = slo_math.WINDOW_SECONDS[long]
    return (
        '%(burn_long)s{slo="%(key)s"} > %(f)s\n'
        "and on (tenant, slo)\n"
        '%(burn_short)s{slo="%(key)s"} > %(f)s\n'
        "and on (tenant, slo)\n"
        '(%(events)s{slo="%(key)s"} * %(sec)d)\n'
        "  >= on (tenant, slo) group_left ()\n"
        '%(min)s{slo="%(key)s"}'
    ) % {
        "burn_long": BURN % long,
        "burn_short": BURN % short,
        "key": key,
        "f": "%g" % factor,
        "events": EVENTS % long,
        "sec": seconds,
        "min": MIN_EVENTS,
    }


def recording_rules(definitions):
    rules = [
        {"record": OBJECTIVE, "expr": "max by (tenant, slo) (odoo_slo_objective_ratio)"},
        {"record": MIN_EVENTS, "expr": MIN_EVENTS_EXPR % slo_math.DEFAULT_MIN_EVENTS},
    ]
    for defn in definitions:
        labels = {"slo": defn["key"], "workflow": defn["workflow"]}
        for window in RAW_WINDOWS:
            events, bad = sli_queries(defn, window)
            rules.append({"record": EVENTS % window, "expr": events, "labels": dict(labels)})
            rules.append({"record": BAD % window, "expr": bad, "labels": dict(labels)})
    for long, short in DERIVED_WINDOWS:
        step = short
        for tpl in (EVENTS, BAD):
            rules.append(
                {"record": tpl % long, "expr": "avg_over_time(%s[%s:%s])" % (tpl % short, long, step)}
            )
    for window in ALL_WINDOWS:
        rules.append({"record": ERRORS % window, "expr": "%s\n/\n%s" % (BAD % window, EVENTS % window)})
        rules.append({"record": SLI % window, "expr": "1 - %s" % (ERRORS % window)})
        rules.append(
            {
                "record": BURN % window,
                "expr": "%s\n/ on (tenant, slo) group_left ()\n(1 - %s)" % (ERRORS % window, OBJECTIVE),
            }
        )
    return rules


def alert_rules(definitions):
    rules = [
        {
            "alert": ALERT_OBJECTIVES_MISSING,
            "expr": "absent(%s)" % OBJECTIVE,
            "for": NO_DATA_FOR,
            "labels": {"severity": "ticket"},
            "annotations": {
                "summary": "No odoo_slo_objective_ratio series: SLO alerts cannot evaluate",
                "description": "SLO rules are loaded but no Odoo instance exports SLO objectives: "
                "check the /metrics scrape and that logistics_slo is installed.",
            },
        }
    ]
    for defn in definitions:
        static = {"workflow": defn["workflow"]}
        for tier in slo_math.TIERS:
            name, severity, long, short, _share, for_ = tier
            rules.append(
                {
                    "alert": ALERT_BURN,
                    "expr": burn_alert_expr(defn, tier),
                    "for": for_,
                    "labels": dict(
                        static, severity=severity, burn_tier=severity, long_window=long, short_window=short
                    ),
                    "annotations": annotations(defn, "burn", tier),
                }
            )
        rules.append(
            {
                "alert": ALERT_NO_DATA,
                "expr": '%s{slo="%s"}\nunless on (tenant, slo)\n%s{slo="%s"}'
                % (OBJECTIVE, defn["key"], EVENTS % "1h", defn["key"]),
                "for": NO_DATA_FOR,
                "labels": dict(static, severity="ticket"),
                "annotations": annotations(defn, "no_data"),
            }
        )
        rules.append(
            {
                "alert": ALERT_EXHAUSTED,
                "expr": 'max by (tenant, slo) (odoo_slo_error_budget_remaining_ratio{slo="%s"}) <= 0'
                % defn["key"],
                "for": EXHAUSTED_FOR,
                "labels": dict(static, severity="ticket"),
                "annotations": annotations(defn, "exhausted"),
            }
        )
    return rules


def merge_definitions(definitions):
    """Validate and de-duplicate definitions by key (several tenants, same SLO).

    Returns (merged list sorted by key, list of error strings). Texts (first
    action, runbook) of the first definition of a key win.
    """
    merged, errors = {}, []
    for defn in definitions:
        try:
            norm = slo_math.normalize(defn)
        except slo_math.SloDefinitionError as exc:
            errors.append("%s: %s" % (defn.get("tenant") or defn.get("name") or "?", exc))
            continue
        merged.setdefault(norm["key"], norm)
    return [merged[k] for k in sorted(merged)], errors


def rule_groups(definitions):
    """The ``groups`` document (dict) for a Prometheus rule file."""
    definitions, errors = merge_definitions(definitions)
    if errors:
        raise slo_math.SloDefinitionError("; ".join(errors))
    return {
        "groups": [
            {"name": "logistics_slo_recording", "rules": recording_rules(definitions)},
            {"name": "logistics_slo_alerts", "rules": alert_rules(definitions)},
        ]
    }


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper, data):
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)


def dump_yaml(document, header=None):
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    if header:
        text = "".join("# %s\n" % line for line in header.splitlines()) + text
    return text


def render_rules(definitions):
    """Rule file text."""
    return dump_yaml(
        rule_groups(definitions),
        header="Generated by logistics_slo (odoo-bin slo_rules). Do not edit by hand:\n"
        "change the SLO definitions in Odoo and regenerate.",
    )


def alertmanager_inhibition():
    """Alertmanager ``inhibit_rules`` snippet: a page silences the ticket of the same SLO."""
    return {
        "inhibit_rules": [
            {
                "source_matchers": ['alertname="%s"' % ALERT_BURN, 'burn_tier="page"'],
                "target_matchers": ['alertname="%s"' % ALERT_BURN, 'burn_tier="ticket"'],
                "equal": ["tenant", "slo"],
            },
            {
                "source_matchers": ['alertname="%s"' % ALERT_EXHAUSTED],
                "target_matchers": ['alertname="%s"' % ALERT_BURN, 'burn_tier="ticket"'],
                "equal": ["tenant", "slo"],
            },
        ]
    }


def render_alertmanager_inhibition():
    return dump_yaml(
        alertmanager_inhibition(),
        header="Merge into alertmanager.yml: pages inhibit tickets of the same tenant and SLO.",
    )
