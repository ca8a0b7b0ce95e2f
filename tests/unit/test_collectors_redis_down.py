"""Redis collector without a Redis: a hung or closed port reports Redis down within a second
(against a real redis-server: tests/services/test_collectors_redis.py)."""

import time

import odoo_harness
from collector_helpers import BlackHole, samples, value

from logistics_observability.core.collectors import redis_collector


def test_hung_redis_reports_down_within_a_second():
    with BlackHole() as hole:
        start = time.monotonic()
        families, ok = redis_collector.collect("redis://127.0.0.1:%d/0" % hole.port)
        took = time.monotonic() - start
    assert not ok and value(samples(families), "odoo_redis_up") == 0
    assert took < 1.0, took


def test_unreachable_port():
    families, ok = redis_collector.collect("redis://127.0.0.1:%d/0" % odoo_harness.free_port())
    assert not ok and value(samples(families), "odoo_redis_up") == 0
