#!/usr/bin/env python3
# ruff: noqa: E501  (PromQL queries read better on one line)
"""Writes the Grafana dashboards (deploy/grafana/dashboards/*.json).

The JSON files are committed; edit this script and rerun it rather than editing them:
    python3 deploy/grafana/generate_dashboards.py
Queries only use metrics the addons export, Prometheus' own `up` / `ALERTS`, and the
recording rules of deploy/prometheus/rules (tests check this).
"""

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent / "dashboards"
DS = {"type": "prometheus", "uid": "prometheus"}
RI = "$__rate_interval"
# Latency histograms whose buckets carry exemplars (trace_id): their panels show them, and the
# datasource's exemplarTraceIdDestinations turns a trace_id into a link to its log lines.
EXEMPLAR_HISTOGRAMS = (
    "odoo_http_request_duration_seconds_bucket",
    "odoo_workflow_duration_seconds_bucket",
    "odoo_carrier_request_duration_seconds_bucket",
)


class Board:
    def __init__(self, uid, title, description, tags=(), variables=()):
        self.uid, self.title, self.description = uid, title, description
        self.tags = ["odoo", "logistics", *tags]
        self.variables = list(variables)
        self.panels = []
        self.y = 0
        self.x = 0
        self.row_h = 0

    def row(self, title):
        self._newline()
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "collapsed": False,
                "panels": [],
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
                "id": len(self.panels) + 1,
            }
        )
        self.y += 1

    def _newline(self):
        if self.x:
            self.y += self.row_h
            self.x, self.row_h = 0, 0

    def panel(self, kind, title, targets, w=12, h=8, unit=None, description="", **extra):
        if self.x + w > 24:
            self._newline()
        panel = {
            "id": len(self.panels) + 1,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DS,
            "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y},
            "targets": [
                {
                    "refId": chr(ord("A") + i),
                    "datasource": DS,
                    "expr": expr,
                    "legendFormat": legend,
                    **({"format": "table", "instant": True} if kind == "table" else {"range": True}),
                    **(
                        {"exemplar": True}
                        if kind == "timeseries" and any(h in expr for h in EXEMPLAR_HISTOGRAMS)
                        else {}
                    ),
                }
                for i, (expr, legend) in enumerate(targets)
            ],
            "fieldConfig": {"defaults": {"unit": unit or "short"}, "overrides": []},
            "options": {},
        }
        if kind == "timeseries":
            panel["options"] = {
                "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                "tooltip": {"mode": "multi", "sort": "desc"},
            }
        if kind == "stat":
            panel["options"] = {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "background",
                "graphMode": "none",
                "textMode": "auto",
            }
        for key, value in extra.items():
            if key == "thresholds":
                panel["fieldConfig"]["defaults"]["thresholds"] = {
                    "mode": "absolute",
                    "steps": [{"color": c, "value": v} for v, c in value],
                }
            elif key == "mappings":
                panel["fieldConfig"]["defaults"]["mappings"] = value
            else:
                panel[key] = value
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)

    def render(self):
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "timezone": "utc",
            "schemaVersion": 39,
            "version": 1,
            "editable": False,
            "graphTooltip": 1,
            "refresh": "1m",
            "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": self.variables},
            "annotations": {
                "list": [
                    {
                        "name": "Releases",
                        "datasource": DS,
                        "enable": True,
                        "iconColor": "blue",
                        "expr": "count by (release) (odoo_build_info) unless count by (release) (odoo_build_info offset 5m)",
                        "titleFormat": "release {{release}}",
                        "step": "1m",
                    },
                    CHANGES_ANNOTATION,
                ]
            },
            "links": [
                {"type": "dashboards", "tags": ["logistics"], "asDropdown": True, "title": "Logistics"}
            ],
            "panels": self.panels,
        }


# A tenant's change (module operation, parameter, setting, scheduled action): its latest-change
# series appears or moves.
_LAST_CHANGE = "max by (tenant, kind, operation, target) (odoo_last_change_timestamp_seconds%s)"
CHANGES_ANNOTATION = {
    "name": "Changes",
    "datasource": DS,
    "enable": True,
    "iconColor": "orange",
    "expr": "(%s unless %s) or (changes(%s[5m:1m]) > 0)"
    % (_LAST_CHANGE % "", _LAST_CHANGE % " offset 5m", _LAST_CHANGE % ""),
    "titleFormat": "{{tenant}}: {{kind}} {{operation}} {{target}}",
    "step": "1m",
}


def var(name, query, label=None, multi=True, include_all=True):
    return {
        "name": name,
        "label": label or name,
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": "%s-var" % name},
        "definition": query,
        "refresh": 2,
        "multi": multi,
        "includeAll": include_all,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]} if include_all else {},
        "sort": 1,
    }


TENANT = var("tenant", "label_values(odoo_http_requests_total, tenant)")
WORKFLOW = var("workflow", "label_values(odoo_workflow_runs_total, workflow)")
T = 'tenant=~"$tenant"'
UP_MAP = [
    {
        "type": "value",
        "options": {"0": {"text": "DOWN", "color": "red"}, "1": {"text": "UP", "color": "green"}},
    }
]
RED_GREEN = [(None, "red"), (1, "green")]


def overview():
    b = Board(
        "odoo-platform-overview",
        "Odoo logistics: platform overview",
        "Executive view: is the platform healthy, per workflow and tenant.",
        ("overview",),
    )
    b.row("Platform")
    b.panel(
        "stat",
        "Odoo instances scraped",
        [('sum(up{job="odoo"})', "")],
        w=4,
        h=4,
        thresholds=[(None, "red"), (1, "green")],
    )
    b.panel("stat", "PostgreSQL", [("min(odoo_pg_up)", "")], w=4, h=4, mappings=UP_MAP, thresholds=RED_GREEN)
    b.panel("stat", "Redis", [("min(odoo_redis_up)", "")], w=4, h=4, mappings=UP_MAP, thresholds=RED_GREEN)
    b.panel(
        "stat",
        "Paging alerts firing",
        [('count(ALERTS{alertstate="firing",severity="page"}) or vector(0)', "")],
        w=4,
        h=4,
        thresholds=[(None, "green"), (1, "red")],
    )
    b.panel(
        "stat",
        "HTTP 5xx ratio (15 min)",
        [
            (
                'sum(rate(odoo_http_requests_total{status="5xx"}[15m])) / sum(rate(odoo_http_requests_total[15m]))',
                "",
            )
        ],
        w=4,
        h=4,
        unit="percentunit",
        thresholds=[(None, "green"), (0.01, "orange"), (0.05, "red")],
    )
    b.panel(
        "stat",
        "HTTP workers busy",
        [('sum(odoo_http_requests_in_flight) / sum(odoo_worker_processes{type="http"})', "")],
        w=4,
        h=4,
        unit="percentunit",
        thresholds=[(None, "green"), (0.7, "orange"), (0.9, "red")],
    )
    b.row("Service health per workflow and tenant")
    b.panel(
        "table",
        "Workflow failure ratio (last hour) by tenant",
        [
            (
                'sum by (tenant, workflow) (increase(odoo_workflow_runs_total{outcome="failure"}[1h]))'
                " / sum by (tenant, workflow) (increase(odoo_workflow_runs_total[1h]))",
                "",
            )
        ],
        w=12,
        h=10,
        unit="percentunit",
        thresholds=[(None, "green"), (0.02, "orange"), (0.1, "red")],
        description="Failures / runs per tenant and workflow over the last hour.",
    )
    b.panel(
        "table",
        "SLO error budget remaining",
        [("min by (tenant, slo) (odoo_slo_error_budget_remaining_ratio)", "")],
        w=12,
        h=10,
        unit="percentunit",
        thresholds=[(None, "red"), (0.25, "orange"), (0.5, "green")],
    )
    b.panel(
        "timeseries",
        "Workflow runs by outcome",
        [
            (
                "sum by (workflow, outcome) (rate(odoo_workflow_runs_total[%s]))" % RI,
                "{{workflow}} {{outcome}}",
            )
        ],
        unit="ops",
    )
    b.panel(
        "timeseries",
        "Workflow p95 duration",
        [
            (
                "histogram_quantile(0.95, sum by (le, workflow) (rate(odoo_workflow_duration_seconds_bucket[%s])))"
                % RI,
                "{{workflow}}",
            )
        ],
        unit="s",
    )
    b.row("Firing alerts")
    b.panel(
        "table",
        "Firing alerts",
        [('max by (alertname, severity, tenant) (ALERTS{alertstate="firing"})', "")],
        w=24,
        h=8,
    )
    b.row("HTTP")
    b.panel(
        "timeseries",
        "Requests by status class",
        [("sum by (status) (rate(odoo_http_requests_total[%s]))" % RI, "{{status}}")],
        unit="reqps",
    )
    b.panel(
        "timeseries",
        "Request latency p95 by route (top 10)",
        [
            (
                "topk(10, histogram_quantile(0.95, sum by (le, route) "
                "(rate(odoo_http_request_duration_seconds_bucket[%s]))))" % RI,
                "{{route}}",
            )
        ],
        unit="s",
    )
    b.panel(
        "timeseries",
        "Workers and requests in flight",
        [
            ("sum by (type) (odoo_worker_processes)", "{{type}} workers"),
            ("sum(odoo_http_requests_in_flight)", "in flight"),
        ],
    )
    b.panel(
        "timeseries",
        "Busiest tenants (request-seconds per second)",
        [("topk(10, sum by (tenant) (rate(odoo_tenant_request_seconds_total[%s])))" % RI, "{{tenant}}")],
        unit="s",
        description="Average busy workers per tenant: noisy neighbours and cost allocation.",
    )
    b.panel(
        "table",
        "Releases running",
        [("max by (instance, version, release, env, region, service) (odoo_build_info)", "")],
        w=24,
        h=5,
    )
    return b


def tenant():
    b = Board(
        "odoo-tenant",
        "Odoo logistics: tenant drill-down",
        "Everything about one tenant database.",
        ("tenant",),
        [var("tenant", "label_values(odoo_http_requests_total, tenant)", multi=False, include_all=False)],
    )
    b.row("Traffic")
    b.panel(
        "timeseries",
        "Requests by route (all tenants)",
        [("topk(15, sum by (route) (rate(odoo_http_request_duration_seconds_count[%s])))" % RI, "{{route}}")],
        unit="reqps",
        description="Routes are not tenant-labelled at the default detail level (the series budget); "
        "with observability_metrics_detail = full, odoo_http_requests_total has them per tenant.",
    )
    b.panel(
        "timeseries",
        "Requests by status class",
        [("sum by (status) (rate(odoo_http_requests_total{%s}[%s]))" % (T, RI), "{{status}}")],
        unit="reqps",
    )
    b.panel(
        "timeseries",
        "Share of the instance's request time",
        [
            (
                "sum(rate(odoo_tenant_request_seconds_total{%s}[%s])) / sum(rate(odoo_tenant_request_seconds_total[%s]))"
                % (T, RI, RI),
                "share",
            )
        ],
        unit="percentunit",
    )
    b.panel(
        "timeseries",
        "SQL time and queries",
        [
            ("sum(rate(odoo_tenant_sql_seconds_total{%s}[%s]))" % (T, RI), "SQL seconds/s"),
            ("sum(rate(odoo_tenant_sql_queries_total{%s}[%s]))" % (T, RI), "queries/s"),
        ],
    )
    b.row("Workflows")
    b.panel(
        "timeseries",
        "Workflow runs by outcome",
        [
            (
                "sum by (workflow, outcome) (rate(odoo_workflow_runs_total{%s}[%s]))" % (T, RI),
                "{{workflow}} {{outcome}}",
            )
        ],
        unit="ops",
    )
    b.panel(
        "timeseries",
        "Workflow p95 duration",
        [
            (
                "histogram_quantile(0.95, sum by (le, workflow) (rate(odoo_workflow_duration_seconds_bucket{%s}[%s])))"
                % (T, RI),
                "{{workflow}}",
            )
        ],
        unit="s",
    )
    b.row("Crons, queues, backups")
    b.panel(
        "table",
        "Late or failing crons",
        [
            ("max by (cron) (odoo_cron_lateness_seconds{%s}) > 0" % T, ""),
            ("max by (cron) (odoo_cron_failing{%s}) > 0" % T, ""),
        ],
        w=12,
        h=8,
    )
    b.panel(
        "timeseries",
        "Queue: oldest pending job age",
        [("max by (channel) (odoo_queue_oldest_pending_age_seconds{%s})" % T, "{{channel}}")],
        unit="s",
    )
    b.panel(
        "table",
        "Backup age by kind",
        [("time() - max by (kind) (odoo_backup_last_success_timestamp_seconds{%s})" % T, "")],
        w=12,
        h=6,
        unit="s",
        thresholds=[(None, "green"), (93600, "orange"), (180000, "red")],
    )
    b.panel(
        "stat",
        "Last restore drill",
        [("time() - max(odoo_restore_test_last_success_timestamp_seconds{%s})" % T, "")],
        w=6,
        h=6,
        unit="s",
        thresholds=[(None, "green"), (2592000, "orange"), (3024000, "red")],
    )
    b.panel(
        "stat", "Database size", [("max(odoo_pg_database_size_bytes{%s})" % T, "")], w=6, h=6, unit="bytes"
    )
    b.row("PostgreSQL and SLOs")
    b.panel(
        "timeseries", "Connections by state", [("sum by (state) (odoo_pg_connections{%s})" % T, "{{state}}")]
    )
    b.panel(
        "timeseries",
        "Longest transaction / waiting locks",
        [
            ("max(odoo_pg_longest_transaction_seconds{%s})" % T, "longest transaction (s)"),
            ("max(odoo_pg_locks_waiting{%s})" % T, "locks waiting"),
        ],
    )
    b.panel(
        "table",
        "SLOs",
        [
            ("min by (slo) (odoo_slo_error_budget_remaining_ratio{%s})" % T, ""),
            ("max by (slo) (tenant_slo:odoo_slo_burn_rate:rate1h{%s})" % T, ""),
        ],
        w=24,
        h=6,
    )
    return b


def workflows():
    w_sel = 'tenant=~"$tenant",workflow=~"$workflow"'
    b = Board(
        "odoo-workflows",
        "Odoo logistics: workflows",
        "Order release, dispatch, proof of delivery, invoicing, carrier calls and crons.",
        ("workflows",),
        [TENANT, WORKFLOW],
    )
    b.panel(
        "timeseries",
        "Runs by outcome",
        [
            (
                "sum by (workflow, outcome) (rate(odoo_workflow_runs_total{%s}[%s]))" % (w_sel, RI),
                "{{workflow}} {{outcome}}",
            )
        ],
        unit="ops",
    )
    b.panel(
        "timeseries",
        "Failure ratio",
        [
            (
                'sum by (workflow) (rate(odoo_workflow_runs_total{%s,outcome="failure"}[%s]))'
                " / sum by (workflow) (rate(odoo_workflow_runs_total{%s}[%s]))" % (w_sel, RI, w_sel, RI),
                "{{workflow}}",
            )
        ],
        unit="percentunit",
    )
    for q in ("0.5", "0.95", "0.99"):
        b.panel(
            "timeseries",
            "Duration p%s" % q[2:].ljust(2, "0"),
            [
                (
                    "histogram_quantile(%s, sum by (le, workflow) (rate(odoo_workflow_duration_seconds_bucket{%s}[%s])))"
                    % (q, w_sel, RI),
                    "{{workflow}}",
                )
            ],
            w=8,
            unit="s",
        )
    b.panel(
        "timeseries",
        "SQL queries per run p95 (all tenants)",
        [
            (
                "histogram_quantile(0.95, sum by (le, workflow) "
                '(rate(odoo_workflow_sql_queries_bucket{workflow=~"$workflow"}[%s])))' % RI,
                "{{workflow}}",
            )
        ],
    )
    b.panel(
        "timeseries",
        "Cron start delay p95",
        [
            (
                "histogram_quantile(0.95, sum by (le, workflow) (rate(odoo_workflow_start_delay_seconds_bucket{%s}[%s])))"
                % (w_sel, RI),
                "{{workflow}}",
            )
        ],
        unit="s",
        description="Time from when a cron was due to when it started.",
    )
    b.row("Carriers")
    b.panel(
        "timeseries",
        "Carrier requests by outcome (all tenants)",
        [
            (
                "sum by (carrier, operation, outcome) (rate(odoo_carrier_requests_total[%s]))" % RI,
                "{{carrier}} {{operation}} {{outcome}}",
            )
        ],
        unit="reqps",
    )
    b.panel(
        "timeseries",
        "Carrier request p95 duration (all tenants)",
        [
            (
                "histogram_quantile(0.95, sum by (le, carrier, operation) "
                "(rate(odoo_carrier_request_duration_seconds_bucket[%s])))" % RI,
                "{{carrier}} {{operation}}",
            )
        ],
        unit="s",
    )
    b.panel(
        "table",
        "Runs in the last 24 h",
        [("sum by (tenant, workflow, outcome) (increase(odoo_workflow_runs_total{%s}[24h]))" % w_sel, "")],
        w=24,
        h=8,
    )
    return b


def crons_queues():
    b = Board(
        "odoo-crons-queues",
        "Odoo logistics: crons and queues",
        "Scheduled actions, queue_job channels, mail queue and worker capacity.",
        ("crons", "queues"),
        [TENANT],
    )
    b.row("Crons")
    b.panel(
        "table",
        "Late crons (seconds past nextcall)",
        [("topk(20, max by (tenant, cron) (odoo_cron_lateness_seconds{%s}) > 0)" % T, "")],
        unit="s",
        thresholds=[(None, "green"), (300, "orange"), (1800, "red")],
    )
    b.panel(
        "table",
        "Failing crons (consecutive failures)",
        [("max by (tenant, cron) (odoo_cron_failing{%s}) > 0" % T, "")],
        thresholds=[(None, "green"), (1, "orange"), (3, "red")],
    )
    b.panel(
        "timeseries",
        "Cron runs by outcome",
        [
            (
                'sum by (outcome) (rate(odoo_workflow_runs_total{workflow="cron",%s}[%s]))' % (T, RI),
                "{{outcome}}",
            )
        ],
        unit="ops",
    )
    b.panel(
        "timeseries",
        "Slowest crons p95 (all tenants)",
        [
            (
                "topk(10, histogram_quantile(0.95, sum by (le, cron) "
                "(rate(odoo_cron_duration_seconds_bucket[%s]))))" % RI,
                "{{cron}}",
            )
        ],
        unit="s",
    )
    b.row("Queues")
    b.panel(
        "timeseries", "queue_job jobs by state", [("sum by (state) (odoo_queue_jobs{%s})" % T, "{{state}}")]
    )
    b.panel(
        "timeseries",
        "Oldest pending job age by channel",
        [
            (
                "max by (tenant, channel) (odoo_queue_oldest_pending_age_seconds{%s})" % T,
                "{{tenant}} {{channel}}",
            )
        ],
        unit="s",
    )
    b.panel("timeseries", "Mail queue", [("sum by (state) (odoo_mail_queue{%s})" % T, "{{state}}")])
    b.panel("timeseries", "Cron workers", [('sum(odoo_worker_processes{type="cron"})', "cron workers")])
    return b


def postgres_redis():
    b = Board(
        "odoo-postgres-redis",
        "Odoo logistics: PostgreSQL and Redis",
        "Dependencies as seen from Odoo's collectors.",
        ("postgresql", "redis"),
        [TENANT],
    )
    b.row("PostgreSQL")
    b.panel("stat", "PostgreSQL", [("min(odoo_pg_up)", "")], w=4, h=4, mappings=UP_MAP, thresholds=RED_GREEN)
    b.panel(
        "stat",
        "Connections used",
        [("max(sum by (instance) (odoo_pg_connections)) / on () :odoo_pg_max_connections:max", "")],
        w=4,
        h=4,
        unit="percentunit",
        thresholds=[(None, "green"), (0.7, "orange"), (0.85, "red")],
    )
    b.panel(
        "stat",
        "WAL archive age",
        [("max(odoo_pg_wal_archive_last_success_age_seconds)", "")],
        w=4,
        h=4,
        unit="s",
        thresholds=[(None, "green"), (900, "orange"), (3600, "red")],
    )
    b.panel(
        "stat",
        "WAL archive failures (1 h)",
        [("sum(increase(odoo_pg_wal_archive_failed_total[1h]))", "")],
        w=4,
        h=4,
        thresholds=[(None, "green"), (1, "red")],
    )
    b.panel(
        "stat",
        "Max replication lag",
        [("max(odoo_pg_replication_lag_seconds) or vector(0)", "")],
        w=8,
        h=4,
        unit="s",
        thresholds=[(None, "green"), (60, "orange"), (600, "red")],
    )
    b.panel(
        "timeseries",
        "Connections by tenant and state",
        [("sum by (tenant, state) (odoo_pg_connections{%s})" % T, "{{tenant}} {{state}}")],
    )
    b.panel(
        "timeseries",
        "Longest transaction and waiting locks",
        [
            (
                "topk(5, max by (tenant) (odoo_pg_longest_transaction_seconds{%s}))" % T,
                "{{tenant}} longest tx (s)",
            ),
            ("sum(odoo_pg_locks_waiting{%s})" % T, "locks waiting"),
        ],
    )
    b.panel(
        "timeseries",
        "Database size (top 10)",
        [("topk(10, max by (tenant) (odoo_pg_database_size_bytes{%s}))" % T, "{{tenant}}")],
        unit="bytes",
    )
    b.panel(
        "timeseries",
        "Replication lag",
        [("max by (replica) (odoo_pg_replication_lag_seconds)", "{{replica}}")],
        unit="s",
    )
    b.panel(
        "timeseries",
        "SQL time per request p95 by route",
        [
            (
                "topk(10, histogram_quantile(0.95, sum by (le, route) (rate(odoo_http_request_sql_seconds_bucket[%s]))))"
                % RI,
                "{{route}}",
            )
        ],
        unit="s",
    )
    b.panel(
        "timeseries",
        "SQL queries per request p95 by route",
        [
            (
                "topk(10, histogram_quantile(0.95, sum by (le, route) (rate(odoo_http_request_sql_queries_bucket[%s]))))"
                % RI,
                "{{route}}",
            )
        ],
    )
    b.panel(
        "timeseries",
        "SQL seconds per tenant (top 10)",
        [("topk(10, sum by (tenant) (rate(odoo_tenant_sql_seconds_total{%s}[%s])))" % (T, RI), "{{tenant}}")],
        unit="s",
    )
    b.panel(
        "timeseries",
        "SQL queries per tenant (top 10)",
        [("topk(10, sum by (tenant) (rate(odoo_tenant_sql_queries_total{%s}[%s])))" % (T, RI), "{{tenant}}")],
        unit="ops",
    )
    b.row("Redis")
    b.panel("stat", "Redis", [("min(odoo_redis_up)", "")], w=6, h=4, mappings=UP_MAP, thresholds=RED_GREEN)
    b.panel(
        "stat",
        "Memory used / max",
        [("max(odoo_redis_memory_used_bytes) / max(odoo_redis_memory_max_bytes > 0)", "")],
        w=6,
        h=4,
        unit="percentunit",
        thresholds=[(None, "green"), (0.8, "orange"), (0.9, "red")],
    )
    b.panel("stat", "Connected clients", [("max(odoo_redis_connected_clients)", "")], w=6, h=4)
    b.panel(
        "stat",
        "Hit ratio (1 h)",
        [
            (
                "sum(rate(odoo_redis_keyspace_hits_total[1h])) / (sum(rate(odoo_redis_keyspace_hits_total[1h]))"
                " + sum(rate(odoo_redis_keyspace_misses_total[1h])))",
                "",
            )
        ],
        w=6,
        h=4,
        unit="percentunit",
    )
    b.panel(
        "timeseries",
        "Memory",
        [("max(odoo_redis_memory_used_bytes)", "used"), ("max(odoo_redis_memory_max_bytes)", "maxmemory")],
        unit="bytes",
    )
    b.panel(
        "timeseries", "Evictions", [("sum(rate(odoo_redis_evicted_keys_total[%s]))" % RI, "evicted keys/s")]
    )
    b.row("Collectors")
    b.panel("timeseries", "Collector up", [("min by (collector) (odoo_collector_up)", "{{collector}}")])
    b.panel(
        "timeseries",
        "Collector duration",
        [("max by (collector) (odoo_collector_duration_seconds)", "{{collector}}")],
        unit="s",
    )
    return b


def backups():
    b = Board(
        "odoo-backups",
        "Odoo logistics: backups",
        "Backup freshness, failures and restore drills.",
        ("backups",),
        [TENANT],
    )
    b.panel(
        "table",
        "Age of the last successful backup",
        [("time() - max by (tenant, kind) (odoo_backup_last_success_timestamp_seconds{%s})" % T, "")],
        unit="s",
        w=12,
        h=10,
        thresholds=[(None, "green"), (93600, "orange"), (180000, "red")],
    )
    b.panel(
        "table",
        "Last backup status (0 = failed)",
        [("min by (tenant, kind) (odoo_backup_last_status{%s})" % T, "")],
        w=12,
        h=10,
        thresholds=[(None, "red"), (1, "green")],
    )
    b.panel(
        "table",
        "Age of the last successful restore drill",
        [("time() - max by (tenant) (odoo_restore_test_last_success_timestamp_seconds{%s})" % T, "")],
        unit="s",
        w=12,
        h=10,
        thresholds=[(None, "green"), (2592000, "orange"), (3024000, "red")],
    )
    b.panel(
        "table",
        "Tenants with backups and no drill",
        [
            (
                "max by (tenant) (odoo_backup_last_success_timestamp_seconds{%s}) unless on (tenant) "
                "max by (tenant) (odoo_restore_test_last_success_timestamp_seconds > 0)" % T,
                "",
            )
        ],
        w=12,
        h=10,
    )
    b.panel(
        "timeseries",
        "Backup size (full detail level)",
        [("max by (tenant, kind) (odoo_backup_last_size_bytes{%s})" % T, "{{tenant}} {{kind}}")],
        unit="bytes",
    )
    b.panel(
        "timeseries",
        "Backup duration (full detail level)",
        [("max by (tenant, kind) (odoo_backup_last_duration_seconds{%s})" % T, "{{tenant}} {{kind}}")],
        unit="s",
    )
    b.panel(
        "timeseries",
        "WAL archive age",
        [("max(odoo_pg_wal_archive_last_success_age_seconds)", "age")],
        unit="s",
    )
    b.panel(
        "timeseries",
        "WAL archive failures",
        [("sum(increase(odoo_pg_wal_archive_failed_total[1h]))", "failures / 1 h")],
    )
    return b


def slos():
    b = Board(
        "odoo-slos",
        "Odoo logistics: SLOs",
        "Objectives, error budgets and burn rates per tenant.",
        ("slo",),
        [TENANT, var("slo", "label_values(odoo_slo_objective_ratio, slo)")],
    )
    s = 'tenant=~"$tenant",slo=~"$slo"'
    b.panel(
        "table",
        "Error budget remaining",
        [("min by (tenant, slo) (odoo_slo_error_budget_remaining_ratio{%s})" % s, "")],
        unit="percentunit",
        thresholds=[(None, "red"), (0.25, "orange"), (0.5, "green")],
        w=12,
        h=10,
    )
    b.panel(
        "table",
        "Objective vs. SLI (28 d, Odoo ledger)",
        [
            ("max by (tenant, slo) (odoo_slo_objective_ratio{%s})" % s, ""),
            # SLI from the budget left: remaining = 1 - (1 - SLI) / (1 - objective)
            (
                "1 - (1 - max by (tenant, slo) (odoo_slo_error_budget_remaining_ratio{%s}))"
                " * (1 - max by (tenant, slo) (odoo_slo_objective_ratio{%s}))" % (s, s),
                "",
            ),
        ],
        unit="percentunit",
        w=12,
        h=10,
    )
    b.panel(
        "timeseries",
        "Burn rate (Prometheus, 1 h and 6 h)",
        [
            ("max by (tenant, slo) (tenant_slo:odoo_slo_burn_rate:rate1h{%s})" % s, "{{tenant}} {{slo}} 1h"),
            ("max by (tenant, slo) (tenant_slo:odoo_slo_burn_rate:rate6h{%s})" % s, "{{tenant}} {{slo}} 6h"),
        ],
    )
    b.panel(
        "timeseries",
        "Burn rate (Prometheus, 1 d and 3 d)",
        [
            ("max by (tenant, slo) (tenant_slo:odoo_slo_burn_rate:rate1d{%s})" % s, "{{tenant}} {{slo}} 1d"),
            ("max by (tenant, slo) (tenant_slo:odoo_slo_burn_rate:rate3d{%s})" % s, "{{tenant}} {{slo}} 3d"),
        ],
    )
    b.panel(
        "timeseries",
        "Error ratio (Prometheus, 5 m)",
        [("max by (tenant, slo) (tenant_slo:odoo_slo_errors:ratio_rate5m{%s})" % s, "{{tenant}} {{slo}}")],
        unit="percentunit",
    )
    b.panel(
        "table",
        "SLO alerts firing",
        [
            (
                'max by (alertname, tenant, slo, burn_tier) (ALERTS{alertstate="firing",alertname=~"LogisticsSLO.*"})',
                "",
            )
        ],
    )
    return b


def security():
    b = Board(
        "odoo-security",
        "Odoo logistics: security and changes",
        "Authentication attempts, privilege changes and what changed, per tenant.",
        ("security",),
        [TENANT],
    )
    b.row("Authentication")
    b.panel(
        "timeseries",
        "Failed authentication attempts by tenant and method",
        [
            (
                'sum by (tenant, method) (rate(odoo_auth_attempts_total{outcome="failure",%s}[%s]))'
                % (T, RI),
                "{{tenant}} {{method}}",
            )
        ],
        unit="ops",
        description="web_login, rpc_password and api_key failures; a brute force shows as a wall of failures.",
    )
    b.panel(
        "timeseries",
        "Authentication failure ratio",
        [("tenant:odoo_auth_failure_ratio:rate10m{%s}" % T, "{{tenant}}")],
        unit="percentunit",
        description="Failures over all attempts (10 min); OdooLoginBruteForce fires above 80 % with 0.1 failures/s.",
    )
    b.panel(
        "stat",
        "Failed logins (24 h)",
        [('sum(increase(odoo_auth_attempts_total{outcome="failure",%s}[1d]))' % T, "")],
        w=8,
        h=5,
        thresholds=[(None, "green"), (20, "orange"), (200, "red")],
    )
    b.panel(
        "stat",
        "Administrator rights granted (7 d)",
        [('sum(increase(odoo_privilege_changes_total{change="admin_granted",%s}[7d]))' % T, "")],
        w=8,
        h=5,
        thresholds=[(None, "green"), (1, "orange")],
    )
    b.panel(
        "stat",
        "API keys created (7 d)",
        [('sum(increase(odoo_privilege_changes_total{change="api_key_created",%s}[7d]))' % T, "")],
        w=8,
        h=5,
    )
    b.row("Recent changes")
    b.panel(
        "table",
        "Latest change per tenant",
        [
            (
                "topk by (tenant) (1, max by (tenant, kind, operation, target) (odoo_last_change_timestamp_seconds{%s})) * 1000"
                % T,
                "",
            )
        ],
        w=12,
        h=6,
        unit="dateTimeAsIso",
        description="Module installs / upgrades / uninstalls, parameter, setting and scheduled action changes; the list is in the tenant's Recent Changes menu.",
    )
    b.panel(
        "timeseries",
        "Module operations (full detail level)",
        [
            (
                "sum by (tenant, operation) (increase(odoo_module_operations_total{%s}[1h]))" % T,
                "{{tenant}} {{operation}}",
            )
        ],
        w=12,
        h=6,
    )
    b.row("Privileges and endpoints")
    b.panel(
        "timeseries",
        "Privilege changes",
        [
            (
                "sum by (tenant, change) (increase(odoo_privilege_changes_total{%s}[1h]))" % T,
                "{{tenant}} {{change}}",
            )
        ],
        description="Administrators granted / revoked and API keys created / revoked per hour; details in the tenant's Security Audit menu.",
    )
    b.panel(
        "timeseries",
        "Refused /metrics and ingest requests",
        [
            (
                "sum by (endpoint, status) (rate(odoo_endpoint_auth_failures_total[%s]))" % RI,
                "{{endpoint}} {{status}}",
            )
        ],
        unit="reqps",
        description="401: wrong credentials (metrics token, API key); 403: not allowed (not loopback, not in the integration group).",
    )
    return b


def synthetic():
    b = Board(
        "odoo-synthetic",
        "Odoo logistics: synthetic checks",
        "Customer-facing journeys probed per tenant: outside-in (blackbox exporter) and inside-out (Odoo).",
        ("synthetic",),
        [TENANT],
    )
    b.row("Outside-in (blackbox exporter)")
    b.panel(
        "table",
        "Failing checks",
        [('min by (tenant, check) (probe_success{job="synthetic",%s}) == 0' % T, "")],
        w=12,
        h=8,
        description="Checks whose last probe failed; OdooSyntheticCheckFailing pages after 3 minutes.",
    )
    b.panel(
        "timeseries",
        "Probe duration",
        [('max by (tenant, check) (probe_duration_seconds{job="synthetic",%s})' % T, "{{tenant}} {{check}}")],
        unit="s",
    )
    b.row("Inside-out journeys (workflows synthetic_*)")
    b.panel(
        "timeseries",
        "Journey runs by outcome",
        [
            (
                'sum by (tenant, workflow, outcome) (rate(odoo_workflow_runs_total{workflow=~"synthetic_.+",%s}[%s]))'
                % (T, RI),
                "{{tenant}} {{workflow}} {{outcome}}",
            )
        ],
        unit="ops",
    )
    b.panel(
        "timeseries",
        "Journey p95 duration",
        [
            (
                'histogram_quantile(0.95, sum by (le, tenant, workflow) (rate(odoo_workflow_duration_seconds_bucket{workflow=~"synthetic_.+",%s}[%s])))'
                % (T, RI),
                "{{tenant}} {{workflow}}",
            )
        ],
        unit="s",
    )
    return b


BOARDS = {
    "platform-overview.json": overview,
    "tenant.json": tenant,
    "workflows.json": workflows,
    "crons-queues.json": crons_queues,
    "postgres-redis.json": postgres_redis,
    "backups.json": backups,
    "slos.json": slos,
    "security.json": security,
    "synthetic.json": synthetic,
}


def render_all():
    return {name: json.dumps(fn().render(), indent=2, sort_keys=True) + "\n" for name, fn in BOARDS.items()}


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for filename, text in render_all().items():
        (OUT / filename).write_text(text)
        print("wrote", OUT / filename)
