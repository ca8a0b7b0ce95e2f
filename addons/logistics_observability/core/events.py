"""Validation of external workflow events (``POST /logistics_observability/events``).

A body is one event object or a non-empty list of them::

    {"workflow": "pod_sync", "outcome": "success", "reference": "WH/OUT/00012",
     "occurred_at": "2025-01-31T10:15:00Z", "duration_ms": 5400000}

:func:`parse_body` returns normalised events or raises :class:`EventError`
naming the first bad field (``"[3].outcome"`` inside a list), so nothing of a
bad batch is written.
"""
import datetime
import json
import math

MAX_BODY = 1024 * 1024
MAX_EVENTS = 1000
MAX_REFERENCE = 256
MAX_FUTURE = datetime.timedelta(hours=1)
MAX_DURATION_MS = 366 * 86400 * 1000.0
OUTCOMES = ("success", "failure")
FIELDS = ("workflow", "outcome", "duration_ms", "reference", "occurred_at")


class EventError(ValueError):
    def __init__(self, message, field=None, status=400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status

    def as_dict(self):
        return {"error": self.message, "field": self.field}


def parse_timestamp(value):
    """Naive UTC datetime from an RFC 3339 timestamp with an offset (``Z`` or ``+hh:mm``)."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        raise ValueError("not a string timestamp")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("timestamp without a UTC offset")
    return parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def _event(item, prefix, is_known, now):
    if not isinstance(item, dict):
        raise EventError("an event must be a JSON object", prefix.rstrip(".") or "body")
    workflow = item.get("workflow")
    if not isinstance(workflow, str) or not workflow:
        raise EventError("workflow must be a non-empty string", prefix + "workflow")
    if not is_known(workflow):
        raise EventError("unknown workflow %r" % workflow[:64], prefix + "workflow")
    outcome = item.get("outcome")
    if outcome not in OUTCOMES:
        raise EventError("outcome must be 'success' or 'failure'", prefix + "outcome")
    reference = item.get("reference")
    if not isinstance(reference, str) or not reference.strip() or len(reference) > MAX_REFERENCE:
        raise EventError("reference must be a non-empty string of at most %d characters" % MAX_REFERENCE,
                         prefix + "reference")
    try:
        occurred_at = parse_timestamp(item.get("occurred_at"))
    except (TypeError, ValueError):
        raise EventError("occurred_at must be an RFC 3339 timestamp with a UTC offset",
                         prefix + "occurred_at") from None
    if occurred_at > now + MAX_FUTURE:
        raise EventError("occurred_at is in the future", prefix + "occurred_at")
    duration_ms = item.get("duration_ms")
    if duration_ms is not None:
        if (isinstance(duration_ms, bool) or not isinstance(duration_ms, int | float)
                or not math.isfinite(duration_ms) or not 0 <= duration_ms <= MAX_DURATION_MS):
            raise EventError("duration_ms must be a non-negative number of milliseconds",
                             prefix + "duration_ms")
        duration_ms = float(duration_ms)
    return {"workflow": workflow, "outcome": outcome, "reference": reference.strip(),
            "occurred_at": occurred_at, "duration_ms": duration_ms}


def parse_body(raw, is_known, now=None):
    """Events of a request body (bytes); raises :class:`EventError`."""
    if len(raw) > MAX_BODY:
        raise EventError("request body over %d bytes" % MAX_BODY, "body", status=413)
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise EventError("malformed JSON", "body") from None
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    if isinstance(payload, dict):
        return [_event(payload, "", is_known, now)]
    if isinstance(payload, list):
        if not payload:
            raise EventError("empty event list", "body")
        if len(payload) > MAX_EVENTS:
            raise EventError("at most %d events per request" % MAX_EVENTS, "body")
        return [_event(item, "[%d]." % i, is_known, now) for i, item in enumerate(payload)]
    raise EventError("body must be an event object or a list of events", "body")
