"""JSON log formatting: one object per line, correlated, redacted, never raising.

:class:`JsonFormatter` turns any :class:`logging.LogRecord` into a single line
of JSON with the fields of the product contract (``ts``, ``level``, ``logger``,
``msg``, ``pid``, ``tenant``, ``uid``, ``request_id``, ``trace_id``, ``span_id``,
taxonomy, ``http.*``, ``duration_ms``, ``sql.*``, ``workflow``, ``outcome``,
``exc.*``). Werkzeug's access line is parsed into numeric fields. Secrets are
redacted from the message and the stack. A formatting error falls back to a
minimal JSON line instead of raising or dropping the record.

The cost of a record is bounded whatever it holds: text is truncated *before*
it is redacted or parsed, and redaction finds its keywords with plain
substring searches, then runs only anchored patterns with bounded
quantifiers at those places (linear in the truncated text). Numbers are never
``NaN``/``Infinity`` (not JSON).
"""
import json
import logging
import math
import os
import re
import threading
import time
import traceback

from . import context, odoo_facts

REDACTED = "[REDACTED]"

#: Longest ``msg`` / ``exc.message`` kept (head and tail of longer text, see :func:`truncate`).
MAX_MSG = 2048
#: Longest ``exc.stack`` / ``stack`` kept (their tail: the innermost frames).
MAX_STACK = 8192
#: Longest value of an ``extra=`` string field.
MAX_FIELD = 1024
_TAIL = 512
#: Past this many secrets in one text, the rest of it is masked wholesale (bounded cost).
MAX_SECRETS = 16
_MARK = "...[truncated]..."  # no space nor quote: an access line still parses around it

# Secret keywords (lowercase) found by substring search; each hit is checked by an
# anchored pattern with bounded quantifiers, so no input makes redaction super-linear.
_KEY_SUFFIX = r"[\w\-]{0,32}[\"']?\s{0,8}[:=]\s{0,8}"
_VALUE = r"(\"[^\"\n]{0,4096}\"?|'[^'\n]{0,4096}'?|[^\s&,;}\])\"']+)"
_KV = re.compile(r"(?i)(?:password|passwd|pwd|secret|token|key|session_id)" + _KEY_SUFFIX + _VALUE)
_KEY_PREFIX = re.compile(r"(?:api|access|private)[_-]?\Z")  # "key" alone is not a secret name
_AUTH = re.compile(r"(?i)authorization" + _KEY_SUFFIX
                   + r"([\"']?)(?:(bearer|basic|digest|token|negotiate)\s{1,8})?([^\s'\",;}]+)")
_BEARER = re.compile(r"(?i)bearer\s{1,8}(?!\[REDACTED\])[A-Za-z0-9._~+/=\-]{8,}")
_USERINFO = re.compile(r"://([^/\s@\"'<>]+)@")
_TRIGGERS = ("passw", "pwd", "secret", "token", "key", "session_id", "authorization", "bearer", "://")
_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}

_ACCESS_LINE = re.compile(
    r'^(?P<peer>\S{1,256}) \S{1,64} \S{1,256} \[[^\]]{0,64}\] "(?P<method>[A-Z]{1,16}) (?P<path>[^ "]+)'
    r'(?: (?P<proto>[^"]{0,64}))?" (?P<status>\d{3}) (?P<size>\S{1,32})'
)
_PERF = odoo_facts.PERF_INFO_RE

#: Record attributes (from ``extra=``) copied into the JSON object.
EXTRA_FIELDS = (
    "workflow", "outcome", "reference", "duration_ms", "sql.count", "sql.ms", "carrier",
    "operation", "cron", "start_delay_ms", "http.method", "http.route", "http.status",
    "http.url", "event",
    # security and audit events
    "auth.method", "client.ip", "user.login", "target.login", "group", "change",
    "change.kind", "change.target", "change.from", "change.to",
)
_NUMERIC = ("http.status", "duration_ms", "sql.count", "sql.ms", "start_delay_ms")
#: Context keys copied on every line.
_CONTEXT_FIELDS = ("request_id", "trace_id", "span_id", "tenant", "uid")
#: Context keys copied on request-outcome lines (werkzeug access line).
_REQUEST_FIELDS = ("http.method", "http.route", "http.status", "duration_ms", "sql.count", "sql.ms")
_LAST_RESORT = '{"level":"ERROR","logger":"logistics_observability.logfmt",' \
               '"msg":"<log record could not be formatted>","log.format_error":"double fault"}'


def truncate(text, limit=MAX_MSG):
    """``text`` if short, else its head and its last ``_TAIL`` characters around a marker."""
    if len(text) <= limit:
        return text
    tail = min(_TAIL, limit // 4)
    return text[:limit - tail - len(_MARK)] + _MARK + text[-tail:]


def _spans(text, low):
    """(start, end, replacement) of every secret in ``text``; ``low`` is its ASCII lowercase."""
    found = []
    for word in _TRIGGERS:
        pos = low.find(word)
        while pos != -1:
            if len(found) >= MAX_SECRETS:
                return found, min(p for p in (low.find(w) for w in _TRIGGERS) if p != -1)
            span = _match(text, low, word, pos)
            if span:
                found.append(span)
            pos = low.find(word, span[1] if span else pos + 1)
    if len(found) > 1:
        found.sort()
        kept, end = [], -1
        for span in found:
            if span[0] >= end:  # overlapping hits: the first one wins
                kept.append(span)
                end = span[1]
        found = kept
    return found, None


def _match(text, low, word, pos):
    if word == "://":
        m = _USERINFO.match(text, pos)
        return (m.start(1), m.end(1), REDACTED) if m else None
    if word == "bearer":
        m = _BEARER.match(text, pos)
        return (pos, m.end(), text[pos:pos + 6] + " " + REDACTED) if m else None
    if word == "authorization":
        m = _AUTH.match(text, pos)
        if not m or m.group(3).startswith(REDACTED):
            return None
        scheme = m.group(2) + " " if m.group(2) else ""
        return (m.start(1), m.end(3), m.group(1) + scheme + REDACTED)
    if word == "key" and not _KEY_PREFIX.search(low, max(0, pos - 8), pos):
        return None
    m = _KV.match(text, pos)
    if not m or m.group(1).strip("\"'").startswith(REDACTED):
        return None
    value = m.group(1)
    quote = value[:1] if value[:1] in "\"'" else ""
    replacement = quote + REDACTED + quote
    return (m.start(1), m.end(1), replacement)


def redact(text):
    """Return ``text`` with passwords, tokens, API keys, Authorization values and URL
    credentials masked. Linear in ``len(text)``; callers truncate first."""
    if not text:
        return text
    low = text.lower()
    if len(low) != len(text):  # a few non-ASCII letters change length when lowered
        low = text.translate(_ASCII_LOWER)
    spans, cut = _spans(text, low)
    if cut is not None:  # too many secrets to check one by one: mask all from the first one
        return text[:cut] + REDACTED
    if not spans:
        return text
    parts, last = [], 0
    for start, end, replacement in spans:
        parts.append(text[last:start])
        parts.append(replacement)
        last = end
    parts.append(text[last:])
    return "".join(parts)


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


def _short_str(value):
    """``default=`` of json.dumps: a bounded string for any object, never raising."""
    try:
        text = str(value)
    except Exception:
        text = "<%s>" % type(value).__name__
    return redact(truncate(text, MAX_FIELD))


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
    return _short_str(value)


def parse_access_line(msg):
    """Fields of a werkzeug access line (``http.method``, ``http.path``, ``http.status``) or None.

    ``msg`` must already be truncated and redacted."""
    match = _ACCESS_LINE.match(msg or "")
    if not match:
        return None
    size = match.group("size")
    fields = {
        "http.method": match.group("method"),
        "http.path": match.group("path")[:512],
        "http.status": int(match.group("status")),
        "client.address": match.group("peer"),
    }
    if size.isdigit():
        fields["http.response_size"] = int(size)
    return fields


def _dumps(out):
    return json.dumps(out, ensure_ascii=True, allow_nan=False, default=_short_str, separators=(",", ":"))


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
        return _dumps({
            "ts": _ts(getattr(record, "created", None)),
            "level": str(logging.getLevelName(getattr(record, "levelno", logging.ERROR))),
            "logger": _short_str(getattr(record, "name", "")),
            "msg": msg,
            "pid": os.getpid(),
            "log.format_error": _short_str("%s: %s" % (type(exc).__name__, exc)),
        })

    def _message(self, record):
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, str) and len(a) > MAX_MSG for a in args):
            # a huge argument (a 1 MiB request line) is cut before it is copied into the message
            record.args = tuple(truncate(a) if isinstance(a, str) else a for a in args)
        try:
            msg = record.getMessage()
        except Exception:  # bad %-args: keep the raw template and the args
            msg = "%s %s" % (_short_str(record.msg), _short_str(record.args))
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
            out["exc.message"] = redact(truncate(_short_str(evalue) if evalue is not None else ""))
            if not record.exc_text:
                record.exc_text = "".join(traceback.format_exception(*record.exc_info))
            out["exc.stack"] = redact(record.exc_text[-MAX_STACK:])
        elif record.exc_text:
            out["exc.stack"] = redact(record.exc_text[-MAX_STACK:])
        if record.stack_info:
            out["stack"] = redact(record.stack_info[-MAX_STACK:])
        return _dumps(out)
