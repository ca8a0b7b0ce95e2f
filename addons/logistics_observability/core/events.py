"""Validation of external workflow events (``POST /logistics_observability/events``).

A body is one event object or a non-empty list of them::

    {"workflow": "pod_sync", "outcome": "success", "reference": "WH/OUT/00012",
     "occurred_at": "2025-01-31T10:15:00Z", "duration_ms": 5400000}

:func:`parse_body` returns normalised events or raises :class:`EventError`
(the shared :class:`~.ingest.IngestError`) naming the first bad field
(``"[3].outcome"`` inside a list), so nothing of a bad batch is written.
"""

import math

from . import ingest

MAX_BODY = ingest.MAX_BODY
MAX_EVENTS = 1000
MAX_REFERENCE = 256
MAX_DURATION_MS = 366 * 86400 * 1000.0
OUTCOMES = ("success", "failure")
FIELDS = ("workflow", "outcome", "duration_ms", "reference", "occurred_at")

EventError = ingest.IngestError


def _event(item, prefix, is_known, now):
    def name(field):
        return ingest.field_name(prefix, field)

    if not isinstance(item, dict):
        raise EventError("an event must be a JSON object", prefix or "body")
    workflow = item.get("workflow")
    if not isinstance(workflow, str) or not workflow:
        raise EventError("workflow must be a non-empty string", name("workflow"))
    if not is_known(workflow):
        raise EventError("unknown workflow %r" % workflow[:64], name("workflow"))
    outcome = item.get("outcome")
    if outcome not in OUTCOMES:
        raise EventError("outcome must be 'success' or 'failure'", name("outcome"))
    reference = item.get("reference")
    if not isinstance(reference, str) or not reference.strip() or len(reference) > MAX_REFERENCE:
        raise EventError(
            "reference must be a non-empty string of at most %d characters" % MAX_REFERENCE, name("reference")
        )
    occurred_at = ingest.parse_timestamp(item.get("occurred_at"), name("occurred_at"), now)
    duration_ms = item.get("duration_ms")
    if duration_ms is not None:
        if (
            isinstance(duration_ms, bool)
            or not isinstance(duration_ms, int | float)
            or not math.isfinite(duration_ms)
            or not 0 <= duration_ms <= MAX_DURATION_MS
        ):
            raise EventError("duration_ms must be a non-negative number of milliseconds", name("duration_ms"))
        duration_ms = float(duration_ms)
    return {
        "workflow": workflow,
        "outcome": outcome,
        "reference": reference.strip(),
        "occurred_at": occurred_at,
        "duration_ms": duration_ms,
    }


def parse_body(raw, is_known, now=None):
    """Events of a request body (bytes); raises :class:`EventError`."""
    payload = ingest.decode_body(raw, MAX_BODY)
    items = ingest.items_of(payload, MAX_EVENTS, "events")
    return [_event(item, prefix, is_known, now) for prefix, item in items]
