"""Names in rules, dashboards and docs match what a real Odoo exports, and vice versa.

A prefork Odoo with both addons serves a tenant database cloned from the logistics template;
the test drives business traffic (sale order, delivery, invoice, cron) through JSON-RPC and
reads `/metrics` from the dedicated metrics port with the bearer token.
"""

import datetime
import re
import secrets
import time
from pathlib import Path

import odoo_harness
import promql_names
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "addons").glob("*/readme/*.md")),
    *sorted((ROOT / "addons").glob("*/README.rst")),
]


class Rpc:
    def __init__(self, url, db):
        self.url, self.db, self.uid = url, db, None
        self.uid = self.call("common", "login", db, "admin", "admin")
        assert self.uid, "admin/admin login failed on %s" % db

    def call(self, service, method, *args):
        resp = requests.post(
            self.url + "/jsonrpc",
            timeout=120,
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "id": 1,
                "params": {"service": service, "method": method, "args": list(args)},
            },
        )
        body = resp.json()
        if "error" in body:
            raise RuntimeError(body["error"].get("data", {}).get("message") or body["error"])
        return body.get("result")

    def __call__(self, model, method, *args, **kw):
        return self.call("object", "execute_kw", self.db, self.uid, "admin", model, method, list(args), kw)


def drive_traffic(server, db):
    """Business traffic; returns the steps that failed (reported, not fatal: names are the point)."""
    problems = []
    requests.get(server.url + "/web/login", timeout=30)
    requests.get(server.url + "/health/ready", timeout=30)
    rpc = Rpc(server.url, db)

    def step(name, fn):
        try:
            fn()
        except Exception as exc:
            problems.append("%s: %s" % (name, str(exc)[:300]))

    state = {}

    def order():
        partner = rpc("res.partner", "search", [("customer_rank", ">", 0)], limit=1) or rpc(
            "res.partner", "search", [("is_company", "=", True)], limit=1
        )
        product = rpc(
            "product.product", "search", [("sale_ok", "=", True), ("is_storable", "=", True)], limit=1
        ) or rpc("product.product", "search", [("sale_ok", "=", True)], limit=1)
        state["partner"], state["product"] = partner[0], product[0]
        state["order"] = rpc(
            "sale.order",
            "create",
            {
                "partner_id": partner[0],
                "order_line": [(0, 0, {"product_id": product[0], "product_uom_qty": 1})],
            },
        )

    def carrier():
        carriers = rpc("delivery.carrier", "search", [("delivery_type", "=", "fixed")], limit=1)
        wizard = rpc(
            "choose.delivery.carrier", "create", {"order_id": state["order"], "carrier_id": carriers[0]}
        )
        rpc("choose.delivery.carrier", "update_price", [wizard])
        rpc("choose.delivery.carrier", "button_confirm", [wizard])

    def confirm():
        rpc("sale.order", "action_confirm", [state["order"]])

    def dispatch():
        pickings = rpc("stock.picking", "search", [("sale_id", "=", state["order"])])
        for picking in pickings:
            rpc("stock.picking", "action_assign", [picking])
            moves = rpc("stock.move", "search_read", [("picking_id", "=", picking)], ["product_uom_qty"])
            for move in moves:
                rpc(
                    "stock.move", "write", [move["id"]], {"quantity": move["product_uom_qty"], "picked": True}
                )
            rpc("stock.picking", "button_validate", [picking])

    def invoice():
        line = {"product_id": state["product"], "quantity": 1, "price_unit": 10}
        move = rpc(
            "account.move",
            "create",
            {"move_type": "out_invoice", "partner_id": state["partner"], "invoice_line_ids": [(0, 0, line)]},
        )
        rpc("account.move", "action_post", [move])

    def cron():
        # A scheduled run (cron worker, woken by the NOTIFY), due 5 minutes ago: start delay.
        crons = rpc(
            "ir.cron", "search", [("cron_name", "ilike", "garbage"), ("active", "=", True)], limit=1
        ) or rpc("ir.cron", "search", [("active", "=", True)], limit=1, order="id")
        past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
        past = past.strftime("%Y-%m-%d %H:%M:%S")
        rpc("ir.cron", "write", crons, {"nextcall": past})

    def privilege():
        # a new administrator (a privilege change) and a failed RPC login (an auth attempt)
        group = rpc(
            "ir.model.data",
            "search_read",
            [("module", "=", "base"), ("name", "=", "group_system")],
            ["res_id"],
        )[0]["res_id"]
        rpc(
            "res.users",
            "create",
            {
                "name": "Consistency admin",
                "login": "lo_consistency_admin",
                odoo_harness.user_groups_field(): [(6, 0, [group])],
            },
        )
        rpc.call("common", "login", db, "admin", "not-the-password")
        # a system parameter change: the tenant's latest change
        rpc("ir.config_parameter", "set_param", "lo_consistency.flag", "on")

    steps = (
        ("sale order", order),
        ("carrier", carrier),
        ("confirm", confirm),
        ("dispatch", dispatch),
        ("invoice", invoice),
        ("cron", cron),
        ("privilege", privilege),
    )
    for name, fn in steps:
        step(name, fn)
    return problems


def exported(text):
    """(families from # TYPE lines, sample names)"""
    types = set(re.findall(r"^# TYPE (\S+) \S+$", text, re.M))
    samples = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", text, re.M))
    return types, samples


def is_exported(name, types, samples):
    return (
        name in samples
        or name in types
        or promql_names.family(name) in types
        or (name.endswith("_total") and name[:-6] in types)
    )


def used_names():
    recorded = promql_names.recorded_names()
    used = {}
    sources = [
        ("rule", promql_names.rule_exprs()),
        ("dashboard", promql_names.dashboard_exprs()),
        ("doc", promql_names.doc_exprs()),
    ]
    for kind, exprs in sources:
        for where, expr in exprs.items():
            for name in promql_names.metric_names(expr):
                if name not in recorded and name not in promql_names.EXTERNAL:
                    used.setdefault(name, "%s %s" % (kind, where))
    return used


@pytest.fixture(scope="module")
def metrics_text(logistics_template, tmp_path_factory):
    db = odoo_harness.DB_PREFIX + "consistency_metrics"
    odoo_harness.clone_db(logistics_template, db)
    token = secrets.token_hex(16)
    port = odoo_harness.free_port()
    server = odoo_harness.OdooServer(
        options={
            "observability_metrics_port": port,
            "observability_metrics_token": token,
            "observability_redis_url": "redis://127.0.0.1:6379/0",
            # every family: dashboards also chart what only the full detail level exports
            "observability_metrics_detail": "full",
        },
        workers=2,
        max_cron_threads=1,
        load="base,web,logistics_observability",
        dbfilter="^%s$" % db,
        env={"ODOO_NOTIFY_CRON_CHANGES": "1"},
    )
    try:
        with server:
            problems = drive_traffic(server, db)
            # a scraper with a wrong token: a refused /metrics request
            requests.get(
                "http://127.0.0.1:%s/metrics" % port,
                timeout=30,
                headers={"Authorization": "Bearer wrong-" + token},
            )
            deadline = time.time() + 150  # the cron worker picks the due cron up
            while True:
                resp = requests.get(
                    "http://127.0.0.1:%s/metrics" % port,
                    timeout=30,
                    headers={"Authorization": "Bearer " + token},
                )
                assert resp.status_code == 200, resp.text[:500]
                if "odoo_cron_runs_total{" in resp.text or time.time() > deadline:
                    break
                time.sleep(3)
            assert requests.get("http://127.0.0.1:%s/metrics" % port, timeout=30).status_code == 401
            yield resp.text, problems
    finally:
        odoo_harness.drop_db(db)


def test_names_in_rules_dashboards_and_docs_are_exported(metrics_text):
    text, problems = metrics_text
    types, samples = exported(text)
    assert "odoo_build_info" in types and "odoo_http_requests_total" in samples | types
    used = used_names()
    assert len(used) > 30
    missing = {n: where for n, where in used.items() if not is_exported(n, types, samples)}
    assert not missing, "used but not exported by a real /metrics answer: %s\n(traffic problems: %s)" % (
        "\n".join("%s (first used in %s)" % kv for kv in sorted(missing.items())),
        problems,
    )


def test_every_exported_metric_is_documented(metrics_text):
    text, _problems = metrics_text
    types, _samples = exported(text)
    docs = "\n".join(p.read_text() for p in DOCS if p.exists())
    undocumented = sorted(
        name
        for name in types
        if name.startswith("odoo_") and name not in docs and name + "_total" not in docs
    )
    assert not undocumented, "exported but documented nowhere (README, docs/, addons/*/readme): %s" % (
        undocumented,
    )
