"""The workflow ledger's buffer is bounded without a database: runs beyond ``max_rows`` are counted
as dropped (the ledger against a real PostgreSQL: tests/services/test_ledger_pg.py)."""

from logistics_observability.core import ledger_writer


def test_bounded_buffer_counts_drops():
    led = ledger_writer.Ledger(connect=None, max_rows=3)
    for minute in range(5):
        led.record("t", "dispatch", "success", 0.1, when=minute * 60)
    led.record("t", "dispatch", "success", 0.1, when=0)  # existing row still accepts runs
    assert led.dropped == 2 and led.pending() == {"t": 4}
