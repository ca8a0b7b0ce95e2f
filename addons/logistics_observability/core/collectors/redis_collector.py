"""Redis collector (``observability_redis_url``): INFO with sub-second timeouts."""

import time

from .. import metrics

CONNECT_TIMEOUT = 0.5
SOCKET_TIMEOUT = 0.5


def client(url, timeout=SOCKET_TIMEOUT):
    import redis  # optional dependency: only needed when a Redis URL is configured

    return redis.Redis.from_url(
        url,
        socket_connect_timeout=min(timeout, CONNECT_TIMEOUT),
        socket_timeout=timeout,
        retry_on_timeout=False,
        health_check_interval=0,
    )


def collect(url, timeout=SOCKET_TIMEOUT):
    """``(families, ok)``: ``odoo_redis_up`` plus memory, clients, evictions and hit ratio inputs."""
    up = metrics.Family("odoo_redis_up", "gauge", "1 when Redis answers the collector.", ())
    ok, _took, info = ping(url, timeout)
    if not ok:
        up.add(0)
        return [up], False
    up.add(1)
    specs = (
        ("odoo_redis_memory_used_bytes", "gauge", "Memory used by Redis.", "used_memory"),
        ("odoo_redis_memory_max_bytes", "gauge", "Redis maxmemory (0: no limit).", "maxmemory"),
        ("odoo_redis_connected_clients", "gauge", "Clients connected to Redis.", "connected_clients"),
        ("odoo_redis_evicted_keys_total", "counter", "Keys evicted by Redis.", "evicted_keys"),
        ("odoo_redis_keyspace_hits_total", "counter", "Redis keyspace hits.", "keyspace_hits"),
        ("odoo_redis_keyspace_misses_total", "counter", "Redis keyspace misses.", "keyspace_misses"),
    )
    families = [up]
    for name, kind, help_, key in specs:
        if key in info:
            families.append(metrics.Family(name, kind, help_, ()).add(float(info[key])))
    return families, True


def probe(url, timeout=SOCKET_TIMEOUT):
    """Redis's ``INFO`` fields, connecting and answering within ``timeout``; raises on failure.
    The one Redis ping: readiness (:mod:`..health`), :func:`ping` and :func:`collect` use it."""
    conn = client(url, timeout)
    try:
        return conn.info()
    finally:
        conn.close()


def ping(url, timeout=SOCKET_TIMEOUT):
    """Health check: ``(ok, observed_seconds, info_dict_or_error_text)``; never raises."""
    start = time.monotonic()
    try:
        info = probe(url, timeout)
        return True, time.monotonic() - start, info
    except Exception as exc:
        return False, time.monotonic() - start, type(exc).__name__
