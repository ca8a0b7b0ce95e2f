"""OpenSLO v1 export of SLO definitions (one SLO document per tenant and SLO).

The SLI is an inline ratio of Prometheus counters (good / total) filtered on the
tenant; alert conditions mirror the generated burn-rate tiers.
"""

from . import rules as rules_mod
from . import slo_math


def _name(*parts):
    text = "-".join(str(p) for p in parts if p)
    text = "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
    while "--" in text:
        text = text.replace("--", "-")
    return text[:63].strip("-")


def _with_tenant(selector, tenant):
    return selector[:-1] + ',tenant="%s"}' % tenant


def slo_documents(tenant, definition):
    defn = slo_math.normalize(definition)
    good, total = rules_mod.openslo_queries(defn)
    factors = slo_math.tier_factors(defn["window_days"])
    name = _name(tenant, defn["key"])
    conditions = []
    for tier, severity, long, short, _share, for_ in slo_math.TIERS:
        conditions.append(
            {
                "kind": "AlertCondition",
                "metadata": {"name": _name(name, tier)},
                "spec": {
                    "description": "%s burn over %s and %s" % (severity, long, short),
                    "severity": severity,
                    "condition": {
                        "kind": "burnrate",
                        "op": "gt",
                        "threshold": factors[tier],
                        "lookbackWindow": long,
                        "alertAfter": for_,
                    },
                },
            }
        )
    metadata = {
        "name": name,
        "displayName": defn.get("name") or defn["key"],
        "labels": {"tenant": [tenant], "workflow": [defn["workflow"]], "slo": [defn["key"]]},
    }
    annotations = {"logistics-slo/first-action": defn["first_action"]}
    if defn.get("runbook_url"):
        annotations["logistics-slo/runbook-url"] = defn["runbook_url"]
    if defn.get("owner"):
        annotations["logistics-slo/owner"] = defn["owner"]
    metadata["annotations"] = annotations
    return [
        {
            "apiVersion": "openslo/v1",
            "kind": "SLO",
            "metadata": metadata,
            "spec": {
                "description": "%s SLO of workflow %s for tenant %s"
                % (defn["sli_type"], defn["workflow"], tenant),
                "service": tenant,
                "indicator": {
                    "metadata": {"name": _name(name, "sli")},
                    "spec": {
                        "ratioMetric": {
                            "counter": True,
                            "good": {
                                "metricSource": {
                                    "type": "Prometheus",
                                    "spec": {"query": "sum(%s)" % _with_tenant(good, tenant)},
                                }
                            },
                            "total": {
                                "metricSource": {
                                    "type": "Prometheus",
                                    "spec": {"query": "sum(%s)" % _with_tenant(total, tenant)},
                                }
                            },
                        }
                    },
                },
                "timeWindow": [{"duration": "%dd" % defn["window_days"], "isRolling": True}],
                "budgetingMethod": "Occurrences",
                "objectives": [{"displayName": defn.get("name") or defn["key"], "target": defn["objective"]}],
                "alertPolicies": [
                    {
                        "kind": "AlertPolicy",
                        "metadata": {"name": _name(name, "burn")},
                        "spec": {
                            "description": "Multiwindow multi-burn-rate alerts",
                            "alertWhenBreaching": True,
                            "notificationTargets": [],
                            "conditions": conditions,
                        },
                    }
                ],
            },
        }
    ]


def render(tenant_definitions):
    """Multi-document YAML for [(tenant, definition), ...]."""
    import yaml

    docs = []
    for tenant, defn in tenant_definitions:
        docs.extend(slo_documents(tenant, defn))
    return yaml.dump_all(docs, Dumper=rules_mod._Dumper, sort_keys=False, allow_unicode=True, width=100)
