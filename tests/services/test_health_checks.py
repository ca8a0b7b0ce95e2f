"""Readiness checks against the real PostgreSQL and Redis."""

import json
import socket
import time

import pytest

from logistics_observability.core import config, health


def _reachable(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def cfg():
    if not _reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    return config.load({"db_host": "127.0.0.1", "db_port": 5432, "db_user": "root"}, environ={})


def test_ready_passes_with_postgres_and_redis(cfg):
    if not _reachable("127.0.0.1", 6379):
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    cfg.redis_url = "redis://127.0.0.1:6379/0"
    status, headers, body = health.ready_response(cfg)
    doc = json.loads(body)
    assert status == 200, doc
    assert dict(headers)["Content-Type"] == "application/health+json"
    assert doc["status"] == "pass"
    assert doc["checks"]["postgres"][0]["status"] == "pass"
    assert doc["checks"]["redis"][0]["status"] == "pass"


def test_redis_not_configured_is_not_checked(cfg):
    _status, _headers, body = health.ready_response(cfg)
    assert "redis" not in json.loads(body)["checks"]


def test_dead_dependencies_fail_fast_with_503(cfg):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    cfg.db = dict(cfg.db, db_port=dead_port)
    cfg.redis_url = "redis://:hunter2@10.255.255.1:6379/0"  # unroutable: only a timeout ends it
    start = time.perf_counter()
    status, _headers, body = health.ready_response(cfg)
    elapsed = time.perf_counter() - start
    doc = json.loads(body)
    assert status == 503
    assert doc["status"] == "fail"
    assert doc["checks"]["postgres"][0]["status"] == "fail"
    assert doc["checks"]["redis"][0]["status"] == "fail"
    assert elapsed < 1.0
    assert "hunter2" not in body.decode()


def test_custom_check_warns(cfg):
    health.register_check("disk", lambda _cfg: ("warn", {"output": "85% used"}))
    try:
        status, _headers, body = health.ready_response(cfg)
        doc = json.loads(body)
        assert status == 200 and doc["status"] == "warn"
        assert doc["checks"]["disk"][0]["output"] == "85% used"
    finally:
        health.unregister_check("disk")
