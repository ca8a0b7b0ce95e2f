"""JSON log formatter: fields, correlation, redaction, robustness (Odoo-free)."""

import json
import logging
import sys
import time
import traceback

import pytest

from logistics_observability.core import context, logfmt, redaction, tracebacks


def make_record(msg, *args, name="odoo.test", level=logging.INFO, exc_info=None, **extra):
    record = logging.LogRecord(name, level, __file__, 10, msg, args, exc_info)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def fmt(record, static=None):
    line = logfmt.JsonFormatter(
        static or {"env": "test", "service": "odoo", "region": "eu", "release": "r1"}
    ).format(record)
    assert "\n" not in line and "\r" not in line
    return json.loads(line)


def setup_function():
    context.clear()


def test_base_fields_and_taxonomy():
    out = fmt(make_record("hello %s", "world"))
    assert out["msg"] == "hello world"
    assert out["level"] == "INFO"
    assert out["logger"] == "odoo.test"
    assert out["ts"].endswith("Z") and "T" in out["ts"]
    assert isinstance(out["pid"], int)
    assert (out["env"], out["service"], out["region"], out["release"]) == ("test", "odoo", "eu", "r1")


def test_request_context_and_werkzeug_access_line_become_numbers():
    ctx = context.begin_request(
        {
            "HTTP_TRACEPARENT": "00-" + "a" * 32 + "-" + "b" * 16 + "-01",
            "HTTP_X_REQUEST_ID": "req-42",
            "REQUEST_METHOD": "GET",
        }
    )
    context.finish_request(
        **{
            "http.status": 200,
            "http.route": "/web/login",
            "duration_ms": 12.5,
            "sql.count": 7,
            "sql.ms": 1.25,
            "tenant": "db1",
        }
    )
    rec = make_record(
        '%s - - [%s] "%s" %s %s\n',
        "127.0.0.1",
        "01/Jan/2025 10:00:00",
        "GET /web/login?password=hunter2 HTTP/1.1",
        "200",
        "-",
        name="werkzeug",
        perf_info="7 0.001 0.011",
    )
    out = fmt(rec)
    assert out["request_id"] == "req-42"
    assert out["trace_id"] == "a" * 32 and out["span_id"] == ctx["span_id"] and out["span_id"] != "b" * 16
    assert out["tenant"] == "db1"
    assert out["http.method"] == "GET" and out["http.status"] == 200 and out["http.route"] == "/web/login"
    assert out["duration_ms"] == 12.5 and out["sql.count"] == 7 and out["sql.ms"] == 1.25
    assert "hunter2" not in json.dumps(out)


def test_access_line_without_context_uses_perf_info():
    rec = make_record(
        '%s - - [%s] "%s" %s %s\n',
        "127.0.0.1",
        "x",
        "POST /x HTTP/1.1",
        "404",
        "12",
        name="werkzeug",
        perf_info="3 0.002 0.010",
    )
    out = fmt(rec)
    assert out["http.status"] == 404 and out["sql.count"] == 3
    assert out["sql.ms"] == 2.0 and out["duration_ms"] == 12.0


def test_workflow_extra_fields():
    out = fmt(
        make_record(
            "workflow run",
            workflow="dispatch",
            outcome="failure",
            reference="WH/OUT/1",
            duration_ms="15.5",
            **{"sql.count": 12},
        )
    )
    assert out["workflow"] == "dispatch" and out["outcome"] == "failure"
    assert out["duration_ms"] == 15.5 and out["sql.count"] == 12


def test_secrets_are_redacted():
    secrets = [
        "Authorization: Bearer abcdefghijklmnop123",
        "headers={'Authorization': 'Basic dXNlcjpwYXNz'}",
        '{"password": "s3cr3t-pw", "login": "admin"}',
        "api_key=KEY0123456789 token=TOK0123456789",
        "connect postgresql://odoo:dbpass123@db:5432/x",
        "calling with bearer zzzzzzzzzzzzzzzzzz",
    ]
    for text in secrets:
        out = fmt(make_record("%s", text))
        for secret in (
            "abcdefghijklmnop123",
            "dXNlcjpwYXNz",
            "s3cr3t-pw",
            "KEY0123456789",
            "TOK0123456789",
            "dbpass123",
            "zzzzzzzzzzzzzzzzzz",
        ):
            assert secret not in out["msg"], (text, out["msg"])
        assert "[REDACTED]" in out["msg"]
    assert fmt(make_record('{"login": "admin"}'))["msg"] == '{"login": "admin"}'


def test_exception_fields_and_newlines_escaped():
    try:
        raise ValueError("bad value\nsecond line password=abc123")
    except ValueError:
        rec = make_record("failed\nwith two lines", level=logging.ERROR, exc_info=sys.exc_info())
    out = fmt(rec)
    assert out["msg"] == "failed\nwith two lines"
    assert out["exc.type"] == "ValueError"
    assert "abc123" not in out["exc.message"] and "abc123" not in out["exc.stack"]
    assert "Traceback" in out["exc.stack"]


class _Boom(Exception):
    pass


def _recurse(n):
    if n:
        return _recurse(n - 1)
    raise KeyError("deep password=inner")


def _chained():
    try:
        _recurse(40)
    except KeyError as exc:
        try:
            raise ValueError("context")
        except ValueError:
            raise _Boom("outer") from exc


def test_exception_stack_is_the_traceback_python_prints():
    """The stack is Python's own traceback text (chained exceptions, repeated lines folded),
    without the column caret lines, redacted and bounded."""
    try:
        _chained()
    except _Boom:
        info = sys.exc_info()
    expected = "".join(traceback.format_exception(*info))
    expected = "".join(
        line for line in expected.splitlines(True) if line.strip(" ^~\n") or not line.strip()
    ).replace("password=inner", "password=[REDACTED]")
    out = fmt(make_record("failed", level=logging.ERROR, exc_info=info))
    assert out["exc.stack"] == expected[-tracebacks.MAX_STACK :]
    assert "[Previous line repeated" in out["exc.stack"] and out["exc.type"] == "_Boom"
    for text in ("'password=x'", 'token="abc"', "password=abc", "Authorization: Bearer abcdefghij"):
        once = redaction.redact(text)
        assert redaction.redact(once) == once != text  # redacting twice changes nothing
    try:
        _recurse(3000 // 10)
    except KeyError:
        info = sys.exc_info()
    stack = fmt(make_record("failed", level=logging.ERROR, exc_info=info))["exc.stack"]
    assert len(stack) <= tracebacks.MAX_STACK and stack.endswith("KeyError: 'deep password=[REDACTED]'\n")


def test_formatting_error_never_raises_nor_drops():
    class Boom:
        def __str__(self):
            raise RuntimeError("no str")

    out = fmt(make_record("value %s %s", "only-one"))  # wrong %-args
    assert "value %s %s" in out["msg"]
    out = fmt(make_record(Boom()))
    assert out["logger"] == "odoo.test" and "msg" in out
    out = fmt(make_record("x", workflow=object()))  # unserialisable extra
    assert out["msg"] == "x"


def test_handler_writes_one_line_per_record(tmp_path):
    path = tmp_path / "log.jsonl"
    handler = logging.FileHandler(path)
    handler.setFormatter(logfmt.JsonFormatter({"env": "t"}))
    logger = logging.getLogger("lotest.logfmt")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        logger.warning("multi\nline\r\nmessage \u2028 sep")
        logger.info("second")
    finally:
        logger.removeHandler(handler)
        handler.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    assert [json.loads(line)["msg"] for line in lines] == ["multi\nline\r\nmessage \u2028 sep", "second"]


def test_short_texts_are_redacted_whatever_their_case_and_letters():
    """Short texts take a one-search fast path: it must never skip a secret (upper case,
    non-ASCII letters that change length when lowered, a keyword at either end)."""
    for text in (
        "PASSWORD=hunter2222",
        "Token: hunter2222",
        "İstanbul Secret=hunter2222",
        "x" * 150 + " pwd=hunter2222",
        "AUTHORIZATION: Basic hunter2222",
        "BEARER hunter2222xyz",
        "REDIS://:hunter2222@cache",
        "Api-Key=hunter2222",
    ):
        assert len(text) <= redaction._SHORT, text
        assert "hunter2222" not in redaction.redact(text), text
    assert redaction.redact("order WH/OUT/0001 dispatched") == "order WH/OUT/0001 dispatched"


def test_url_userinfo_is_redacted():
    for text, secret in (
        ("redis://:s3cretRedis@cache:6379/0", "s3cretRedis"),
        ("postgres://u:p4ssw0rd@h/db", "p4ssw0rd"),
        ("broker amqp://guest:guestpw@mq:5672/ up", "guestpw"),
        ("https://ghp_TOKEN123456@github.com/x.git", "ghp_TOKEN123456"),
    ):
        msg = fmt(make_record("connecting to %s", text))["msg"]
        assert secret not in msg and "[REDACTED]@" in msg, msg
    assert fmt(make_record("see https://example.com/a@b"))["msg"] == "see https://example.com/a@b"


def test_secret_names_keep_their_meaning():
    out = fmt(make_record("db_password=abc sort_key=name api_key=K1 apikey=K2 monkey=banana"))["msg"]
    assert out == "db_password=[REDACTED] sort_key=name api_key=[REDACTED] apikey=[REDACTED] monkey=banana"
    out = fmt(make_record("headers {'Authorization': 'Bearer abcdefghij'} password: 'x y'"))["msg"]
    assert out == "headers {'Authorization': 'Bearer [REDACTED]'} password: '[REDACTED]'"


def test_never_nan_nor_infinity():
    for value in (float("nan"), float("inf"), float("-inf"), "nan", "Infinity"):
        line = logfmt.JsonFormatter({}).format(make_record("x", duration_ms=value, **{"sql.ms": value}))
        out = json.loads(line, parse_constant=lambda c: pytest.fail("non-JSON constant %s" % c))
        assert "duration_ms" not in out and "sql.ms" not in out
    line = logfmt.JsonFormatter({}).format(make_record("x", event={"a": [float("nan"), float("inf")]}))
    assert "NaN" not in line and "Infinity" not in line
    json.loads(line, parse_constant=lambda c: pytest.fail(c))


def test_double_fault_still_one_json_line():
    class Evil:
        def __str__(self):
            raise RuntimeError("no str")

        __repr__ = __str__

    rec = make_record(Evil(), name=Evil())
    rec.created = float("nan")
    rec.levelno = Evil()
    line = logfmt.JsonFormatter({}).format(rec)
    assert "\n" not in line and isinstance(json.loads(line), dict)
    deep = []
    for _ in range(100000):
        deep = [deep]
    out = fmt(make_record("deep", event=deep))
    assert out["msg"] == "deep"


def test_huge_messages_are_truncated_before_redaction():
    path = "/" + "a" * (64 * 1024)
    line = "GET %s?token=abcdefghijk HTTP/1.1" % path
    rec = make_record('%s - - [%s] "%s" %s %s\n', "127.0.0.1", "x", line, "404", "-", name="werkzeug")
    out = fmt(rec)
    assert len(out["msg"]) <= redaction.MAX_MSG and "...[truncated]..." in out["msg"]
    assert out["http.status"] == 404 and out["http.method"] == "GET"
    assert "abcdefghijk" not in json.dumps(out)


@pytest.mark.parametrize(
    "unit", ["a", "password", "token=", "://", "a@", "Bearer ", "'", "key", "authorization: ", "x" * 31 + "-"]
)
def test_redaction_is_linear(unit):
    """The same characters cost the same CPU time in one 16 KiB text as in 32 texts of 512 bytes.

    A linear redaction gives a ratio near 1, a quadratic one near 32 (the old pattern took
    seconds on 16 KiB of word characters). CPU time, best of a few interleaved rounds: a
    loaded machine slows both sides alike."""
    small = unit * (512 // len(unit))
    large = unit * (16 * 1024 // len(unit))
    pieces = len(large) // len(small)

    def cpu(fn):
        t0 = time.process_time()
        fn()
        return time.process_time() - t0

    def in_pieces():
        for _ in range(pieces):
            redaction.redact(small)

    best_small = best_large = float("inf")
    for _ in range(3):
        best_small = min(best_small, cpu(in_pieces))
        best_large = min(best_large, cpu(lambda: redaction.redact(large)))
    assert best_large < 8 * best_small + 0.001, (unit, best_large, best_small)
