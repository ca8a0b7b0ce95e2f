"""Backup and restore-drill reports from backup jobs (``POST /logistics_observability/backups``
and ``odoo-bin observability_backup``), Odoo-free.

:func:`parse_body` decodes a body with the shared ingest rules (:mod:`.ingest`) and returns the
clean values of one report or a list of them, all or nothing; :class:`ReportError` (the shared
:class:`~.ingest.IngestError`) names the bad field.
"""

import datetime

from . import ingest
from .backup_status import KINDS, STATUSES

ReportError = ingest.IngestError

REPORT_FIELDS = (
    "kind",
    "status",
    "started_at",
    "ended_at",
    "size_bytes",
    "location",
    "checksum_verified",
    "restore_verified",
    "message",
)
MAX_BODY = ingest.MAX_BODY
MAX_REPORTS = 1000
MAX_LOCATION = 1024
MAX_MESSAGE = 4000
MAX_SIZE = 2**53


def validate_report(obj, now=None, prefix=""):
    """Check one backup report (a JSON object); returns the clean values or raises :class:`ReportError`."""

    def name(field):
        return ingest.field_name(prefix, field)

    if not isinstance(obj, dict):
        raise ReportError("expected a JSON object or a list of objects", prefix or "body")
    unknown = sorted(set(obj) - set(REPORT_FIELDS))
    if unknown:
        raise ReportError("unknown field", name(unknown[0]))
    kind = obj.get("kind")
    if kind not in KINDS:
        raise ReportError("must be one of %s" % ", ".join(KINDS), name("kind"))
    status = obj.get("status")
    if status not in STATUSES:
        raise ReportError("must be one of %s" % ", ".join(STATUSES), name("status"))
    if "started_at" not in obj:
        raise ReportError("required", name("started_at"))
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    # Odoo stores date-times to the second; the natural key must match what is stored
    started = ingest.parse_timestamp(obj["started_at"], name("started_at"), now).replace(microsecond=0)
    ended = None
    if obj.get("ended_at") is not None:
        ended = ingest.parse_timestamp(obj["ended_at"], name("ended_at"), now).replace(microsecond=0)
        if ended < started:
            raise ReportError("before started_at", name("ended_at"))
    if status != "running" and ended is None:
        if status != "failed":
            raise ReportError("required when status is success", name("ended_at"))
        ended = started
    size = obj.get("size_bytes")
    if size is not None and (
        isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE
    ):
        raise ReportError("expected a non-negative integer", name("size_bytes"))
    location = obj.get("location") or ""
    if not isinstance(location, str) or len(location) > MAX_LOCATION:
        raise ReportError("expected a string of at most %d characters" % MAX_LOCATION, name("location"))
    values = {
        "kind": kind,
        "status": status,
        "started_at": started,
        "ended_at": ended,
        "size_bytes": size,
        "location": location,
    }
    for flag in ("checksum_verified", "restore_verified"):
        value = obj.get(flag, False)
        if not isinstance(value, bool):
            raise ReportError("expected true or false", name(flag))
        values[flag] = value
    message = obj.get("message") or ""
    if not isinstance(message, str) or len(message) > MAX_MESSAGE:
        raise ReportError("expected a string of at most %d characters" % MAX_MESSAGE, name("message"))
    values["message"] = message
    return values


def parse_body(raw, now=None):
    """Reports of a request body (bytes): list of clean values; raises :class:`ReportError`
    (``status`` 413 when the body is too large)."""
    payload = ingest.decode_body(raw, MAX_BODY)
    return [
        validate_report(item, now, prefix)
        for prefix, item in ingest.items_of(payload, MAX_REPORTS, "reports")
    ]
