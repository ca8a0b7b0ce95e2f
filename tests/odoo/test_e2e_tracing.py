"""End to end: OpenTelemetry traces of a prefork Odoo (2 HTTP workers, JSON logs, tracing on).

A tenant cloned from the logistics template (sale, stock, delivery, account, demo data) with the
demo HTTP carrier; the carrier's API and an OTLP/HTTP receiver (decoding the real protobuf,
``tests/otlp_receiver.py``) run in the test process. Every step is a JSON-RPC request carrying a
``traceparent`` of the test's own (sampled), so its trace is known:

- sale (with a carrier rate) → confirm → dispatch (the carrier's ``send``) → invoice give the
  expected server, workflow, carrier-call and HTTP client spans, parent by parent, with the
  tenant and the outcome; the carrier's request carries the client span's ``traceparent``;
- the trace and span ids are the ones of the request's JSON log lines and of the exemplar;
- a receiver that never answers changes no answer and adds no latency beyond a bound;
- a worker SIGKILLed in the middle of a request breaks nothing else: the next requests are traced.
"""

import contextlib
import http.server
import json
import os
import secrets
import signal
import statistics
import threading
import time

import odoo_harness
import psutil
import pytest
import requests
from otlp_receiver import CLIENT, INTERNAL, SERVER, Receiver

pytestmark = [pytest.mark.odoo, pytest.mark.timeout(2400)]
pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")


class Carrier(threading.Thread):
    """The demo carrier's API: keeps every request's path and headers; ``/rate`` waits
    ``rate_delay`` seconds (and sets ``rating`` while it waits)."""

    def __init__(self):
        seen = self.seen = []
        carrier = self
        self.rate_delay = 0.0
        self.rating = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen.append((self.path, dict(self.headers)))
                if self.path == "/rate" and carrier.rate_delay:
                    carrier.rating.set()
                    time.sleep(carrier.rate_delay)
                answers = {
                    "/rate": {"price": 12.5},
                    "/ship": {"price": 12.5, "tracking_number": "DMO%08d" % len(seen)},
                    "/cancel": {"ok": True},
                }
                body = json.dumps(answers.get(self.path, {})).encode()
                with contextlib.suppress(OSError):
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        super().__init__(target=self.server.serve_forever, daemon=True)


class Rpc:
    """JSON-RPC as admin; each call may carry a ``traceparent`` (returns the answer's headers too)."""

    def __init__(self, url, db):
        self.url, self.db = url, db
        self.uid, _ = self.rpc("common", "login", db, "admin", "admin")
        assert self.uid

    def rpc(self, service, method, *args, traceparent=None):
        headers = {"traceparent": traceparent} if traceparent else {}
        resp = requests.post(
            self.url + "/jsonrpc",
            timeout=120,
            headers=headers,
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
        return body.get("result"), resp.headers

    def __call__(self, model, method, *args, traceparent=None, **kw):
        return self.rpc(
            "object",
            "execute_kw",
            self.db,
            self.uid,
            "admin",
            model,
            method,
            list(args),
            kw,
            traceparent=traceparent,
        )[0]


def new_traceparent(sampled=True):
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, parent, "00-%s-%s-%s" % (trace_id, parent, "01" if sampled else "00")


@pytest.fixture(scope="module")
def tenant(logistics_template):
    db = odoo_harness.clone_db(logistics_template, "lotest_tracing%d" % odoo_harness.series_major())
    proc = odoo_harness.run_odoo(
        [
            "-d",
            db,
            "-i",
            "logistics_observability_delivery_demo",
            "--stop-after-init",
            "--max-cron-threads=0",
            "--log-level=warn",
        ]
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stdout, proc.stdout[-4000:]
    yield db
    odoo_harness.drop_db(db)


@pytest.fixture(scope="module")
def carrier():
    api = Carrier()
    api.start()
    yield api
    api.server.shutdown()


def server(db, endpoint, ratio=None):
    options = {
        "observability_log_format": "json",
        "observability_tracing": "True",
        "observability_otlp_endpoint": endpoint,
        "observability_metrics_port": odoo_harness.free_port(),
        "db_name": db,
    }
    if ratio is not None:
        options["observability_tracing_ratio"] = ratio
    return odoo_harness.OdooServer(workers=2, max_cron_threads=0, dbfilter="^%s$" % db, options=options)


def set_up_carrier(rpc, carrier_url):
    ship = rpc("product.product", "create", {"name": "Traced Shipping", "type": "service"})
    return rpc(
        "delivery.carrier",
        "create",
        {
            "name": "Traced Carrier",
            "delivery_type": "demo_http",
            "product_id": ship,
            "demo_http_url": carrier_url,
            "demo_http_timeout": 10.0,
            "integration_level": "rate_and_ship",
        },
    )


def log_lines(odoo):
    lines = []
    for raw in odoo.log_file.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            lines.append(json.loads(raw))
    return lines


def exemplar_traces(odoo, family, **labels):
    """The exemplars' trace ids of ``family``'s buckets whose labels include ``labels`` (OpenMetrics)."""
    text = requests.get(
        "http://127.0.0.1:%s/metrics" % odoo.options["observability_metrics_port"],
        headers={"Accept": "application/openmetrics-text; version=1.0.0"},
        timeout=30,
    ).text
    found = set()
    for line in text.splitlines():
        if not line.startswith(family + "_bucket{") or " # {" not in line:
            continue
        if all('%s="%s"' % (k, v) in line for k, v in labels.items()):
            found.add(line.split('trace_id="', 1)[1].split('"', 1)[0])
    return found


def spans_of(rx, trace_id, at_least, timeout=20):
    spans = rx.wait_for(lambda s: len([x for x in s if x["trace_id"] == trace_id]) >= at_least, timeout)
    return [s for s in spans if s["trace_id"] == trace_id]


def one(spans, **where):
    found = [s for s in spans if all(s.get(k) == v for k, v in where.items())]
    assert len(found) == 1, (where, [(s["name"], s["span_id"], s["parent_span_id"]) for s in spans])
    return found[0]


def test_sale_dispatch_invoice_and_carrier_calls_are_traced(tenant, carrier):
    with Receiver() as rx, server(tenant, rx.url) as odoo:
        rpc = Rpc(odoo.url, tenant)
        carrier_id = set_up_carrier(rpc, carrier.url)
        partner = rpc("res.partner", "search", [("customer_rank", ">", 0)], limit=1) or rpc(
            "res.partner", "search", [("is_company", "=", True)], limit=1
        )
        product = rpc("product.product", "create", {"name": "Traced Pallet", "type": "consu", "weight": 5.0})
        order = rpc(
            "sale.order",
            "create",
            {"partner_id": partner[0], "order_line": [(0, 0, {"product_id": product, "product_uom_qty": 1})]},
        )

        # 1. the carrier's rate: server span → carrier_call workflow → HTTP client span
        rate_trace, rate_parent, tp = new_traceparent()
        wizard = rpc("choose.delivery.carrier", "create", {"order_id": order, "carrier_id": carrier_id})
        _, headers = rpc.rpc(
            "object",
            "execute_kw",
            tenant,
            rpc.uid,
            "admin",
            "choose.delivery.carrier",
            "update_price",
            [[wizard]],
            {},
            traceparent=tp,
        )
        assert headers["traceparent"].startswith("00-%s-" % rate_trace) and headers["traceparent"].endswith(
            "-01"
        )
        server_span_id = headers["traceparent"].split("-")[2]
        spans = spans_of(rx, rate_trace, 3)
        srv = one(spans, kind=SERVER)
        assert (srv["span_id"], srv["parent_span_id"]) == (server_span_id, rate_parent)
        assert srv["attributes"]["odoo.tenant"] == tenant and srv["attributes"]["http.route"] == "/jsonrpc"
        assert srv["attributes"]["http.response.status_code"] == 200
        call = one(spans, name="workflow carrier_call")
        assert call["parent_span_id"] == srv["span_id"] and call["kind"] == INTERNAL
        assert (
            call["attributes"]["odoo.carrier"] == "demo_http"
            and call["attributes"]["odoo.operation"] == "rate"
        )
        assert call["attributes"]["odoo.outcome"] == "success" and call["attributes"]["odoo.tenant"] == tenant
        client = one(spans, kind=CLIENT)
        assert client["parent_span_id"] == call["span_id"]
        assert client["attributes"]["http.response.status_code"] == 200
        path, sent = next((p, h) for p, h in reversed(carrier.seen) if p == "/rate")
        assert sent["traceparent"] == "00-%s-%s-01" % (rate_trace, client["span_id"])
        rpc("choose.delivery.carrier", "button_confirm", [wizard])

        # 2. order release
        confirm_trace, _, tp = new_traceparent()
        rpc("sale.order", "action_confirm", [order], traceparent=tp)
        spans = spans_of(rx, confirm_trace, 2)
        srv = one(spans, kind=SERVER)
        release = one(spans, name="workflow order_release")
        assert release["parent_span_id"] == srv["span_id"]
        assert release["attributes"]["odoo.outcome"] == "success"
        assert release["attributes"]["odoo.reference.kind"] == "sale.order"
        assert "S0" not in json.dumps(spans)  # no order name in any span

        # 3. dispatch, which ships with the carrier
        picking = rpc("stock.picking", "search", [("sale_id", "=", order)])[0]
        rpc("stock.picking", "action_assign", [picking])
        for move in rpc("stock.move", "search_read", [("picking_id", "=", picking)], ["product_uom_qty"]):
            rpc("stock.move", "write", [move["id"]], {"quantity": move["product_uom_qty"], "picked": True})
        dispatch_trace, _, tp = new_traceparent()
        context = {"skip_backorder": True, "picking_ids_not_to_backorder": [picking], "skip_sms": True}
        _, headers = rpc.rpc(
            "object",
            "execute_kw",
            tenant,
            rpc.uid,
            "admin",
            "stock.picking",
            "button_validate",
            [[picking]],
            {"context": context},
            traceparent=tp,
        )
        dispatch_span_id = headers["traceparent"].split("-")[2]
        spans = spans_of(rx, dispatch_trace, 4)
        srv = one(spans, kind=SERVER)
        assert srv["span_id"] == dispatch_span_id
        dispatch = one(spans, name="workflow dispatch")
        assert (
            dispatch["parent_span_id"] == srv["span_id"]
            and dispatch["attributes"]["odoo.outcome"] == "success"
        )
        send = one(spans, name="workflow carrier_call")
        assert send["attributes"]["odoo.operation"] == "send"
        assert send["parent_span_id"] in {dispatch["span_id"], srv["span_id"]}
        client = one(spans, kind=CLIENT)
        assert client["parent_span_id"] == send["span_id"]
        _, sent = next((p, h) for p, h in reversed(carrier.seen) if p == "/ship")
        assert sent["traceparent"] == "00-%s-%s-01" % (dispatch_trace, client["span_id"])

        # 4. invoicing
        invoice_trace, _, tp = new_traceparent()
        line = {"product_id": product, "quantity": 1, "price_unit": 10}
        move = rpc(
            "account.move",
            "create",
            {"move_type": "out_invoice", "partner_id": partner[0], "invoice_line_ids": [(0, 0, line)]},
        )
        rpc("account.move", "action_post", [move], traceparent=tp)
        spans = spans_of(rx, invoice_trace, 2)
        invoicing = one(spans, name="workflow invoicing")
        assert invoicing["parent_span_id"] == one(spans, kind=SERVER)["span_id"]
        assert invoicing["attributes"]["odoo.tenant"] == tenant

        # the ids are those of the JSON log lines and of the exemplars
        lines = [line for line in log_lines(odoo) if line.get("trace_id") == dispatch_trace]
        runs = [line for line in lines if line.get("workflow") == "dispatch"]
        assert len(runs) == 1 and runs[0]["span_id"] == dispatch_span_id, lines
        assert dispatch_trace in exemplar_traces(
            odoo, "odoo_workflow_duration_seconds", workflow="dispatch", tenant=tenant
        )
        resource = srv["resource"]
        assert resource["service.name"] == "odoo" and resource["deployment.environment"] == "prod"
        assert (
            int(resource["service.instance.id"].rsplit(":", 1)[1]) != odoo.proc.pid
        )  # a worker's, never the master's

        # an unsampled caller is followed: nothing of that request is exported
        quiet_trace, _, tp = new_traceparent(sampled=False)
        _, headers = rpc.rpc("common", "version", traceparent=tp)
        assert headers["traceparent"].endswith("-00")
        time.sleep(2.5)
        assert not [s for s in rx.spans if s["trace_id"] == quiet_trace]


def test_a_receiver_that_hangs_changes_nothing(tenant):
    """Every span goes to a receiver that never answers: the answers and their latency are those of
    tracing off (within the noise of two server starts; never the export timeout), and shutting
    down is not held."""
    timings = {}
    with Receiver("hang") as rx:
        for label, endpoint in (("off", None), ("hang", rx.url)):
            srv = server(tenant, endpoint or rx.url, ratio=1.0)
            if endpoint is None:
                srv.options["observability_tracing"] = "False"
            with srv as odoo:
                rpc = Rpc(odoo.url, tenant)
                for _ in range(10):  # warm both workers
                    rpc("res.partner", "search_count", [])
                spent = []
                for _ in range(150):
                    t0 = time.perf_counter()
                    assert rpc("res.partner", "search_count", []) > 0
                    spent.append(time.perf_counter() - t0)
                timings[label] = statistics.median(spent), max(spent)
                t0 = time.perf_counter()
            assert time.perf_counter() - t0 < 15  # the stop is not held by an export
        assert rx.requests >= 1  # the exports did reach it (and hung)
    # two server starts on a shared machine differ by a few ms; an export in the request path
    # would cost its timeout (2 s)
    assert timings["hang"][0] < timings["off"][0] * 1.5 + 0.02, timings
    assert timings["hang"][1] < 2.0, timings


def _connections(process):
    # psutil < 6 names it connections()
    return (getattr(process, "net_connections", None) or process.connections)(kind="tcp")


def test_a_worker_killed_mid_request_breaks_nothing_else(tenant, carrier):
    with Receiver() as rx, server(tenant, rx.url, ratio=1.0) as odoo:
        rpc = Rpc(odoo.url, tenant)
        carrier_id = set_up_carrier(rpc, carrier.url)
        partner = rpc("res.partner", "search", [], limit=1)[0]
        order = rpc("sale.order", "create", {"partner_id": partner})
        wizard = rpc("choose.delivery.carrier", "create", {"order_id": order, "carrier_id": carrier_id})
        carrier.rating.clear()
        carrier.rate_delay = 5.0
        victim_trace, _, tp = new_traceparent()
        outcome = {}

        def slow_rate():
            try:
                rpc("choose.delivery.carrier", "update_price", [wizard], traceparent=tp)
                outcome["answer"] = "answered"
            except Exception as exc:
                outcome["answer"] = repr(exc)

        thread = threading.Thread(target=slow_rate, daemon=True)
        thread.start()
        try:
            assert carrier.rating.wait(30), "the rate request never reached the carrier"
            victims = [
                p.pid
                for p in psutil.Process(odoo.proc.pid).children()
                if any(c.raddr and c.raddr.port == carrier.port for c in _connections(p))
            ]
            assert len(victims) == 1, victims
            os.kill(victims[0], signal.SIGKILL)
            thread.join(30)
        finally:
            carrier.rate_delay = 0.0
        # the server goes on: new requests are answered and traced by the workers left or respawned
        for _ in range(5):
            after_trace, _, tp = new_traceparent()
            assert rpc("res.partner", "search_count", [], traceparent=tp) > 0
            assert one(spans_of(rx, after_trace, 1), kind=SERVER)["attributes"]["odoo.tenant"] == tenant
        assert odoo.proc.poll() is None
        # the killed request's own spans died with its worker (its last second is lost, nothing more)
        assert not [s for s in rx.spans if s["trace_id"] == victim_trace and s["kind"] == SERVER]
