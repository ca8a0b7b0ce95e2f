"""Redis collector against a real redis-server started by the test, then stopped."""

import time

from collector_helpers import RedisServer, samples, value

from logistics_observability.core.collectors import redis_collector


def test_redis_up_then_stopped():
    with RedisServer() as server:
        import redis

        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        client.get("k")
        client.get("missing")
        families, ok = redis_collector.collect(server.url)
        scraped = samples(families)
        assert ok
        assert value(scraped, "odoo_redis_up") == 1
        assert value(scraped, "odoo_redis_memory_used_bytes") > 0
        assert value(scraped, "odoo_redis_memory_max_bytes") == 64 * 1024 * 1024
        assert value(scraped, "odoo_redis_connected_clients") >= 1
        assert value(scraped, "odoo_redis_keyspace_hits_total") >= 1
        assert value(scraped, "odoo_redis_keyspace_misses_total") >= 1
        assert value(scraped, "odoo_redis_evicted_keys_total") == 0
        client.close()
        server.stop()
        start = time.monotonic()
        families, ok = redis_collector.collect(server.url)
        assert time.monotonic() - start < 1.0
        assert not ok
        assert samples(families) == {("odoo_redis_up", ()): 0}
