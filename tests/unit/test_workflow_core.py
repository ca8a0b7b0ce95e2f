"""Workflow API (decorator / context manager): metrics, ledger buffer, log event, fail-open."""

import logging

import pytest

from logistics_observability.core import carrier, metrics, workflow


@pytest.fixture(autouse=True)
def mdir(tmp_path):
    metrics.configure(directory=str(tmp_path / "metrics"))
    workflow.LEDGER._take()
    yield
    workflow.LEDGER._take()
    metrics.configure(directory=str(tmp_path / "unused"))


def value(name, **labels):
    for fam in metrics.collect(run_collectors=False):
        for labelvalues, val in fam.samples:
            if fam.name == name and dict(zip(fam.labelnames, labelvalues, strict=False)) == labels:
                return val
    return 0.0


def hist_count(name, **labels):
    for fam in metrics.collect(run_collectors=False):
        for labelvalues, val in fam.samples:
            if fam.name == name and dict(zip(fam.labelnames, labelvalues, strict=False)) == labels:
                return sum(val[:-1])
    return 0.0


def test_context_manager_success_and_failure_are_counted(caplog):
    caplog.set_level(logging.INFO, logger="odoo.addons.logistics_observability.workflow")
    with workflow.start("order_release", tenant="t1", reference="S001"):
        pass
    with pytest.raises(ZeroDivisionError), workflow.start("order_release", tenant="t1", reference="S002"):
        1 / 0  # noqa: B018
    assert value("odoo_workflow_runs_total", tenant="t1", workflow="order_release", outcome="success") == 1
    assert value("odoo_workflow_runs_total", tenant="t1", workflow="order_release", outcome="failure") == 1
    assert hist_count("odoo_workflow_duration_seconds", tenant="t1", workflow="order_release") == 2
    assert workflow.LEDGER.pending() == {"t1": 2}
    events = [r for r in caplog.records if getattr(r, "workflow", None) == "order_release"]
    assert [(r.outcome, r.reference) for r in events] == [("success", "S001"), ("failure", "S002")]
    assert events[1].levelno == logging.WARNING


def test_fail_discard_nested_and_sql_count():
    queries = {"n": 0}

    def print_label(order):
        with workflow.start(
            "label_print", tenant=order["db"], reference=order["ref"], sql_counter=lambda: queries["n"]
        ):
            queries["n"] += 7
            if order.get("nested"):
                with workflow.start("label_print", tenant="other"):
                    pass  # same workflow nested: counted once, for the outer run
            return "ok"

    assert print_label({"db": "t2", "ref": "L1", "nested": True}) == "ok"
    with workflow.start("label_print", tenant="t2") as run:
        run.fail("printer offline")
    with workflow.start("label_print", tenant="t2") as run:
        run.discard()
    assert value("odoo_workflow_runs_total", tenant="t2", workflow="label_print", outcome="success") == 1
    assert value("odoo_workflow_runs_total", tenant="t2", workflow="label_print", outcome="failure") == 1
    assert value("odoo_workflow_runs_total", tenant="other", workflow="label_print", outcome="success") == 0
    fam = {f.name: f for f in metrics.collect(run_collectors=False)}["odoo_workflow_sql_queries"]
    # per workflow, not per tenant, at the default detail level (the series budget)
    ((labels, counts),) = [(lv, c) for lv, c in fam.samples if lv == ("", "label_print")]
    assert counts[-1] == 7  # sum of SQL queries
    assert not [lv for lv, _c in fam.samples if lv[0]]


def test_cursor_sql_count_reads_odoos_counter_and_logs_a_missing_one_once(monkeypatch, caplog):
    from logistics_observability.core import odoo_facts

    class Cursor:
        pass

    cr = Cursor()
    setattr(cr, odoo_facts.CURSOR_SQL_LOG_COUNT, 3)
    counter = workflow.cursor_sql_counter(cr)
    with workflow.start("label_print", tenant="t5", sql_counter=counter):
        setattr(cr, odoo_facts.CURSOR_SQL_LOG_COUNT, 8)
    fam = {f.name: f for f in metrics.collect(run_collectors=False)}["odoo_workflow_sql_queries"]
    ((counts,),) = [(c,) for lv, c in fam.samples if lv == ("", "label_print")]
    assert counts[-1] == 5

    # a renamed counter upstream: no SQL count recorded (not zeros), one warning per process
    monkeypatch.setattr(workflow, "_sql_count_missing", [])
    renamed = Cursor()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            with workflow.start("label_print", tenant="t6", sql_counter=workflow.cursor_sql_counter(renamed)):
                pass
    assert value("odoo_workflow_runs_total", tenant="t6", workflow="label_print", outcome="success") == 3
    fam = {f.name: f for f in metrics.collect(run_collectors=False)}["odoo_workflow_sql_queries"]
    ((counts,),) = [(c,) for lv, c in fam.samples if lv == ("", "label_print")]
    assert sum(counts[:-1]) == 1 and counts[-1] == 5  # still t5's one run
    warnings = [r for r in caplog.records if odoo_facts.CURSOR_SQL_LOG_COUNT in r.getMessage()]
    assert len(warnings) == 1, warnings


def test_invalid_custom_name_is_refused_and_builtins_known():
    with pytest.raises(ValueError):
        workflow.register("Bad Name")
    assert workflow.known("pod_sync") and not workflow.known("nope_never_registered")


def test_recording_failure_never_breaks_the_block(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("metrics down")

    monkeypatch.setattr(workflow.LEDGER, "record", boom)
    monkeypatch.setattr(workflow.metrics, "tenant_label", boom)
    with workflow.start("dispatch", tenant="t3"):
        result = 42
    assert result == 42


@pytest.mark.parametrize("level", ["default", "full"])
def test_carrier_call_counts_operation_and_http(tmp_path, level, request):
    if level == "full":
        request.getfixturevalue("full_detail")
    import http.server
    import threading

    import requests

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            code = 503 if self.path == "/down" else 200
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%s" % server.server_address[1]
    carrier.install_requests_hook()
    try:
        requests.get(base + "/outside", timeout=5)  # not inside a carrier call: not counted
        with carrier.carrier_call("demo_http", "rate", tenant="t4"):
            requests.get(base + "/ok", timeout=5)
            requests.get(base + "/down", timeout=5)
        with pytest.raises(requests.ConnectionError), carrier.carrier_call("demo_http", "send", tenant="t4"):
            requests.get("http://127.0.0.1:9/", timeout=2)
    finally:
        server.shutdown()
    # per carrier across tenants at the default level: the tenant's view is its carrier_call runs
    labels = {"tenant": "t4" if level == "full" else "", "carrier": "demo_http"}
    assert value("odoo_carrier_requests_total", operation="rate", outcome="success", **labels) == 1
    assert value("odoo_carrier_requests_total", operation="send", outcome="failure", **labels) == 1
    assert value("odoo_carrier_http_requests_total", operation="rate", status="2xx", **labels) == 1
    assert value("odoo_carrier_http_requests_total", operation="rate", status="5xx", **labels) == 1
    assert (
        value("odoo_carrier_http_requests_total", operation="send", status="connection_error", **labels) == 1
    )
    assert value("odoo_workflow_runs_total", tenant="t4", workflow="carrier_call", outcome="failure") == 1
    assert (
        hist_count(
            "odoo_carrier_http_request_duration_seconds",
            tenant=labels["tenant"],
            carrier="demo_http",
            operation="rate",
        )
        == 2
    )


def test_a_carrier_operation_checks_the_tenant_cap_once(monkeypatch, full_detail):
    calls = []
    real = metrics.tenant_label

    def counting(tenant):
        calls.append(tenant)
        return real(tenant)

    monkeypatch.setattr(metrics, "tenant_label", counting)
    with carrier.carrier_call("demo_http", "rate", tenant="t9"):
        carrier.record_carrier_http("2xx", 0.01)
        carrier.record_carrier_http("5xx", 0.02)
    assert calls == ["t9"]  # the run, the carrier series and both HTTP requests share one label
    assert (
        value(
            "odoo_carrier_http_requests_total",
            tenant="t9",
            carrier="demo_http",
            operation="rate",
            status="5xx",
        )
        == 1
    )
    assert value("odoo_workflow_runs_total", tenant="t9", workflow="carrier_call", outcome="success") == 1
