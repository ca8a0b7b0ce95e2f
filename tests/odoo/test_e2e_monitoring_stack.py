"""End to end: the shipped monitoring configs, running.

Debian's Prometheus, Alertmanager and the PostgreSQL, Redis and blackbox exporters are started
from ``deploy/prometheus/prometheus.yml``, the shipped rule files and
``deploy/alertmanager/alertmanager.yml``, rendered by ``deploy/render_native.py`` (addresses,
paths, a webhook receiver and a time scale of 30), next to a real prefork Odoo with a metrics
token. Every target is up, every rule group is evaluated without error, and two induced faults
(Redis stopped, a failed backup reported through the backups endpoint) each reach the test's
webhook as the right alert, with the tenant, probable dependency, blast radius and first action.
The renderer's refusals, without running anything: tests/unit/test_native_render.py.
"""

import datetime
import secrets

import native_stack
import odoo_harness
import pytest
import requests
import yaml

pytestmark = [pytest.mark.odoo, pytest.mark.slow]
TAG = "lotest_mon"
SCALE = 30
SHIPPED_RULES = odoo_harness.ROOT / "deploy" / "prometheus" / "rules"


def shipped_groups():
    return {
        g["name"]
        for path in SHIPPED_RULES.glob("*.rules.yml")
        for g in (yaml.safe_load(path.read_text()) or {}).get("groups") or []
    }


@pytest.fixture(scope="module")
def stack(two_tenants, tmp_path_factory):
    missing = native_stack.missing_binaries()
    if missing:
        pytest.skip("NOT INSTALLED (scripts/bootstrap.sh installs them): %s" % " ".join(missing))
    tmp = tmp_path_factory.mktemp("stack")
    a = two_tenants[0]
    key = native_stack.api_key(a)
    ports = {
        name: odoo_harness.free_port()
        for name in ("redis", "metrics", "prometheus", "alertmanager", "pg_exp", "redis_exp", "blackbox")
    }
    token = secrets.token_urlsafe(24)
    (tmp / "secrets").mkdir()
    (tmp / "secrets" / "odoo_metrics_token").write_text(token + "\n")
    daemons = []
    webhook = native_stack.Webhook()
    odoo = None
    try:
        redis = native_stack.redis_server(ports["redis"], tmp).wait_ready()
        daemons.append(redis)
        odoo = odoo_harness.OdooServer(
            workers=2,
            max_cron_threads=1,
            dbfilter="^%d$",
            options={
                "observability_metrics_port": ports["metrics"],
                "observability_metrics_token": token,
                "observability_redis_url": "redis://127.0.0.1:%s/0" % ports["redis"],
                "observability_log_format": "json",
            },
        ).start()
        local = "127.0.0.1:%s"
        proc = native_stack.render(
            tmp / "conf",
            "--drop-job",
            "traefik",
            "--secrets-dir",
            str(tmp / "secrets"),
            "--webhook",
            webhook.url,
            "--time-scale",
            str(SCALE),
            "--address",
            "odoo:9127=" + local % ports["metrics"],
            "--address",
            "odoo:8069=" + local % odoo.http_port,
            "--address",
            "postgres-exporter:9187=" + local % ports["pg_exp"],
            "--address",
            "redis-exporter:9121=" + local % ports["redis_exp"],
            "--address",
            "blackbox-exporter:9115=" + local % ports["blackbox"],
            "--address",
            "alertmanager:9093=" + local % ports["alertmanager"],
            "--address",
            "localhost:9090=" + local % ports["prometheus"],
        )
        assert proc.returncode == 0, proc.stderr
        conf = tmp / "conf"
        daemons.append(native_stack.postgres_exporter(ports["pg_exp"], tmp).wait_ready())
        daemons.append(native_stack.redis_exporter(ports["redis_exp"], ports["redis"], tmp).wait_ready())
        daemons.append(
            native_stack.blackbox_exporter(conf / "blackbox.yml", ports["blackbox"], tmp).wait_ready()
        )
        daemons.append(
            native_stack.alertmanager(
                conf / "alertmanager.yml", ports["alertmanager"], tmp / "am-data", tmp
            ).wait_ready()
        )
        daemons.append(
            native_stack.prometheus(
                conf / "prometheus.yml", ports["prometheus"], tmp / "prom-data", tmp
            ).wait_ready()
        )
        yield {
            "odoo": odoo,
            "redis": redis,
            "webhook": webhook,
            "tenant": a,
            "key": key,
            "tmp": tmp,
            "prom": native_stack.PromAPI("http://127.0.0.1:%s" % ports["prometheus"]),
            "metrics": local % ports["metrics"],
            "daemons": {d.name: d for d in daemons},
        }
    finally:
        for daemon in reversed(daemons):
            daemon.stop()
        webhook.close()
        if odoo:
            odoo.stop()
            odoo.cleanup()


def test_every_target_up_and_every_group_evaluated(stack):
    prom = stack["prom"]

    def targets():
        active = prom.get("/api/v1/targets", state="active")["activeTargets"]
        return active if active and all(t["health"] == "up" for t in active) else None

    active = native_stack.wait_for(targets, 60, "every target up")
    jobs = {t["labels"]["job"] for t in active}
    assert jobs == {"odoo", "postgres", "redis", "blackbox", "prometheus", "alertmanager"}
    odoo_target = next(t for t in active if t["labels"]["job"] == "odoo")
    assert odoo_target["labels"]["instance"] == stack["metrics"] and odoo_target["lastError"] == ""
    # the exporters really see their dependency, and the synthetic check passes
    for expr in ("pg_up", "redis_up", 'probe_success{job="blackbox"}', "odoo_redis_up", "odoo_pg_up"):
        assert native_stack.wait_for(
            lambda e=expr: [r for r in prom.query(e) if r["value"][1] == "1"], 30, expr
        )

    def evaluated():
        groups = prom.get("/api/v1/rules")["groups"]
        if {g["name"] for g in groups} != shipped_groups():
            return None
        rules = [r for g in groups for r in g["rules"]]
        return rules if all(r["health"] == "ok" for r in rules) else None

    rules = native_stack.wait_for(evaluated, 60, "every shipped rule evaluated")
    assert [r for r in rules if r.get("lastError")] == []
    assert len(rules) >= 40


def test_both_ports_answer_through_prometheus_client_with_gzip(stack):
    """The main port and the dedicated listener negotiate and compress alike."""
    odoo = stack["odoo"]
    token = (stack["tmp"] / "secrets" / "odoo_metrics_token").read_text().strip()
    cases = [
        (
            "text/plain;version=1.0.0;escaping=allow-utf-8,*/*;q=0.1",
            "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
        ),
        (
            "text/plain;version=0.0.4;q=0.3,application/openmetrics-text;version=1.0.0;q=0.9",
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
        ),
        (None, "text/plain; version=0.0.4; charset=utf-8"),
    ]
    for base in (odoo.url, "http://" + stack["metrics"]):
        for accept, ctype in cases:
            headers = {"Authorization": "Bearer " + token, "Accept-Encoding": "gzip"}
            if accept:
                headers["Accept"] = accept
            r = requests.get(base + "/metrics", headers=headers, timeout=30)
            assert r.status_code == 200, (base, r.text[:300])
            assert r.headers["Content-Type"] == ctype, base
            assert r.headers["Content-Encoding"] == "gzip"
            assert int(r.headers["Content-Length"]) < len(r.content)  # really compressed
            assert "odoo_build_info{" in r.text
            assert r.text.endswith("# EOF\n") == ctype.startswith("application/openmetrics-text")
        r = requests.get(
            base + "/metrics",
            headers={"Authorization": "Bearer " + token, "Accept-Encoding": "identity"},
            timeout=30,
        )
        assert "Content-Encoding" not in r.headers and "odoo_build_info{" in r.text


def _check_routed(alert, path, receiver):
    assert path == "/" + receiver, path
    for key in ("tenant", "probable_dependency", "blast_radius", "first_action", "summary"):
        assert alert["annotations"].get(key), (key, alert["annotations"])


def test_redis_stopped_pages_through_alertmanager(stack):
    stack["redis"].stop()
    webhook = stack["webhook"]
    got = native_stack.wait_for(
        lambda: webhook.alerts("OdooRedisUnreachable"), 90, "OdooRedisUnreachable at the webhook"
    )
    path, alert = got[0]
    assert alert["labels"]["severity"] == "ticket"
    _check_routed(alert, path, "ticket")
    assert alert["labels"]["instance"] == stack["metrics"]
    assert alert["annotations"]["tenant"] == "all tenants on %s" % stack["metrics"]
    assert "Redis" in alert["annotations"]["probable_dependency"]
    assert "Redis" in alert["annotations"]["first_action"]
    # the exporter's view agrees
    assert stack["prom"].query('redis_up{job="redis"} == 0')


def test_failed_backup_reaches_the_ticket_receiver(stack):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    tenant = stack["tenant"]
    report = {
        "kind": "full",
        "status": "failed",
        "started_at": (now - datetime.timedelta(minutes=5)).isoformat(),
        "ended_at": now.isoformat(),
        "location": "s3://backups/%s/full.dump" % tenant,
        "message": "disk full on the backup target",
    }
    r = requests.post(
        stack["odoo"].url + "/logistics_observability/backups",
        json=report,
        timeout=30,
        headers={
            "Authorization": "Bearer %s" % stack["key"],
            "Host": "%s.localhost:%s" % (tenant, stack["odoo"].http_port),
        },
    )
    assert r.status_code == 200, r.text
    webhook = stack["webhook"]
    got = native_stack.wait_for(
        lambda: webhook.alerts("OdooBackupFailed"), 90, "OdooBackupFailed at the webhook"
    )
    path, alert = got[0]
    _check_routed(alert, path, "ticket")
    assert alert["labels"]["tenant"] == tenant and alert["labels"]["kind"] == "full"
    assert alert["annotations"]["tenant"] == tenant
    assert "backup" in alert["annotations"]["probable_dependency"]
    # the other tenant, which reported nothing, has no such alert
    assert {a["labels"]["tenant"] for _, a in webhook.alerts("OdooBackupFailed")} == {tenant}
