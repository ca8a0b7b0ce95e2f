#!/usr/bin/env python3
"""Continuous, realistic logistics traffic for the demo tenants of a local Odoo.

For each tenant database (JSON-RPC as an administrator: unlike XML-RPC, it carries the
``None`` many Odoo methods return, so the demo causes no "cannot marshal None" errors):

* sale orders are created and confirmed (``order_release``), some with a rate
  request to the demo HTTP carrier (``carrier_call``);
* their outgoing pickings are validated (``dispatch``); a few validations fail
  (an empty picking, a carrier that times out);
* proofs of delivery arrive late, seconds to minutes after dispatch
  (``pod_sync``): through ``POST /logistics_observability/events`` when an
  API key is given for the tenant, else as a delivery signature;
* delivered orders are invoiced and the invoices posted (``invoicing``);
* a demo scheduled action runs every minute and fails now and then (``cron``);
* now and then a login fails (a wrong password over RPC: the security signals).

A tiny carrier API is served on 127.0.0.1 (``/rate``, ``/ship``, ``/cancel``):
most answers are fast, some slow, some slower than the carrier timeout.

    scripts/demo_traffic.py --db demo_acme --db demo_globex --duration 300
    scripts/demo_traffic.py --db demo_acme --api-key demo_acme=KEY --forever

Only loopback Odoo URLs are accepted: this is a load generator for a local demo.
"""

import argparse
import base64
import http.server
import ipaddress
import json
import logging
import random
import socket
import sys
import threading
import time
import urllib.parse

import requests

_logger = logging.getLogger("demo_traffic")

SIGNATURE = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
        "0000050001e226059b0000000049454e44ae426082"
    )
).decode()
CARRIER_TIMEOUT = 2.0
FAILING_CRON_CODE = (
    "if datetime.datetime.now().minute % 4 == 0:\n" "    raise UserError('demo: carrier feed unreachable')\n"
)


# ---------------------------------------------------------------------------
# local carrier API


class CarrierAPI(http.server.BaseHTTPRequestHandler):
    """85 % fast, 10 % slow, 5 % slower than the carrier timeout."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = min(int(self.headers.get("Content-Length") or 0), 65536)
        self.rfile.read(length)
        roll = random.random()
        if roll < 0.05:
            time.sleep(CARRIER_TIMEOUT + 1.0)
        elif roll < 0.15:
            time.sleep(random.uniform(0.3, 1.5))
        else:
            time.sleep(random.uniform(0.01, 0.12))
        answers = {
            "/rate": {"price": round(random.uniform(5, 40), 2)},
            "/ship": {
                "price": round(random.uniform(5, 40), 2),
                "tracking_number": "DMO%08d" % random.randrange(10**8),
            },
            "/cancel": {"ok": True},
        }
        body = json.dumps(answers.get(self.path, {"error": "not found"})).encode()
        try:
            self.send_response(200 if self.path in answers else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client timed out and went away

    def log_message(self, *args):
        pass


def start_carrier(port):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), CarrierAPI)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="carrier-api", daemon=True).start()
    return server


# ---------------------------------------------------------------------------
# Odoo over XML-RPC


class RPCError(Exception):
    """An error answer of Odoo's JSON-RPC endpoint (the message of Odoo's exception)."""


class Tenant:
    def __init__(self, url, db, login, password, api_key=None, carrier_url=None, host=None):
        self.url, self.db, self.api_key = url, db, api_key
        # with a host-based dbfilter, the events endpoint finds the tenant by Host header
        self.host = host
        self.http = requests.Session()
        self.lock = threading.Lock()
        self.uid = self.rpc("common", "authenticate", db, login, password, {})
        if not self.uid:
            raise SystemExit("cannot log in to %s as %s" % (db, login))
        self.login, self.password = login, password
        self.carrier_url = carrier_url
        self.to_sign = []  # (due time, picking id, picking name)
        self.stats = {}

    def rpc(self, service, method, *args):
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": random.randrange(10**9),
            "params": {"service": service, "method": method, "args": list(args)},
        }
        resp = self.http.post(self.url + "/jsonrpc", json=payload, timeout=60)
        resp.raise_for_status()
        answer = resp.json()
        if "error" in answer:
            error = answer["error"]
            raise RPCError((error.get("data") or {}).get("message") or error.get("message") or str(error))
        return answer.get("result")

    def call(self, model, method, *args, **kwargs):
        with self.lock:
            return self.rpc(
                "object", "execute_kw", self.db, self.uid, self.password, model, method, list(args), kwargs
            )

    def has_model(self, model):
        return bool(self.call("ir.model", "search_count", [("model", "=", model)]))

    def has_field(self, model, field):
        return bool(
            self.call("ir.model.fields", "search_count", [("model", "=", model), ("name", "=", field)])
        )

    def count(self, key, ok=True):
        name = "%s_%s" % (key, "ok" if ok else "failed")
        self.stats[name] = self.stats.get(name, 0) + 1

    # -- setup ----------------------------------------------------------
    def setup(self):
        self.sale = self.has_model("sale.order")
        self.stock = self.has_model("stock.picking")
        self.account = self.has_model("account.move")
        self.delivery = self.has_field("delivery.carrier", "demo_http_url")
        self.customers = self.call("res.partner", "search", [("customer_rank", ">", 0)], limit=20) or [
            self.call("res.partner", "create", {"name": "Demo Customer %d" % i}) for i in range(5)
        ]
        product = self.call("product.product", "search", [("default_code", "=", "LO-DEMO-PALLET")], limit=1)
        self.product = (
            product[0]
            if product
            else self.call(
                "product.product",
                "create",
                {
                    "name": "Demo Pallet",
                    "default_code": "LO-DEMO-PALLET",
                    "type": "consu",
                    "list_price": 120.0,
                    "weight": 25.0,
                },
            )
        )
        self.carrier = None
        if self.delivery:
            found = self.call("delivery.carrier", "search", [("delivery_type", "=", "demo_http")], limit=1)
            values = {
                "demo_http_url": self.carrier_url,
                "demo_http_timeout": CARRIER_TIMEOUT,
                "integration_level": "rate_and_ship",
            }
            if found:
                self.carrier = found[0]
                self.call("delivery.carrier", "write", [self.carrier], values)
            else:
                ship = self.call("product.product", "create", {"name": "Demo Shipping", "type": "service"})
                self.carrier = self.call(
                    "delivery.carrier",
                    "create",
                    dict(values, name="Demo HTTP Carrier", delivery_type="demo_http", product_id=ship),
                )
        if not self.call("ir.cron", "search", [("name", "=", "Demo: carrier feed sync")]):
            model = self.call("ir.model", "search", [("model", "=", "res.partner")])[0]
            self.call(
                "ir.cron",
                "create",
                {
                    "name": "Demo: carrier feed sync",
                    "model_id": model,
                    "state": "code",
                    "code": FAILING_CRON_CODE,
                    "interval_number": 1,
                    "interval_type": "minutes",
                },
            )

    # -- workflows --------------------------------------------------------
    def release_order(self):
        order = self.call(
            "sale.order",
            "create",
            {
                "partner_id": random.choice(self.customers),
                "order_line": [(0, 0, {"product_id": self.product, "product_uom_qty": random.randint(1, 4)})],
            },
        )
        if self.carrier and random.random() < 0.7:
            wizard = self.call(
                "choose.delivery.carrier", "create", {"order_id": order, "carrier_id": self.carrier}
            )
            try:
                self.call("choose.delivery.carrier", "update_price", [wizard])  # rate request to the carrier
                self.count("carrier_rate")
            except RPCError:
                self.count("carrier_rate", ok=False)
            self.call("choose.delivery.carrier", "button_confirm", [wizard])
        self.call("sale.order", "action_confirm", [order])
        self.count("order_release")

    def dispatch(self):
        if random.random() < 0.05:  # a picker validates an empty delivery: refused
            out_type = self.call("stock.picking.type", "search", [("code", "=", "outgoing")], limit=1)
            empty = self.call(
                "stock.picking",
                "create",
                {"picking_type_id": out_type[0], "partner_id": random.choice(self.customers)},
            )
            try:
                self.call("stock.picking", "button_validate", [empty])
            except RPCError:
                self.count("dispatch", ok=False)
            self.call("stock.picking", "unlink", [empty])
            return
        picking = self.call(
            "stock.picking",
            "search_read",
            [
                ("picking_type_code", "=", "outgoing"),
                ("state", "=", "assigned"),
                ("product_id", "=", self.product),
            ],
            ["name", "move_ids"],
            limit=1,
            order="id",
        )
        if not picking:
            return
        picking = picking[0]
        for move in self.call("stock.move", "read", picking["move_ids"], ["product_uom_qty"]):
            self.call("stock.move", "write", [move["id"]], {"quantity": move["product_uom_qty"]})
        try:
            # full quantities, no backorder wizard: the validation is the dispatch
            self.call(
                "stock.picking",
                "button_validate",
                [picking["id"]],
                context={
                    "skip_backorder": True,
                    "picking_ids_not_to_backorder": [picking["id"]],
                    "skip_sms": True,
                },
            )
            self.count("dispatch")
            # proof of delivery: 10 s to 3 min later, a few much later
            lag = random.uniform(10, 180) if random.random() < 0.9 else random.uniform(300, 900)
            self.to_sign.append((time.time() + lag, picking["id"], picking["name"]))
        except RPCError:
            self.count("dispatch", ok=False)  # carrier timeout: retried on a later tick

    def proof_of_delivery(self):
        now = time.time()
        due = [item for item in self.to_sign if item[0] <= now]
        self.to_sign = [item for item in self.to_sign if item[0] > now]
        for _due, picking_id, name in due:
            if self.api_key:
                event = {
                    "workflow": "pod_sync",
                    "outcome": "success" if random.random() < 0.97 else "failure",
                    "reference": name,
                    "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
                resp = requests.post(
                    self.url + "/logistics_observability/events",
                    json=event,
                    timeout=10,
                    headers=dict(
                        {"Authorization": "Bearer " + self.api_key},
                        **({"Host": self.host} if self.host else {}),
                    ),
                )
                self.count("pod_event", ok=resp.status_code == 200)
            else:
                self.call("stock.picking", "write", [picking_id], {"signature": SIGNATURE})
                self.count("pod_signature")

    def invoice(self):
        orders = self.call(
            "sale.order", "search", [("invoice_status", "=", "to invoice")], limit=1, order="id"
        )
        if not orders:
            return
        try:
            wizard = self.call(
                "sale.advance.payment.inv",
                "create",
                {"advance_payment_method": "delivered"},
                context={"active_model": "sale.order", "active_ids": orders},
            )
            self.call(
                "sale.advance.payment.inv",
                "create_invoices",
                [wizard],
                context={"active_model": "sale.order", "active_ids": orders},
            )
            moves = self.call(
                "account.move",
                "search",
                [("state", "=", "draft"), ("move_type", "=", "out_invoice")],
                limit=5,
            )
            if moves:
                self.call("account.move", "action_post", moves)
            self.count("invoicing")
        except RPCError:
            self.count("invoicing", ok=False)

    def failed_login(self):
        """Someone mistyping the password now and then: the security signals have data."""
        refused = not self.rpc("common", "authenticate", self.db, self.login, "not-the-demo-password", {})
        self.count("failed_login", ok=refused)
        # then the right password, as people do: Odoo's login cooldown counts failures since a success
        self.rpc("common", "authenticate", self.db, self.login, self.password, {})

    def tick(self):
        self.ticks = getattr(self, "ticks", 0) + 1
        if self.ticks == 1 or random.random() < 0.01:  # the Security card has data from the start
            try:
                self.failed_login()
            except (RPCError, OSError, requests.RequestException) as exc:
                _logger.warning("%s: failed login attempt failed: %s", self.db, str(exc)[:200])
        actions = []
        if self.sale:
            actions += [self.release_order] * 4
        if self.stock:
            actions += [self.dispatch] * 4
        if self.sale and self.account:
            actions += [self.invoice] * 2
        if actions:
            action = random.choice(actions)
            try:
                action()
            except (RPCError, OSError, requests.RequestException) as exc:
                _logger.warning("%s: %s failed: %s", self.db, action.__name__, str(exc)[:200])
        if self.stock:
            try:
                self.proof_of_delivery()
            except (RPCError, OSError, requests.RequestException) as exc:
                self.count("pod", ok=False)  # e.g. no wkhtmltopdf to render the signed delivery slip
                _logger.warning("%s: proof of delivery failed: %s", self.db, str(exc)[:200])


def _loopback(url):
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8069")
    parser.add_argument("--db", action="append", required=True, help="tenant database (repeatable)")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="DB=KEY",
        help="API key of an Observability Integration user, to post PODs as events",
    )
    parser.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="DB=HOST",
        help="Host header naming the tenant (for a host-based dbfilter), e.g. demo_alpha=alpha.localhost",
    )
    parser.add_argument(
        "--carrier-port", type=int, default=0, help="local carrier API port (0: any free port)"
    )
    parser.add_argument("--rate", type=float, default=2.0, help="actions per second per tenant")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--duration", type=float, default=60.0, help="seconds to run (default 60)")
    group.add_argument("--forever", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not _loopback(args.url):
        parser.error("--url must point to a loopback address")
    keys = dict(item.split("=", 1) for item in args.api_key if "=" in item)
    hosts = dict(item.split("=", 1) for item in args.host if "=" in item)
    carrier = start_carrier(args.carrier_port)
    carrier_url = "http://127.0.0.1:%s" % carrier.server_address[1]
    _logger.info("carrier API on %s", carrier_url)
    tenants = []
    for db in args.db:
        tenant = Tenant(args.url, db, args.login, args.password, keys.get(db), carrier_url, hosts.get(db))
        tenant.setup()
        tenants.append(tenant)
    stop = threading.Event()
    deadline = None if args.forever else time.time() + args.duration

    def run(tenant):
        while not stop.is_set() and (deadline is None or time.time() < deadline):
            tenant.tick()
            stop.wait(random.expovariate(args.rate))

    threads = [threading.Thread(target=run, args=(t,), name=t.db, daemon=True) for t in tenants]
    for thread in threads:
        thread.start()
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(5)
            for tenant in tenants:
                _logger.info(
                    "%s: %s", tenant.db, " ".join("%s=%d" % kv for kv in sorted(tenant.stats.items()))
                )
    except KeyboardInterrupt:
        stop.set()
    carrier.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
