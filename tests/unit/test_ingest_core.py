"""The shared ingest rules (Odoo-free): one error type, one decoder, one timestamp rule."""

import datetime

import pytest

from logistics_observability.core import backup_reports, events, ingest

NOW = datetime.datetime(2025, 6, 1, 12, 0, 0)
EVENT = b'{"workflow": "pod_sync", "outcome": "success", "reference": %s, "occurred_at": %s}'


def parse_event(raw):
    return events.parse_body(raw, lambda name: name == "pod_sync", now=NOW)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"[" * 5000 + b"]" * 5000, "body"),
        (b"[[[[[[[[[[1]]]]]]]]]]", "[0][0][0][0][0][0][0][0]"),
        (b"\xff\xfe{}", "body"),
        (b"NaN", "body"),
        (b"[1e999]", "body"),
        (b"[" + b"9" * 5000 + b"]", "body"),
        (b'"\\ud800"', "body"),
        (EVENT % (b'"a\\u0000"', b'"2025-01-01T00:00:00Z"'), "reference"),
        (EVENT % (b'"a"', b'"2025-01-01T00:00:00"'), "occurred_at"),
        (EVENT % (b'"a"', b'"1999-12-31T23:00:00Z"'), "occurred_at"),
        (EVENT % (b'"a"', b'"2025-06-01T14:00:00+00:00"'), "occurred_at"),
        (EVENT % (b'"a"', b"1735689600"), "occurred_at"),
        (b'[{"workflow": "pod_sync", "\\u0000": 1}]', "[0].\x00"),
    ],
)
def test_every_bad_event_body_is_an_ingest_error(raw, field):
    with pytest.raises(ingest.IngestError) as info:
        parse_event(raw)
    assert info.value.status == 400 and info.value.field == field and info.value.message


def test_backup_reports_share_the_rules():
    assert backup_reports.ReportError is events.EventError is ingest.IngestError
    for raw in (b"[" * 5000 + b"]" * 5000, b'{"kind": "full", "message": "\\u0000"}'):
        with pytest.raises(ingest.IngestError):
            backup_reports.parse_body(raw, now=NOW)
    report = (
        b'{"kind": "full", "status": "success", "started_at": "2025-05-31T02:00:00.5+02:00", '
        b'"ended_at": "2025-05-31T02:10:00Z"}'
    )
    values = backup_reports.parse_body(report, now=NOW)[0]
    assert values["started_at"] == datetime.datetime(2025, 5, 31, 0, 0, 0)
    with pytest.raises(ingest.IngestError) as info:
        backup_reports.parse_body(b"x" * (ingest.MAX_BODY + 1))
    assert info.value.status == 413


def test_one_timestamp_rule():
    assert ingest.parse_timestamp("2025-03-01T11:15:00.250+01:00", "t", NOW) == datetime.datetime(
        2025, 3, 1, 10, 15, 0, 250000
    )
    for bad in ("2025-03-01 10:15:00", 1735689600, None, "2025-02-30T00:00:00Z", "x" * 41):
        with pytest.raises(ingest.IngestError):
            ingest.parse_timestamp(bad, "t", NOW)
