"""Readiness checks for ``/health/ready`` (``application/health+json``).

Checks run in parallel, each bounded well under a second; a check that does
not answer in time fails with ``timeout``. Answers never name tenants.
Other code adds checks with :func:`register_check` (``fn(cfg)`` returns
``(status, details)`` where status is ``pass``/``warn``/``fail``).
"""

import json
import logging
import threading
import time
import urllib.parse

_logger = logging.getLogger(__name__)

HEALTH_CONTENT_TYPE = "application/health+json"
CHECK_TIMEOUT = 0.8
_checks = {}


def register_check(name, fn):
    _checks[name] = fn


def unregister_check(name):
    _checks.pop(name, None)


def check_postgres(cfg):
    from .collectors import pg, pgconn  # psycopg2 only when the check runs

    params = pgconn.params_from_options(getattr(cfg, "db", None) or {})
    params["application_name"] = "odoo-health"
    pg.probe(params, pg.PING_TIMEOUT)
    return "pass", {}


def check_redis(cfg):
    url = getattr(cfg, "redis_url", None)
    if not url:
        return None  # not configured: no check
    from .collectors import redis_collector

    redis_collector.probe(url, redis_collector.SOCKET_TIMEOUT)
    return "pass", {}


register_check("postgres", check_postgres)
register_check("redis", check_redis)


def _safe_error(exc):
    # first line only, and never a connection string or password
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = text[:200]
    return urllib.parse.quote(text, safe=" :;,.()'\"-_/")


def run_checks(cfg, timeout=CHECK_TIMEOUT):
    """{"status": ..., "checks": {name: [{status, observedValue, ...}]}}"""
    results = {}
    threads = []
    for name, fn in sorted(_checks.items()):
        box = {}

        def target(fn, box):
            start = time.perf_counter()
            try:
                box["result"] = fn(cfg)
            except Exception as exc:  # a failing dependency is a "fail", never an error page
                box["error"] = exc
            box["ms"] = (time.perf_counter() - start) * 1000.0

        thread = threading.Thread(target=target, args=(fn, box), name="health-%s" % name, daemon=True)
        thread.start()
        threads.append((name, thread, box))
    deadline = time.perf_counter() + timeout
    for name, thread, box in threads:
        thread.join(max(0.0, deadline - time.perf_counter()))
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if thread.is_alive():
            entry = {"status": "fail", "output": "timeout after %.1fs" % timeout, "time": now}
        elif "error" in box:
            entry = {"status": "fail", "output": _safe_error(box["error"]), "time": now}
        elif box.get("result") is None:
            continue
        else:
            status, details = box["result"]
            entry = {
                "status": status,
                "observedValue": round(box["ms"], 1),
                "observedUnit": "ms",
                "time": now,
            }
            entry.update(details or {})
        results[name] = [entry]
    statuses = {entry[0]["status"] for entry in results.values()}
    overall = "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"
    return {"status": overall, "checks": results}


def ready_response(cfg):
    body = run_checks(cfg)
    status = 503 if body["status"] == "fail" else 200
    return (
        status,
        [("Content-Type", HEALTH_CONTENT_TYPE), ("Cache-Control", "no-store")],
        json.dumps(body).encode(),
    )


def live_response():
    return (
        200,
        [("Content-Type", HEALTH_CONTENT_TYPE), ("Cache-Control", "no-store")],
        json.dumps({"status": "pass"}).encode(),
    )
