"""OpenTelemetry traces of the core (core/tracing.py, core/tracing_sdk.py) against an in-process
OTLP/HTTP receiver that decodes the real protobuf (tests/otlp_receiver.py)."""

import logging
import os
import socket
import sys
import threading
import time

import pytest
import requests

pytest.importorskip("opentelemetry.sdk.trace")
pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")

from otlp_receiver import CLIENT, INTERNAL, SERVER, STATUS_ERROR, Receiver  # noqa: E402

from logistics_observability.core import (  # noqa: E402
    carrier,
    config,
    context,
    metrics,
    tracing,
    tracing_sdk,
    workflow,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@pytest.fixture(autouse=True)
def mdir(tmp_path):
    metrics.configure(directory=str(tmp_path / "metrics"))
    workflow.LEDGER._take()
    yield
    tracing_sdk.reset()
    tracing.set_enabled(False)
    tracing.clear()
    context.clear()
    workflow.LEDGER._take()
    metrics.configure(directory=str(tmp_path / "unused"))


def configure(endpoint, ratio=1.0, **options):
    options = {
        "observability_tracing": "True",
        "observability_tracing_ratio": str(ratio),
        "observability_otlp_endpoint": endpoint,
        "observability_service": "odoo-test",
        "observability_env": "ci",
        "observability_region": "eu-test",
        "observability_release": "r42",
        **options,
    }
    tracing_sdk.reset()
    cfg = config.load(options, environ={})
    assert tracing.configure(cfg)
    return cfg


def value(name, **labels):
    for fam in metrics.collect(run_collectors=False):
        for labelvalues, val in fam.samples:
            if fam.name == name and dict(zip(fam.labelnames, labelvalues, strict=False)) == labels:
                return val
    return 0.0


def request(status=200, traceparent=None, tenant="t1", inside=None):
    """One HTTP request as compat/http.py drives the core; returns its context."""
    environ = {"REQUEST_METHOD": "POST"}
    if traceparent:
        environ["HTTP_TRACEPARENT"] = traceparent
    ctx = context.begin_request(environ)
    tracing.request_begun(ctx)
    if inside:
        inside()
    tracing.request_ended(ctx, "POST", "/shop/<int:order>", status, tenant, 12)
    return ctx


def flush():
    processor = tracing_sdk._state["processor"]
    if processor is not None:
        processor.force_flush(5000)


def test_config_keys():
    cfg = config.load({}, environ={})
    assert (cfg.tracing, cfg.tracing_ratio, cfg.otlp_endpoint) == (False, 0.1, None)
    cfg = config.load(
        {"observability_tracing": "on", "observability_otlp_endpoint": "http://collector:4318/v1/traces"},
        environ={"ODOO_OBSERVABILITY_TRACING_RATIO": "0.25"},
    )
    assert (cfg.tracing, cfg.tracing_ratio, cfg.otlp_endpoint) == (
        True,
        0.25,
        "http://collector:4318/v1/traces",
    )
    cfg = config.load(
        {
            "observability_tracing": "maybe",
            "observability_tracing_ratio": "1.5",
            "observability_otlp_endpoint": "collector:4318",
        },
        environ={},
    )
    assert set(cfg.errors) == {
        "observability_tracing",
        "observability_tracing_ratio",
        "observability_otlp_endpoint",
    }
    assert (cfg.tracing, cfg.tracing_ratio, cfg.otlp_endpoint) == (False, 0.1, None)


def test_server_span_has_the_context_ids_and_children_nest():
    with Receiver() as rx:
        configure(rx.url)

        def inside():
            with workflow.start("order_release", tenant="t1", reference="S001") as run:
                run.reference_kind = "sale.order"
                with carrier.carrier_call("demo_http", "send", tenant="t1", reference_kind="stock.picking"):
                    pass

        ctx = request(traceparent="00-%s-%s-01" % (TRACE, PARENT), inside=inside)
        assert ctx["trace_id"] == TRACE and ctx["trace_flags"] == "01"
        flush()
        spans = rx.wait_for(lambda s: len(s) >= 3)
    by_name = {s["name"]: s for s in spans}
    server = by_name["POST /shop/<int:order>"]
    assert (server["trace_id"], server["span_id"], server["parent_span_id"]) == (
        TRACE,
        ctx["span_id"],
        PARENT,
    )
    assert server["kind"] == SERVER
    assert server["attributes"]["odoo.tenant"] == "t1"
    assert server["attributes"]["http.route"] == "/shop/<int:order>"
    assert server["attributes"]["http.response.status_code"] == 200
    run = by_name["workflow order_release"]
    assert (run["trace_id"], run["parent_span_id"], run["kind"]) == (TRACE, ctx["span_id"], INTERNAL)
    assert run["attributes"] == {
        "odoo.workflow": "order_release",
        "odoo.outcome": "success",
        "odoo.tenant": "t1",
        "odoo.reference.kind": "sale.order",
    }
    call = by_name["workflow carrier_call"]
    assert call["parent_span_id"] == run["span_id"]
    assert call["attributes"]["odoo.carrier"] == "demo_http"
    assert call["attributes"]["odoo.reference.kind"] == "stock.picking"
    assert "S001" not in repr(spans)  # never a record's values
    resource = server["resource"]
    assert resource["service.name"] == "odoo-test"
    assert resource["deployment.environment"] == "ci"
    assert resource["cloud.region"] == "eu-test"
    assert resource["service.version"] == "r42"
    assert resource["service.instance.id"].endswith(":%d" % os.getpid())


def test_standard_otel_variables_win(monkeypatch):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "k8s.pod.name=pod-1")
    with Receiver() as rx:
        configure(rx.url)
        request()
        flush()
        (span,) = rx.wait_for(lambda s: s)
    assert span["resource"]["service.name"] == "from-env"
    assert span["resource"]["k8s.pod.name"] == "pod-1"
    assert span["resource"]["deployment.environment"] == "ci"


def test_endpoint_and_headers_from_otel_variables(monkeypatch):
    with Receiver() as rx:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:%d" % rx.port)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant-token=abc")
        configure(None)
        request()
        flush()
        (span,) = rx.wait_for(lambda s: s)
    assert {k.lower(): v for k, v in span["headers"].items()}["x-tenant-token"] == "abc"


def test_sampler_keeps_errors_and_slow_runs_at_ratio_zero(monkeypatch):
    with Receiver() as rx:
        configure(rx.url, ratio=0.0)
        fine = request(200)
        failed = request(503)

        def failing_run():
            with workflow.start("invoicing", tenant="t1") as run:
                run.fail("refused")

        with_failed_run = request(200, inside=failing_run)
        # a caller that sampled the trace out is followed too, errors still kept
        unsampled_parent = request(200, traceparent="00-%s-%s-00" % (TRACE, PARENT))
        monkeypatch.setattr(tracing, "SLOW_SECONDS", 0.0)
        slow = request(200)
        flush()
        spans = rx.wait_for(lambda s: len(s) >= 4)
    assert fine["trace_flags"] == "00" and unsampled_parent["trace_flags"] == "00"
    trace_ids = {s["trace_id"] for s in spans}
    assert fine["trace_id"] not in trace_ids and TRACE not in trace_ids
    assert failed["trace_id"] in trace_ids and slow["trace_id"] in trace_ids
    (err,) = [s for s in spans if s["trace_id"] == failed["trace_id"]]
    assert err["status"] == STATUS_ERROR
    kept = sorted((s["name"], s["span_id"]) for s in spans if s["trace_id"] == with_failed_run["trace_id"])
    assert [name for name, _ in kept] == ["POST /shop/<int:order>", "workflow invoicing"]
    assert len(spans) == 4


def test_ratio_is_by_trace_id_and_parent_based():
    with Receiver() as rx:
        configure(rx.url, ratio=0.5)
        ctxs = [request() for _ in range(400)]
        followed = request(traceparent="00-%s-%s-01" % ("f" * 32, PARENT))
        flush()
        spans = rx.wait_for(lambda s: len(s) >= sum(c["trace_flags"] == "01" for c in ctxs) + 1)
    sampled = {c["trace_id"] for c in ctxs if c["trace_flags"] == "01"}
    assert 120 < len(sampled) < 280
    assert all((int(t[16:], 16) < (1 << 63)) for t in sampled)
    assert {s["trace_id"] for s in spans} == sampled | {followed["trace_id"]}


def test_run_outside_a_request_starts_its_own_trace():
    with Receiver() as rx:
        configure(rx.url)
        with workflow.start("dispatch", tenant="t2"), workflow.start("pod_sync", tenant="t2"):
            pass
        flush()
        spans = rx.wait_for(lambda s: len(s) >= 2)
    by_name = {s["name"]: s for s in spans}
    root, child = by_name["workflow dispatch"], by_name["workflow pod_sync"]
    assert root["parent_span_id"] is None and child["parent_span_id"] == root["span_id"]
    assert root["trace_id"] == child["trace_id"]
    assert tracing.current_traceparent() is None  # the trace ended with its root


class _Headers(threading.Thread):
    """A loopback HTTP server keeping the headers of every request (the carrier)."""

    def __init__(self):
        import http.server

        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        super().__init__(target=self.server.serve_forever, daemon=True)
        self.url = "http://127.0.0.1:%d/track/ABC123?key=secret" % self.server.server_address[1]


def test_outbound_carrier_request_carries_traceparent():
    carrier.install_requests_hook()
    target = _Headers()
    target.start()
    try:
        # tracing off: the request's own context is propagated
        ctx = context.begin_request({"REQUEST_METHOD": "GET"})
        with carrier.carrier_call("demo_http", "tracking", tenant="t1"):
            requests.get(target.url, timeout=5)
        assert target.seen[-1]["traceparent"] == context.traceparent_header(ctx)
        requests.get(target.url, timeout=5)  # outside a carrier call: untouched
        assert "traceparent" not in target.seen[-1]
        with Receiver() as rx:
            configure(rx.url)

            def inside():
                with carrier.carrier_call("demo_http", "tracking", tenant="t1"):
                    requests.get(target.url, timeout=5)

            ctx = request(inside=inside)
            flush()
            spans = rx.wait_for(lambda s: len(s) >= 3)
        (client,) = [s for s in spans if s["kind"] == CLIENT]
        call = next(s for s in spans if s["name"] == "workflow carrier_call")
        sent = target.seen[-1]["traceparent"]
        assert sent == "00-%s-%s-01" % (ctx["trace_id"], client["span_id"])
        assert client["parent_span_id"] == call["span_id"]
        assert client["attributes"]["http.response.status_code"] == 200
        assert client["attributes"]["server.address"] == "127.0.0.1"
        assert "ABC123" not in repr(client) and "secret" not in repr(client)
    finally:
        target.server.shutdown()


def test_bounded_queue_drops_and_counts():
    release = threading.Event()

    class Hanging:
        def export(self, batch):
            release.wait(10)

        def shutdown(self):
            pass

    processor = tracing_sdk.BoundedBatchProcessor(Hanging(), max_queue=5, max_batch=2, delay=0.01)
    try:
        t0 = time.perf_counter()
        for _ in range(200):
            processor.on_end(object())
        assert time.perf_counter() - t0 < 0.5
        assert value("odoo_tracing_spans_dropped_total", reason="queue_full") >= 190
    finally:
        release.set()
        processor.shutdown(1.0)


@pytest.mark.parametrize("mode", ["hang", "refused", "error"])
def test_a_receiver_down_never_blocks_beyond_the_bound(mode):
    if mode == "refused":
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d/v1/traces" % sock.getsockname()[1]
        sock.close()  # nothing listens there
        rx = None
    else:
        rx = Receiver(mode).__enter__()
        url = rx.url
    try:
        configure(url)
        t0 = time.perf_counter()
        for _ in range(3000):  # more than the queue holds
            request()
        spent = time.perf_counter() - t0
        assert spent < 3000 * 0.002  # the request path never waits for the exporter
        processor = tracing_sdk._state["processor"]
        t0 = time.perf_counter()
        processor.shutdown(0.5)
        assert time.perf_counter() - t0 < tracing_sdk.EXPORT_TIMEOUT + 1.0
        deadline = time.monotonic() + tracing_sdk.EXPORT_TIMEOUT + 3
        while value("odoo_tracing_spans_exported_total", result="failure") == 0 and mode != "hang":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert value("odoo_tracing_spans_dropped_total", reason="queue_full") > 0
    finally:
        if rx is not None:
            rx.stop()


def test_a_forked_child_sets_up_its_own_sdk():
    with Receiver() as rx:
        configure(rx.url)
        request()  # the parent's SDK and export thread exist before the fork
        flush()
        rx.wait_for(lambda s: len(s) >= 1)
        parent_processor = tracing_sdk._state["processor"]
        pid = os.fork()
        if pid == 0:  # the child: no test framework here, only an exit status
            code = 1
            try:
                assert tracing_sdk._state["processor"] is None
                request(tenant="child")
                processor = tracing_sdk._state["processor"]
                assert processor is not None and processor is not parent_processor
                processor.force_flush(5000)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        spans = rx.wait_for(lambda s: any(x["attributes"].get("odoo.tenant") == "child" for x in s))
    (child,) = [s for s in spans if s["attributes"].get("odoo.tenant") == "child"]
    assert child["resource"]["service.instance.id"].endswith(":%d" % pid)


def test_tracing_without_the_packages_logs_once_and_stays_off(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    cfg = config.load({"observability_tracing": "1"}, environ={})
    with caplog.at_level(logging.ERROR):
        assert tracing.configure(cfg) is False
    assert tracing.ENABLED is False
    (line,) = [r for r in caplog.records if "observability_tracing" in r.getMessage()]
    assert "opentelemetry-sdk" in line.getMessage()
