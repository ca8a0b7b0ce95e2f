"""Request correlation context (core/context.py): ids from one random draw, outcome fields built
only when the context is read."""

import os
import re

from logistics_observability.core import context

HEX = re.compile(r"^[0-9a-f]+$")


def setup_function():
    context.clear()


def test_ids_are_random_hex_and_never_all_zero(monkeypatch):
    seen = set()
    for _ in range(3 * context.POOL_DRAWS):
        trace_id, span_id, request_id = context.new_ids()
        assert (len(trace_id), len(span_id), len(request_id)) == (32, 16, 32)
        assert HEX.match(trace_id) and HEX.match(span_id) and HEX.match(request_id)
        seen.update((trace_id, span_id, request_id))
    assert len(seen) == 9 * context.POOL_DRAWS  # every id its own
    # an all-zero trace id, then an all-zero span id: drawn again (W3C: both invalid)
    monkeypatch.setattr(
        context, "_pool", ["04" * 40, "02" * 16 + "00" * 8 + "03" * 16, "00" * 16 + "01" * 24, "00" * 40]
    )
    assert context.new_ids() == ("04" * 16, "04" * 8, "04" * 16)
    assert context._pool == []


def test_one_urandom_call_serves_many_requests_and_a_fork_draws_its_own(monkeypatch):
    calls = []
    real = context.os.urandom
    monkeypatch.setattr(context.os, "urandom", lambda n: calls.append(n) or real(n))
    monkeypatch.setattr(context, "_pool", [])
    ids = [
        context.begin_request({"REQUEST_METHOD": "GET"})["trace_id"] for _ in range(context.POOL_DRAWS + 1)
    ]
    assert calls == [40 * context.POOL_DRAWS, 40 * context.POOL_DRAWS]  # one system call per POOL_DRAWS
    assert len(set(ids)) == len(ids)
    assert context._pool  # ids left for the next requests of this process...
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # ...never for a forked child's
        os.close(read)
        emptied = len(context._pool)
        trace_id, _span, _request = context.new_ids()
        os.write(write, ("%d,%d,%s" % (emptied, len(context._pool), trace_id)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        emptied, left, child_trace = pipe.read().split(",")
    assert (int(emptied), int(left)) == (0, context.POOL_DRAWS - 1)  # the child filled a pool of its own
    parent_ids = set(context._pool) | set(ids)
    assert not any(child_trace in raw for raw in parent_ids)


def test_a_request_context(monkeypatch):
    ctx = context.begin_request({"REQUEST_METHOD": "GET"})
    assert len(ctx["trace_id"]) == 32 and len(ctx["span_id"]) == 16 and len(ctx["request_id"]) == 32
    assert len({ctx["trace_id"], ctx["span_id"], ctx["request_id"]}) == 3
    assert ctx["parent_span_id"] is None and ctx["trace_flags"] == "01" and ctx["http.method"] == "GET"
    assert context.traceparent_header(ctx) == "00-%s-%s-01" % (ctx["trace_id"], ctx["span_id"])
    given = context.begin_request(
        {
            "HTTP_TRACEPARENT": "00-" + "a" * 32 + "-" + "b" * 16 + "-00",
            "HTTP_X_REQUEST_ID": "req-1",
        }
    )
    assert (given["trace_id"], given["parent_span_id"], given["trace_flags"]) == ("a" * 32, "b" * 16, "00")
    assert given["request_id"] == "req-1" and given["span_id"] not in ("b" * 16, ctx["span_id"])
    bad = context.begin_request(
        {"HTTP_TRACEPARENT": "00-" + "0" * 32 + "-" + "b" * 16 + "-01", "HTTP_X_REQUEST_ID": "bad id!"}
    )
    assert bad["trace_id"] != "0" * 32 and bad["parent_span_id"] is None
    assert len(bad["request_id"]) == 32 and bad["request_id"] != "bad id!"


def test_outcome_fields_are_built_when_read(monkeypatch):
    built = []
    real = context.outcome_fields
    monkeypatch.setattr(context, "outcome_fields", lambda *a: built.append(a) or real(*a))
    ctx = context.begin_request({"REQUEST_METHOD": "POST"})
    context.request_outcome(200, "/web/login", 0.0125, 7, 0.00125, "db1")
    assert built == [] and "http.status" not in ctx  # nobody read it (text logs): no dict built
    assert context.trace_id() == ctx["trace_id"] and built == []
    got = context.current()
    assert got is ctx and len(built) == 1
    assert {
        k: got[k] for k in ("http.status", "http.route", "duration_ms", "sql.count", "sql.ms", "tenant")
    } == {
        "http.status": 200,
        "http.route": "/web/login",
        "duration_ms": 12.5,
        "sql.count": 7,
        "sql.ms": 1.25,
        "tenant": "db1",
    }
    context.current()
    assert len(built) == 1  # built once
    context.request_outcome(500, "/x", 0.1, 1, 0.0, "db2")
    context.set_fields(tenant="db3")  # a later field wins over the outcome, as before
    assert context.current()["tenant"] == "db3" and context.current()["http.status"] == 500
    context.begin_request({})
    assert "http.status" not in context.current()  # a new request forgets the last outcome
    context.clear()
    context.request_outcome(200, "/", 0.0, 0, 0.0, "")
    assert context.current() == {} and context.trace_id() is None
