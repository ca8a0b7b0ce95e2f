"""Odoo 19.0's graceful reload (SIGHUP): the master re-executes itself, old and new workers
overlap, and the metrics directory is kept: request counters go on from where they were, the
instance lock stays with the instance (no private directory, nothing wiped)."""

import os
import signal
import time

import odoo_harness
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.odoo, pytest.mark.slow, pytest.mark.timeout(600)]


def requests_total(srv):
    text = requests.get(srv.url + "/metrics", timeout=30).text
    return sum(
        s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        # per route: the duration histogram (the request counter has no route at the default level)
        if s.name == "odoo_http_request_duration_seconds_count" and s.labels.get("route") == "/health/live"
    )


def test_counters_survive_a_graceful_reload(odoo_available, tmp_path):
    if odoo_harness.series_major() < 19:
        pytest.skip("Odoo 18.0 has no graceful reload (SIGHUP restarts the server)")
    metrics_dir = tmp_path / "metrics"
    srv = odoo_harness.OdooServer(
        workers=2, max_cron_threads=0, options={"observability_metrics_dir": str(metrics_dir)}
    )
    with srv:
        for _ in range(7):
            assert requests.get(srv.url + "/health/live", timeout=30).status_code == 200
        before = requests_total(srv)
        assert before >= 7
        old_workers = {pid for pid, args in srv.children() if " gevent " not in args}
        os.kill(srv.proc.pid, signal.SIGHUP)
        deadline = time.time() + 120
        while time.time() < deadline:  # the new master's workers replace the old ones
            workers = {pid for pid, args in srv.children() if " gevent " not in args}
            if "New server has started" in srv.log_tail(200) and not (workers & old_workers):
                break
            time.sleep(0.5)
        else:
            pytest.fail("the reload did not finish:\n" + srv.log_tail())
        for _ in range(3):
            assert requests.get(srv.url + "/health/live", timeout=30).status_code == 200
        after = requests_total(srv)
        assert after >= before + 3, (before, after)
        log = srv.log_tail(400)
        assert "kept across the reload" in log, log
        assert "belongs to another live Odoo instance" not in log
