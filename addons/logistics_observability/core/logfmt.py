"""JSON log formatting: one object per line, correlated, redacted, never raising.

:class:`JsonFormatter` turns any :class:`logging.LogRecord` into a single line
of JSON with the fields of the product contract (``ts``, ``level``, ``logger``,
``msg``, ``pid``, ``tenant``, ``uid``, ``request_id``, ``trace_id``, ``span_id``,
taxonomy, ``http.*``, ``duration_ms``, ``sql.*``, ``workflow``, ``outcome``,
``exc.*``). Werkzeug's access line is parsed into numeric fields. Secrets are
redacted from the message and the stack. A formatting error falls back to a
minimal JSON line instead of raising or dropping the record.
"""
import json
import logging
import os
import re
import threading
import time
import traceback

from . import context

REDACTED = "[REDACTED]"

# Names whose values are secrets wherever they appear as key/value pairs.
_SECRET_KEYS = (
    r"password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|authorization|session_id|csrf_token|client_secret|refresh_token|access_token"
)
_REDACTIONS = (
    # Authorization header values, whatever the scheme
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:(bearer|basic|digest|token)\s+)?[^\s'\",;}]+"),
     lambda m: m.group(1) + (m.group(2) + " " if m.group(2) else "") + REDACTED),
    # bare "Bearer <token>" anywhere
    (re.compile(r"(?i)\b(bearer)\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=\-]{8,}"),
     lambda m: m.group(1) + " " + REDACTED),
    # "password": "x" / 'password': 'x' / password=x / password: x
    (re.compile(r"(?i)([\"']?[\w.\-]*(?:%s)[\w\-]*[\"']?\s*[:=]\s*)" % _SECRET_KEYS
                + r"(\"[^\"]*\"|'[^']*'|[^\s&,;}\])]+)"),
     lambda m: m.group(1) + ('"%s"' % REDACTED if m.group(2)[:1] in "\"'" else REDACTED)),
    # credentials in URLs: scheme://user:secret@host
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^:/\s@]+:)[^@/\s]+@"),
     lambda m: m.group(1) + REDACTED + "@"),
)

_ACCESS_LINE = re.compile(
    r'^(?P<peer>\S+) \S+ \S+ \[[^\]]*\] "(?P<method>[A-Z]+) (?P<path>\S+)(?: (?P<proto>[^"]*))?" '
    r"(?P<status>\d{3}) (?P<size>\S+)"
)
_PERF = re.compile(r"^\s*(\d+)\s+([0-9.]+)\s+([0-9.]+)")

#: Record attributes (from ``extra=``) copied into the JSON object.
EXTRA_FIELDS = (
    "workflow", "outcome", "reference", "duration_ms", "sql.count", "sql.ms", "carrier",
    "operation", "cron", "start_delay_ms", "http.method", "http.route", "http.status",
    "http.url", "event",
)
#: Context keys copied on every line.
_CONTEXT_FIELDS = ("request_id", "trace_id", "span_id", "tenant", "uid")
#: Context keys copied on request-outcome lines (werkzeug access line).
_REQUEST_FIELDS = ("http.method", "http.route", "http.status", "duration_ms", "sql.count", "sql.ms")
_MAX_MSG = 32 * 1024
_MAX_STACK = 16 * 1024


def redact(text):
    """Return ``text`` with passwords, tokens, API keys and Authorization values masked."""
    if not text:
        return text
    for pattern, repl in _REDACTIONS:
        text = pattern.sub(repl, text)
    return text


def _ts(created):
    secs = int(created)
    return "%s.%03dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)), int((created - secs) * 1000))


def _num(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    try:
        text = str(value)
        return int(text) if text.isdigit() else float(text)
    except (TypeError, ValueError):
        return None


def parse_access_line(msg):
    """Fields of a werkzeug access line (``http.method``, ``http.path``, ``http.status``) or None."""
    match = _ACCESS_LINE.match(msg or "")
    if not match:
        return None
    size = match.group("size")
    fields = {
        "http.method": match.group("method"),
        "http.path": redact(match.group("path"))[:2048],
        "http.status": int(match.group("status")),
        "client.address": match.group("peer"),
    }
    if size.isdigit():
        fields["http.response_size"] = int(size)
    return fields


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
                msg = redact(str(getattr(record, "msg", "")))[:_MAX_MSG]
            except Exception:
                msg = "<unprintable log message>"
            return json.dumps({
                "ts": _ts(getattr(record, "created", time.time())),
                "level": logging.getLevelName(getattr(record, "levelno", logging.ERROR)),
                "logger": str(getattr(record, "name", "")),
                "msg": msg,
                "pid": os.getpid(),
                "log.format_error": "%s: %s" % (type(exc).__name__, exc),
            }, ensure_ascii=True, default=str)

    def _message(self, record):
        try:
            msg = record.getMessage()
        except Exception:  # bad %-args: keep the raw template and the args
            msg = "%s %r" % (record.msg, record.args)
        return msg

    def _format(self, record):
        ctx = context.current()
        thread = threading.current_thread()
        msg = self._message(record).rstrip("\n")
        out = {
            "ts": _ts(record.created),
            "level": logging.getLevelName(record.levelno),
            "logger": record.name,
            "msg": redact(msg)[:_MAX_MSG],
            "pid": record.process or os.getpid(),
        }
        for key in _CONTEXT_FIELDS:
            value = ctx.get(key)
            if value is not None:
                out[key] = value
        if "tenant" not in out:
            dbname = getattr(thread, "dbname", None)
            if dbname:
                out["tenant"] = dbname
        if "uid" not in out:
            uid = getattr(thread, "uid", None)
            if uid is not None:
                out["uid"] = uid
        out.update(self.static)

        if record.name == "werkzeug":
            access = parse_access_line(msg)
            if access:
                out.update(access)
                for key in _REQUEST_FIELDS:
                    if ctx.get(key) is not None and key != "http.status":
                        out[key] = ctx[key]
                perf = _PERF.match(str(getattr(record, "perf_info", "") or ""))
                if perf:
                    count, sql_s, rest_s = int(perf.group(1)), float(perf.group(2)), float(perf.group(3))
                    out.setdefault("sql.count", count)
                    out.setdefault("sql.ms", round(sql_s * 1000.0, 3))
                    out.setdefault("duration_ms", round((sql_s + rest_s) * 1000.0, 3))
        elif ctx.get("http.method") and "http.method" not in out:
            out["http.method"] = ctx["http.method"]
            if ctx.get("http.route"):
                out["http.route"] = ctx["http.route"]

        attrs = record.__dict__
        for key in EXTRA_FIELDS:
            if key in attrs and attrs[key] is not None:
                out[key] = attrs[key]
        for key in ("http.status", "duration_ms", "sql.count", "sql.ms", "start_delay_ms"):
            if key in out:
                value = _num(out[key])
                if value is None:
                    del out[key]
                else:
                    out[key] = value

        if record.exc_info and record.exc_info[0] is not None:
            etype, evalue, _tb = record.exc_info
            out["exc.type"] = getattr(etype, "__name__", str(etype))
            out["exc.message"] = redact(str(evalue))[:_MAX_MSG]
            if not record.exc_text:
                record.exc_text = "".join(traceback.format_exception(*record.exc_info))
            out["exc.stack"] = redact(record.exc_text)[-_MAX_STACK:]
        elif record.exc_text:
            out["exc.stack"] = redact(record.exc_text)[-_MAX_STACK:]
        if record.stack_info:
            out["stack"] = redact(record.stack_info)[-_MAX_STACK:]
        return json.dumps(out, ensure_ascii=True, default=str, separators=(",", ":"))
