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
import linecache
import logging
import math
import os
import re
import sys
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
MAX_SECRETS = 8
_MARK = "...[truncated]..."  # no space nor quote: an access line still parses around it

# Secret keywords (lowercase) found by substring search; each hit is checked by an
# anchored pattern with bounded quantifiers, so no input makes redaction super-linear.
_KEY_SUFFIX = r"[\w\-]{0,32}[\"']?\s{0,8}[:=]\s{0,8}"
_VALUE = r"(\"[^\"\n]{0,4096}\"?|'[^'\n]{0,4096}'?|[^\s&,;}\])\"']+)"
_KV = re.compile(r"(?i)(?:password|passwd|pwd|secret|token|key|session_id)" + _KEY_SUFFIX + _VALUE)
_KEY_PREFIX = re.compile(r"(?:api|access|private)[_-]?\Z")  # "key" alone is not a secret name
_AUTH = re.compile(
    r"(?i)authorization"
    + _KEY_SUFFIX
    + r"([\"']?)(?:(bearer|basic|digest|token|negotiate)\s{1,8})?([^\s'\",;}]+)"
)
_BEARER = re.compile(r"(?i)bearer\s{1,8}(?!\[REDACTED\])[A-Za-z0-9._~+/=\-]{8,}")
_USERINFO = re.compile(r"://([^/\s@\"'<>]+)@")
_TRIGGERS = ("passw", "pwd", "secret", "token", "key", "session_id", "authorization", "bearer", "://")
_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}

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


def truncate(text, limit=MAX_MSG):
    """``text`` if short, else its head and its last ``_TAIL`` characters around a marker."""
    if len(text) <= limit:
        return text
    tail = min(_TAIL, limit // 4)
    return text[: limit - tail - len(_MARK)] + _MARK + text[-tail:]


#: Every trigger but "bearer" stands just before a ``:`` or ``=`` (its own for "://"): at most
#: this many characters from the keyword's start to that separator (``authorization`` + the suffix).
_REACH = 13 + 32 + 1 + 8
#: More separators than this: scan the whole text for every keyword (still linear).
MAX_ANCHORS = 16
_ANCHORED = tuple(w for w in _TRIGGERS if w != "bearer")
_WHOLE = tuple((w, 0, sys.maxsize) for w in _TRIGGERS)  # every keyword, end to end


def _windows(low):
    """Disjoint (start, end) ranges of a long text where an anchored keyword can stand, or None
    for all of it.

    Separators are found with single-character searches (memchr speed); a long text with a few
    of them is searched for keywords only near them, instead of once per keyword end to end.
    """
    anchors = []
    for sep in ":=":
        pos = low.find(sep)
        while pos != -1:
            if len(anchors) >= MAX_ANCHORS:
                return None
            anchors.append(pos)
            pos = low.find(sep, pos + 1)
    anchors.sort()
    windows = []
    for pos in anchors:
        start, end = max(0, pos - _REACH), pos + 3  # "://" starts at its separator
        if windows and start <= windows[-1][1]:
            windows[-1][1] = end
        else:
            windows.append([start, end])
    return windows


def _spans(text, low):
    """(start, end, replacement) of every secret in ``text``; ``low`` is its ASCII lowercase."""
    found = []
    windows = _windows(low) if len(low) > 4 * _REACH else None
    if windows is None:
        searches = _WHOLE
    else:
        searches = [("bearer", 0, len(low))]
        searches += [(word, start, end) for start, end in windows for word in _ANCHORED]
    for word, start, end in searches:
        pos = low.find(word, start, end)
        while pos != -1:
            if len(found) >= MAX_SECRETS:
                return found, _first_trigger(low, pos)
            span = _match(text, low, word, pos)
            if span:
                found.append(span)
            pos = low.find(word, span[1] if span else pos + 1, end)
    if len(found) > 1:
        found.sort()
        kept, last = [], -1
        for span in found:
            if span[0] >= last:  # overlapping hits: the first one wins
                kept.append(span)
                last = span[1]
        found = kept
    return found, None


def _first_trigger(low, cut):
    """Where the first keyword of ``low`` stands (one is at ``cut``): each search ends at the best so far."""
    for word in _TRIGGERS:
        pos = low.find(word, 0, cut)
        if pos != -1:
            cut = pos
    return cut


def _match(text, low, word, pos):
    if word == "://":
        m = _USERINFO.match(text, pos)
        return (m.start(1), m.end(1), REDACTED) if m else None
    if word == "bearer":
        m = _BEARER.match(text, pos)
        return (pos, m.end(), text[pos : pos + 6] + " " + REDACTED) if m else None
    if word == "authorization":
        m = _AUTH.match(text, pos)
        if not m or m.group(3).startswith(REDACTED):
            return None
        scheme = m.group(2) + " " if m.group(2) else ""
        return (m.start(1), m.end(3), m.group(1) + scheme + REDACTED)
    if word == "key" and not _KEY_PREFIX.search(low, max(0, pos - 8), pos):
        return None
    m = _KV.match(text, pos)
    if not m or text.startswith(REDACTED, m.start(1) + (text[m.start(1)] in "\"'")):  # done already
        return None
    value = m.group(1)
    quote = value[:1] if value[:1] in "\"'" else ""
    replacement = quote + REDACTED + quote
    return (m.start(1), m.end(1), replacement)


#: Any keyword, case-insensitively: a short text without one is returned as it is after one
#: search (most messages and fields). ``re.I`` matches a superset of the ASCII-lowered keywords.
_ANY_TRIGGER = re.compile("|".join(re.escape(w) for w in _TRIGGERS), re.I)
_SHORT = 4 * _REACH


def redact(text):
    """Return ``text`` with passwords, tokens, API keys, Authorization values and URL
    credentials masked. Linear in ``len(text)``; callers truncate first."""
    if not text or (len(text) <= _SHORT and _ANY_TRIGGER.search(text) is None):
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


def _text(value):
    try:
        return str(value)
    except Exception:
        return "<%s>" % type(value).__name__


def _short_str(value):
    """``default=`` of json.dumps: a bounded string for any object, never raising."""
    return redact(truncate(_text(value), MAX_FIELD))


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


# (id(code), line) -> (code, the frame's lines as a traceback shows them, redacted); the code
# object is held, so its id cannot be reused while the entry exists
_FRAMES = {}
MAX_FRAMES_CACHED = 20000
MAX_CHAIN = 8  # chained exceptions (cause / context) shown at most
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _frame(code, lineno):
    hit = _FRAMES.get((id(code), lineno))
    if hit is not None and hit[0] is code:
        return hit[1]
    line = linecache.getline(code.co_filename, lineno or 0).strip()
    text = '  File "%s", line %s, in %s\n' % (code.co_filename, lineno, code.co_name)
    text = redact(truncate(text + ("    %s\n" % line if line else ""), MAX_FIELD))
    if len(_FRAMES) < MAX_FRAMES_CACHED:
        _FRAMES[id(code), lineno] = (code, text)
    return text


def _repeated(count):
    count -= 3
    return "  [Previous line repeated %d more time%s]\n" % (count, "s" if count > 1 else "")


def _frames(tb, parts):
    """The frames of ``tb`` as Python prints them (without the column carets; a line seen more
    than three times in a row told in one line); each frame's text is formatted and redacted once."""
    last_code, last_line, count = None, None, 0
    append = parts.append
    while tb is not None:
        code, line = tb.tb_frame.f_code, tb.tb_lineno
        tb = tb.tb_next
        if code is not last_code or line != last_line:
            if count > 3:
                append(_repeated(count))
            last_code, last_line, count = code, line, 0
        count += 1
        if count <= 3:
            append(_frame(code, line))
    if count > 3:
        append(_repeated(count))


def _exception_only(etype, evalue, message):
    if isinstance(evalue, SyntaxError):  # its text shows the offending line
        return redact(truncate("".join(traceback.format_exception_only(etype, evalue)), MAX_MSG))
    name = getattr(etype, "__qualname__", None) or str(etype)
    module = getattr(etype, "__module__", None)
    if isinstance(module, str) and module not in ("__main__", "builtins"):
        name = module + "." + name
    text = "%s: %s\n" % (name, message) if message else name + "\n"
    for note in (getattr(evalue, "__notes__", None) or ())[:8] if evalue is not None else ():
        text += redact(truncate(_short_str(note), MAX_FIELD)) + "\n"
    return text


def format_exception(etype, evalue, tb, message):
    """The traceback text Python prints (chained exceptions too), in bounded time: the frames'
    text comes from a cache, ``message`` (of ``evalue``) is already truncated and redacted, the
    other exceptions' messages are; the last ``MAX_STACK`` characters are kept."""
    chain = [(etype, evalue, tb, message, "")]  # the last one first; sep: what follows it when printed
    seen = {id(evalue)}
    exc = evalue
    while exc is not None and len(chain) < MAX_CHAIN:
        cause = exc.__cause__
        if cause is not None:
            sep = _CAUSE
        elif exc.__context__ is not None and not exc.__suppress_context__:
            cause, sep = exc.__context__, _CONTEXT
        else:
            break
        if id(cause) in seen:
            break
        seen.add(id(cause))
        chain.append((type(cause), cause, cause.__traceback__, redact(truncate(_text(cause))), sep))
        exc = cause
    parts = []
    for etype_, evalue_, tb_, message_, sep in reversed(chain):
        if tb_ is not None:
            parts.append("Traceback (most recent call last):\n")
            _frames(tb_, parts)
        parts.append(_exception_only(etype_, evalue_, message_))
        if sep:
            parts.append(sep)
    return "".join(parts)[-MAX_STACK:]


# one encoder for every record (no cycle check: every value is a bounded copy, see _plain)
_ENCODER = json.JSONEncoder(
    ensure_ascii=True, allow_nan=False, check_circular=False, default=_short_str, separators=(",", ":")
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
                "logger": _short_str(getattr(record, "name", "")),
                "msg": msg,
                "pid": os.getpid(),
                "log.format_error": _short_str("%s: %s" % (type(exc).__name__, exc)),
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
            message = redact(truncate(_text(evalue) if evalue is not None else ""))
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
