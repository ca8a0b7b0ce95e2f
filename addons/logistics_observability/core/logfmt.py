"""JSON log formatting: one object per line, correlated, redacted, never raising.

:class:`JsonFormatter` turns any :class:`logging.LogRecord` into a single line
of JSON with the fields of the product contract (``ts``, ``level``, ``logger``,
``msg``, ``pid``, ``tenant``, ``uid``, ``request_id``, ``trace_id``, ``span_id``,
taxonomy, ``http.*``, ``duration_ms``, ``sql.*``, ``workflow``, ``outcome``,
``exc.*``). Werkzeug's access line is parsed into numeric fields. Secrets are
redacted from the message and the stack. A formatting error falls back to a
minimal JSON line instead of raising or dropping the record.

The cost of a record is bounded whatever it holds: text is truncated *before*
it is redacted or parsed (:mod:`.redaction`, linear in the truncated text), an
exception's stack is built from cached frame texts (:mod:`.tracebacks`).
Numbers are never ``NaN``/``Infinity`` (not JSON).
"""

import json
import logging
import math
import os
import re
import threading
import time

from . import context, odoo_facts
from .redaction import MAX_FIELD, MAX_MSG, redact, short_str, text_of, truncate
from .tracebacks import MAX_STACK, format_exception

# A werkzeug access line: peer - - [date] "METHOD path proto" status size. The path (up to
# 2 KiB) is found with two character searches between the two anchored patterns.
_ACCESS_HEAD = re.compile(r'(?P<peer>\S{1,256}) \S{1,64} \S{1,256} \[[^\]]{0,64}\] "(?P<method>[A-Z]{1,16}) ')
_ACCESS_TAIL = re.compile(r'(?: (?P<proto>[^"]{0,64}))?" (?P<status>\d{3}) (?P<size>\S{1,32})')
_PERF = odoo_facts.PERF_INFO_RE

#: Record attributes (from ``extra=``) copied into the JSON object.
EXTRA_FIELDS = (
    "workflow",
    "outcome",
    "reference",
    "duration_ms",
    "sql.count",
    "sql.ms",
    "carrier",
    "operation",
    "cron",
    "start_delay_ms",
    "http.method",
    "http.route",
    "http.status",
    "http.url",
    "event",
    # security and audit events
    "auth.method",
    "client.ip",
    "user.login",
    "target.login",
    "group",
    "change",
    "change.kind",
    "change.target",
    "change.from",
    "change.to",
)
_NUMERIC = ("http.status", "duration_ms", "sql.count", "sql.ms", "start_delay_ms")
#: Context keys copied on every line.
_CONTEXT_FIELDS = ("request_id", "trace_id", "span_id", "tenant", "uid")
#: Context keys copied on request-outcome lines (werkzeug access line).
_REQUEST_FIELDS = ("http.method", "http.route", "http.status", "duration_ms", "sql.count", "sql.ms")
_LAST_RESORT = (
    '{"level":"ERROR","logger":"logistics_observability.logfmt",'
    '"msg":"<log record could not be formatted>","log.format_error":"double fault"}'
)


_second = [None, ""]  # (epoch second, its formatted text): one strftime per second


def _ts(created):
    try:
        secs = int(created)
        millis = int((created - secs) * 1000)
    except (TypeError, ValueError, OverflowError):
        created = time.time()
        secs, millis = int(created), int((created - int(created)) * 1000)
    cached = _second
    if cached[0] != secs:
        cached = [secs, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))]
        _second[:] = cached
    return "%s.%03dZ" % (cached[1], millis)


def _num(value):
    """A finite JSON number, or None."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if not isinstance(value, float):
        try:
            text = str(value)[:64]
            value = int(text) if text.isdigit() else float(text)
        except (TypeError, ValueError):
            return None
    return value if math.isfinite(value) else None


def _plain(value, depth=0):
    """JSON-safe copy of an ``extra=`` value: finite numbers, bounded strings and depth."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return redact(truncate(value, MAX_FIELD))
    if depth < 4 and isinstance(value, dict):
        return {str(k)[:128]: _plain(v, depth + 1) for k, v in list(value.items())[:64]}
    if depth < 4 and isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value[:64]]
    return short_str(value)


def parse_access_line(msg):
    """Fields of a werkzeug access line (``http.method``, ``http.path``, ``http.status``) or None.

    ``msg`` must already be truncated and redacted."""
    msg = msg or ""
    head = _ACCESS_HEAD.match(msg)
    if not head:
        return None
    start = head.end()
    # the path runs to the first space or quote (a shorter path could not be followed by either)
    end, quote = msg.find(" ", start), msg.find('"', start)
    if end == -1 or -1 < quote < end:
        end = quote
    if end <= start:
        return None
    tail = _ACCESS_TAIL.match(msg, end)
    if not tail:
        return None
    size = tail.group("size")
    fields = {
        "http.method": head.group("method"),
        "http.path": msg[start : min(end, start + 512)],
        "http.status": int(tail.group("status")),
        "client.address": head.group("peer"),
    }
    if size.isdigit():
        fields["http.response_size"] = int(size)
    return fields


# one encoder for every record (no cycle check: every value is a bounded copy, see _plain)
_ENCODER = json.JSONEncoder(
    ensure_ascii=True, allow_nan=False, check_circular=False, default=short_str, separators=(",", ":")
)


def _dumps(out):
    return _ENCODER.encode(out)


class JsonFormatter(logging.Formatter):
    """Formats records as one JSON object per line.

    ``static`` fields (env, service, region, release) are added to every line.
    """

    def __init__(self, static=None):
        super().__init__()
        self.static = dict(static or {})
        self._errors = 0

    def format(self, record):
        try:
            return self._format(record)
        except Exception as exc:  # a log line must never be lost or raise
            self._errors += 1
            try:
                return self._fallback(record, exc)
            except Exception:  # double fault: still one JSON line
                return _LAST_RESORT

    def _fallback(self, record, exc):
        try:
            msg = redact(truncate(str(getattr(record, "msg", ""))))
        except Exception:
            msg = "<unprintable log message>"
        return _dumps(
            {
                "ts": _ts(getattr(record, "created", None)),
                "level": str(logging.getLevelName(getattr(record, "levelno", logging.ERROR))),
                "logger": short_str(getattr(record, "name", "")),
                "msg": msg,
                "pid": os.getpid(),
                "log.format_error": short_str("%s: %s" % (type(exc).__name__, exc)),
            }
        )

    def _message(self, record):
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, str) and len(a) > MAX_MSG for a in args):
            # a huge argument (a 1 MiB request line) is cut before it is copied into the message
            record.args = tuple(truncate(a) if isinstance(a, str) else a for a in args)
        try:
            msg = record.getMessage()
        except Exception:  # bad %-args: keep the raw template and the args
            msg = "%s %s" % (short_str(record.msg), short_str(record.args))
        return msg

    def _format(self, record):
        ctx = context.current()
        thread = threading.current_thread()
        msg = redact(truncate(self._message(record).rstrip("\n")))
        out = {
            "ts": _ts(record.created),
            "level": logging.getLevelName(record.levelno),
            "logger": record.name,
            "msg": msg,
            "pid": record.process or os.getpid(),
        }
        for key in _CONTEXT_FIELDS:
            value = ctx.get(key)
            if value is not None:
                out[key] = value
        if "tenant" not in out:
            dbname = getattr(thread, odoo_facts.THREAD_DBNAME, None)
            if dbname:
                out["tenant"] = dbname
        if "uid" not in out:
            uid = getattr(thread, odoo_facts.THREAD_UID, None)
            if uid is not None:
                out["uid"] = uid
        out.update(self.static)

        if record.name == odoo_facts.ACCESS_LOGGER:
            access = parse_access_line(msg)
            if access:
                out.update(access)
                for key in _REQUEST_FIELDS:
                    if ctx.get(key) is not None and key != "http.status":
                        out[key] = ctx[key]
                perf = _PERF.match(str(getattr(record, odoo_facts.RECORD_PERF_INFO, "") or "")[:128])
                if perf:
                    count, sql_s, rest_s = int(perf.group(1)), _num(perf.group(2)), _num(perf.group(3))
                    out.setdefault("sql.count", count)
                    if sql_s is not None and rest_s is not None:
                        out.setdefault("sql.ms", round(sql_s * 1000.0, 3))
                        out.setdefault("duration_ms", round((sql_s + rest_s) * 1000.0, 3))
        elif ctx.get("http.method") and "http.method" not in out:
            out["http.method"] = ctx["http.method"]
            if ctx.get("http.route"):
                out["http.route"] = ctx["http.route"]

        attrs = record.__dict__
        for key in EXTRA_FIELDS:
            if key in attrs and attrs[key] is not None:
                out[key] = _plain(attrs[key])
        for key in _NUMERIC:
            if key in out:
                value = _num(out[key])
                if value is None:
                    del out[key]
                else:
                    out[key] = value

        if record.exc_info and record.exc_info[0] is not None:
            etype, evalue, _tb = record.exc_info
            out["exc.type"] = getattr(etype, "__name__", str(etype))
            message = redact(truncate(text_of(evalue) if evalue is not None else ""))
            out["exc.message"] = message
            if record.exc_text:  # formatted by another handler already
                out["exc.stack"] = redact(record.exc_text[-MAX_STACK:])
            else:
                out["exc.stack"] = format_exception(etype, evalue, _tb, message)
        elif record.exc_text:
            out["exc.stack"] = redact(record.exc_text[-MAX_STACK:])
        if record.stack_info:
            out["stack"] = redact(record.stack_info[-MAX_STACK:])
        return _dumps(out)
