"""``promtool test rules`` files generated for the generated rules.

For every SLO, scenarios over two tenants with different objectives (the
definition's objective and a looser one) prove: a fast burn fires the page, a
slow burn fires only tickets, healthy traffic fires nothing, traffic under the
minimum fires nothing, absent data fires the no-data alert, and a spent budget
fires the exhaustion alert. Expected alerts come from an exact minute-by-minute
model of the rules (windows, tiers, ``for``, minimum traffic), so a change in
the rules that breaks the intended behaviour fails ``promtool test rules``.
"""

import math

from . import rules as rules_mod
from . import slo_math

INTERVAL_MIN = 1
TENANT_A = "tenant_a"
TENANT_B = "tenant_b"
SCRAPE_LABELS = {"job": "odoo", "instance": "odoo-1:8069"}
FOR_MIN = {"2m": 2, "15m": 15, "1h": 60, "3h": 180}
WINDOW_MIN = {name: seconds // 60 for name, seconds in slo_math.BURN_WINDOWS}


def _looser_objective(defn):
    """A second tenant's objective: an 8x larger budget when that still can fire."""
    factors = slo_math.tier_factors(defn["window_days"])
    budget = 1.0 - defn["objective"]
    looser = min(budget * 8, 0.9 / max(factors.values()))
    return round(1.0 - max(looser, budget), 6)


def _cumulative(phases):
    """Per-minute cumulative (total, bad) counters from phases (minutes, per_min, error_ratio).

    Counts are integers; fractions are carried so that every window holds the
    exact phase ratio up to one event.
    """
    total, bad = [0], [0]
    t_acc = b_acc = 0.0
    for minutes, per_min, err in phases:
        for _m in range(minutes):
            t_acc += per_min
            b_acc += per_min * err
            total.append(int(math.floor(t_acc + 1e-9)))
            bad.append(min(int(math.floor(b_acc + 1e-9)), total[-1]))
    return total, bad


def _series_values(cum):
    """promtool expanding notation for a cumulative per-minute list (a+bxn runs)."""
    parts = []
    i = 0
    n = len(cum)
    while i < n:
        if i + 1 < n:
            step = cum[i + 1] - cum[i]
            j = i + 1
            while j + 1 < n and cum[j + 1] - cum[j] == step:
                j += 1
            parts.append("%d+%dx%d" % (cum[i], step, j - i))
            i = j + 1
        else:
            parts.append("%d" % cum[i])
            i += 1
    return " ".join(parts)


def _windows_at(total, bad, t):
    """(total, bad) per window at minute t, counting minutes (t-W, t]."""
    out = {}
    for name, wmin in WINDOW_MIN.items():
        lo = max(0, t - wmin)
        out[name] = (total[t] - total[lo], bad[t] - bad[lo])
    return out


def expected_burn_alerts(defn, objective, total, bad, t_eval):
    """Tier names whose condition held over the whole ``for`` period ending at t_eval."""
    budget = 1.0 - objective
    factors = slo_math.tier_factors(defn["window_days"])
    firing = []
    for name, _severity, long, short, _share, for_ in slo_math.TIERS:
        held = True
        for t in range(max(0, t_eval - FOR_MIN[for_]), t_eval + 1):
            w = _windows_at(total, bad, t)
            lt, lb = w[long]
            st, sb = w[short]
            if not (
                lt
                and st
                and lt >= defn["min_events"]
                and lb / lt / budget > factors[name]
                and sb / st / budget > factors[name]
            ):
                held = False
                break
        if held:
            firing.append(name)
    return firing


def _format_le(bound):
    value = float(bound)
    return repr(value)  # Python client style: 5.0, 0.05


def _input_series(defn, tenant, total, bad):
    """Raw series the rules of this SLI read, for one tenant."""
    wf = defn["workflow"]
    base = dict(SCRAPE_LABELS, tenant=tenant, workflow=wf)
    good = [t - b for t, b in zip(total, bad, strict=False)]
    out = []
    if defn["sli_type"] == "success_ratio":
        out.append(("odoo_workflow_runs_total", dict(base, outcome="success"), good))
        out.append(("odoo_workflow_runs_total", dict(base, outcome="failure"), bad))
    else:
        metric = (
            "odoo_workflow_start_delay_seconds"
            if defn["sli_type"] == "cron_on_time"
            else "odoo_workflow_duration_seconds"
        )
        out.append((metric + "_bucket", dict(base, le=_format_le(defn["threshold"])), good))
        out.append((metric + "_bucket", dict(base, le="+Inf"), total))
        out.append((metric + "_count", dict(base), total))
        out.append(("odoo_workflow_runs_total", dict(base, outcome="success"), total))
    return out


def _series_name(metric, labels):
    return "%s{%s}" % (metric, ", ".join('%s="%s"' % (k, v) for k, v in sorted(labels.items())))


def _slo_series(defn, tenant, objective, minutes, budget_remaining=None):
    labels = dict(SCRAPE_LABELS, tenant=tenant, slo=defn["key"])
    out = [
        {
            "series": _series_name("odoo_slo_objective_ratio", labels),
            "values": "%s+0x%d" % (objective, minutes),
        },
    ]
    if defn["min_events"] != slo_math.DEFAULT_MIN_EVENTS:  # as exported: only a changed default
        out.append(
            {
                "series": _series_name("odoo_slo_min_events", labels),
                "values": "%d+0x%d" % (defn["min_events"], minutes),
            }
        )
    if budget_remaining is not None:
        out.append(
            {
                "series": _series_name("odoo_slo_error_budget_remaining_ratio", labels),
                "values": "%s+0x%d" % (budget_remaining, minutes),
            }
        )
    return out


def _render_annotations(defn, kind, tier, tenant):
    return {
        k: v.replace("{{ $labels.tenant }}", tenant)
        for k, v in rules_mod.annotations(defn, kind, tier).items()
    }


def _burn_exp_alert(defn, tier_name, tenant):
    tier = next(t for t in slo_math.TIERS if t[0] == tier_name)
    _name, severity, long, short, _share, _for = tier
    return {
        "exp_labels": {
            "tenant": tenant,
            "slo": defn["key"],
            "workflow": defn["workflow"],
            "severity": severity,
            "burn_tier": severity,
            "long_window": long,
            "short_window": short,
        },
        "exp_annotations": _render_annotations(defn, "burn", tier, tenant),
    }


def _scenario(
    defn, name, phases_a, phases_b=None, budget_remaining=None, eval_at=None, require=None, forbid=None
):
    """One promtool test: tenant A runs phases_a with the SLO's objective, tenant B
    runs phases_b (default: same traffic) with a looser objective."""
    objectives = {TENANT_A: defn["objective"], TENANT_B: _looser_objective(defn)}
    traffic = {TENANT_A: phases_a, TENANT_B: phases_b if phases_b is not None else phases_a}
    minutes = max(sum(p[0] for p in ph) for ph in traffic.values() if ph) if any(traffic.values()) else 30
    t_eval = eval_at if eval_at is not None else minutes
    series = []
    burn, no_data = [], []
    for tenant in (TENANT_A, TENANT_B):
        series.extend(
            _slo_series(
                defn,
                tenant,
                objectives[tenant],
                minutes,
                budget_remaining.get(tenant) if budget_remaining else None,
            )
        )
        phases = traffic[tenant]
        if not phases:
            if t_eval >= FOR_MIN[rules_mod.NO_DATA_FOR]:
                no_data.append(tenant)
            continue
        total, bad = _cumulative(phases)
        for metric, labels, values in _input_series(defn, tenant, total, bad):
            series.append({"series": _series_name(metric, labels), "values": _series_values(values)})
        for tier_name in expected_burn_alerts(defn, objectives[tenant], total, bad, t_eval):
            burn.append(_burn_exp_alert(defn, tier_name, tenant))
    fired_tiers = {(a["exp_labels"]["tenant"], a["exp_labels"]["burn_tier"]) for a in burn}
    for tenant, tier in require or ():
        if (tenant, tier) not in fired_tiers:
            raise slo_math.SloDefinitionError(
                "%s: scenario %s cannot make the %s tier fire for %s; objective or window out of "
                "the range the generated tests cover" % (defn["key"], name, tier, tenant)
            )
    for tenant, tier in forbid or ():
        if (tenant, tier) in fired_tiers:
            raise slo_math.SloDefinitionError(
                "%s: scenario %s would fire %s for %s" % (defn["key"], name, tier, tenant)
            )
    exhausted = []
    for tenant, value in (budget_remaining or {}).items():
        if value <= 0 and t_eval >= FOR_MIN.get(rules_mod.EXHAUSTED_FOR, 5):
            exhausted.append(
                {
                    "exp_labels": {
                        "tenant": tenant,
                        "slo": defn["key"],
                        "workflow": defn["workflow"],
                        "severity": "ticket",
                    },
                    "exp_annotations": _render_annotations(defn, "exhausted", None, tenant),
                }
            )
    time = "%dm" % t_eval
    return {
        "name": "%s: %s" % (defn["key"], name),
        "interval": "%dm" % INTERVAL_MIN,
        "input_series": series,
        "alert_rule_test": [
            {"eval_time": time, "alertname": rules_mod.ALERT_BURN, "exp_alerts": burn},
            {
                "eval_time": time,
                "alertname": rules_mod.ALERT_NO_DATA,
                "exp_alerts": [
                    {
                        "exp_labels": {
                            "tenant": t,
                            "slo": defn["key"],
                            "workflow": defn["workflow"],
                            "severity": "ticket",
                        },
                        "exp_annotations": _render_annotations(defn, "no_data", None, t),
                    }
                    for t in no_data
                ],
            },
            {"eval_time": time, "alertname": rules_mod.ALERT_EXHAUSTED, "exp_alerts": exhausted},
            {"eval_time": time, "alertname": rules_mod.ALERT_OBJECTIVES_MISSING, "exp_alerts": []},
        ],
    }


def scenarios(defn):
    """The test cases of one (normalized) definition."""
    factors = slo_math.tier_factors(defn["window_days"])
    budget = 1.0 - defn["objective"]
    per_min = max(1000, defn["min_events"])
    f_page_fast, f_page_slow = factors["page_fast"], factors["page_slow"]
    f_ticket_fast = factors["ticket_fast"]
    tests = []
    # healthy: errors at half the most sensitive threshold, long enough for every `for`
    healthy_err = 0.5 * min(factors.values()) * budget
    tests.append(
        _scenario(
            defn,
            "healthy traffic fires nothing",
            [(240, per_min, healthy_err)],
            forbid=[(TENANT_A, "page"), (TENANT_A, "ticket")],
        )
    )
    # fast burn: healthy traffic filling the 6h window, then a total outage long enough to spend
    # twice the page threshold of the 1h window
    burst = min(60, max(10, int(math.ceil(2 * 60 * f_page_fast * budget))))
    tests.append(
        _scenario(
            defn,
            "fast burn pages",
            [(400, per_min, 0.0), (burst, per_min, 1.0)],
            require=[(TENANT_A, "page")],
        )
    )
    # slow burn: constant burn between the ticket and the page factors, long
    # enough for the 3h `for` of the 3d/6h tier once the 3d window has a sample
    slow = math.sqrt(f_page_slow * f_ticket_fast) * budget
    tests.append(
        _scenario(
            defn,
            "slow burn opens only tickets",
            [(270, per_min, slow)],
            require=[(TENANT_A, "ticket")],
            forbid=[(TENANT_A, "page")],
        )
    )
    # under the minimum traffic: a total outage with too few events to judge
    few = max(1, defn["min_events"] // 2)
    tests.append(
        _scenario(
            defn,
            "traffic under the minimum fires nothing",
            [(10, 0, 0.0), (60, few / 60.0, 1.0)],
            forbid=[(TENANT_A, "page"), (TENANT_A, "ticket")],
        )
    )
    # absent data: the SLO is defined (objective exported) but no workflow series
    tests.append(_scenario(defn, "absent data fires the no-data alert", [], phases_b=[], eval_at=30))
    # budget exhausted (the ledger's exact figure, exported by Odoo)
    tests.append(
        _scenario(
            defn,
            "spent budget fires the exhaustion alert",
            [(30, per_min, healthy_err)],
            budget_remaining={TENANT_A: -0.25, TENANT_B: 0.6},
        )
    )
    return tests


def test_document(definitions, rule_file):
    """The ``promtool test rules`` document for the rules of these definitions."""
    merged, errors = rules_mod.merge_definitions(definitions)
    if errors:
        raise slo_math.SloDefinitionError("; ".join(errors))
    tests = []
    for defn in merged:
        tests.extend(scenarios(defn))
    # recording rules first, as the alerts read them: without an explicit order promtool
    # evaluates groups in a random order and an alert may read the previous step's values
    return {
        "rule_files": [rule_file],
        "evaluation_interval": "%dm" % INTERVAL_MIN,
        "group_eval_order": [group["name"] for group in rules_mod.rule_groups(definitions)["groups"]],
        "tests": tests,
    }


def render_tests(definitions, rule_file):
    return rules_mod.dump_yaml(
        test_document(definitions, rule_file),
        header="Generated by logistics_slo: promtool test rules %s" % "<this file>",
    )
