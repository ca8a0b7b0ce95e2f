"""What the ingest endpoints (workflow events, backup reports) share, Odoo-free.

One error type (:class:`IngestError`, naming the bad field), one JSON decoder
(:func:`decode_body`: size cap, nesting limit, finite numbers, strings
PostgreSQL can store) and one timestamp rule (:func:`parse_timestamp`).
Whatever the body, the caller gets either clean Python values or an
``IngestError``; nothing else escapes, so an endpoint never answers 5xx.
"""

import datetime
import json
import math

MAX_BODY = 1024 * 1024
#: Deepest nesting accepted (a list of objects of scalars needs 2).
MAX_DEPTH = 8
#: Most digits in a JSON integer (Python would spend quadratic time on huge ones).
MAX_INT_DIGITS = 30
#: Clock skew tolerated for timestamps of reported events.
MAX_FUTURE = datetime.timedelta(hours=1)
MIN_YEAR = 2000
TIMESTAMP_RULE = "an RFC 3339 date-time with a UTC offset (e.g. 2025-01-31T10:15:00Z)"


class IngestError(ValueError):
    """A bad request body; ``field`` names the culprit (``"body"``, ``"[3].outcome"``)."""

    def __init__(self, message, field="body", status=400):
        super().__init__("%s: %s" % (field, message))
        self.message = message
        self.field = field
        self.status = status

    def as_dict(self):
        return {"error": self.message, "field": self.field}


def field_name(prefix, key):
    """``prefix`` + ``key`` in the ``[i].name`` notation of error messages."""
    if isinstance(key, int):
        return "%s[%d]" % (prefix, key)
    key = str(key) or '""'  # an empty key is still a name the client can find
    return "%s.%s" % (prefix, key) if prefix else key


def _constant(name):
    raise IngestError("%s is not a JSON number" % name)


def _int(text):
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise IngestError("number with more than %d digits" % MAX_INT_DIGITS)
    return int(text)


def _float(text):
    value = float(text)
    if not math.isfinite(value):
        raise IngestError("number out of range")
    return value


def _check_string(value, field):
    if "\x00" in value:
        raise IngestError("NUL characters are not allowed", field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise IngestError("invalid Unicode (unpaired surrogate)", field) from None


def _check_tree(payload):
    """Nesting depth, and every string (keys too) storable in PostgreSQL; iterative."""
    stack = [(payload, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            _check_string(value, path or "body")
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise IngestError("nested more than %d levels deep" % MAX_DEPTH, path or "body")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                name = field_name(path, key)
                if isinstance(key, str):
                    _check_string(key, name)
                stack.append((item, name, depth + 1))


def decode_body(raw, max_body=MAX_BODY):
    """The JSON value of a request body (bytes); raises :class:`IngestError`."""
    if raw is None:
        raw = b""
    if len(raw) > max_body:
        raise IngestError("request body over %d bytes" % max_body, status=413)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError("body is not UTF-8 (byte %d)" % exc.start) from None
    try:
        payload = json.loads(text, parse_constant=_constant, parse_int=_int, parse_float=_float)
    except IngestError:
        raise
    except RecursionError:
        raise IngestError("nested more than %d levels deep" % MAX_DEPTH) from None
    except ValueError as exc:
        raise IngestError("malformed JSON (%s)" % str(exc)[:120]) from None
    _check_tree(payload)
    return payload


def items_of(payload, max_items, what):
    """``[(prefix, item)]`` of a body holding one object or a non-empty list of objects."""
    if isinstance(payload, dict):
        return [("", payload)]
    if isinstance(payload, list):
        if not payload:
            raise IngestError("empty list of %s" % what)
        if len(payload) > max_items:
            raise IngestError("at most %d %s per request" % (max_items, what))
        return [(field_name("", i), item) for i, item in enumerate(payload)]
    raise IngestError("body must be an object or a list of %s" % what)


def parse_timestamp(value, field, now=None):
    """The one timestamp rule: an RFC 3339 date-time with a UTC offset (``Z`` or ``+hh:mm``),
    from year 2000 to at most ``MAX_FUTURE`` ahead; returns a naive UTC datetime."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        raise IngestError("expected " + TIMESTAMP_RULE, field)
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise IngestError("expected " + TIMESTAMP_RULE, field) from None
    if parsed.tzinfo is None:
        raise IngestError("no UTC offset: expected " + TIMESTAMP_RULE, field)
    try:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    except (OverflowError, ValueError):
        raise IngestError("date-time out of range", field) from None
    if parsed.year < MIN_YEAR:
        raise IngestError("date-time before %d" % MIN_YEAR, field)
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    if parsed > now + MAX_FUTURE:
        raise IngestError("date-time in the future", field)
    return parsed
