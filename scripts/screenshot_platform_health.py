"""Screenshot of the Platform Health dashboard (docs/platform-health.png).

Clones a demo database, records a few backups, a late scheduled action and
workflow runs, starts Odoo, logs in as an Observability Viewer and captures the
dashboard with headless Chromium (DevTools protocol).

Usage: .venv/bin/python scripts/screenshot_platform_health.py [-o docs/platform-health.png]
"""

import argparse
import base64
import contextlib
import datetime
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import websocket

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import odoo_harness  # noqa: E402

DB = "lotest_shot_platform"
LOGIN, PASSWORD = "manager", "manager-demo"


def rpc(http, url, model, method, *args, **kwargs):
    res = http.post(
        url + "/web/dataset/call_kw",
        timeout=60,
        json={
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        },
    ).json()
    if "error" in res:
        raise RuntimeError(json.dumps(res["error"])[:2000])
    return res["result"]


def login(url, db, user, password):
    http = requests.Session()
    res = http.post(
        url + "/web/session/authenticate",
        timeout=60,
        json={"jsonrpc": "2.0", "method": "call", "params": {"db": db, "login": user, "password": password}},
    )
    assert res.json().get("result", {}).get("uid"), res.text[:500]
    return http


def populate(url):
    admin = login(url, DB, "admin", "admin")
    now = datetime.datetime.utcnow().replace(microsecond=0)
    fmt = "%Y-%m-%d %H:%M:%S"
    runs = []
    for days in range(6, 0, -1):
        end = now - datetime.timedelta(days=days, hours=-2)
        start = end - datetime.timedelta(minutes=9)
        runs.append(
            {
                "kind": "full",
                "status": "success",
                "started_at": start.strftime(fmt),
                "ended_at": end.strftime(fmt),
                "size_bytes": 4_200_000_000 + days * 10_000_000,
                "location": "s3://backups/%s/full-%d.dump" % (DB, days),
                "checksum_verified": True,
                "source": "api",
            }
        )
    runs.append(
        {
            "kind": "restore_drill",
            "status": "success",
            "started_at": (now - datetime.timedelta(days=12)).strftime(fmt),
            "ended_at": (now - datetime.timedelta(days=12, minutes=-40)).strftime(fmt),
            "location": "drill-host-1",
            "restore_verified": True,
            "source": "cli",
        }
    )
    rpc(admin, url, "logistics.backup.run", "create", runs)
    group = rpc(
        admin,
        url,
        "ir.model.data",
        "search_read",
        [("module", "=", "logistics_observability"), ("name", "=", "group_observability_viewer")],
        ["res_id"],
    )[0]["res_id"]
    user_group = rpc(
        admin,
        url,
        "ir.model.data",
        "search_read",
        [("module", "=", "base"), ("name", "=", "group_user")],
        ["res_id"],
    )[0]["res_id"]
    rpc(
        admin,
        url,
        "res.users",
        "create",
        [
            {
                "name": "Logistics Manager",
                "login": LOGIN,
                "password": PASSWORD,
                "groups_id": [(6, 0, [user_group, group])],
            }
        ],
    )
    with contextlib.closing(odoo_harness.pg_connect(DB)) as conn, conn.cursor() as cr:
        cr.execute("UPDATE ir_cron SET nextcall = (now() AT TIME ZONE 'UTC') + interval '1 hour'")
        cr.execute("""UPDATE ir_cron SET nextcall = (now() AT TIME ZONE 'UTC') - interval '25 minutes'
                       WHERE id = (SELECT res_id FROM ir_model_data WHERE module = 'base'
                                   AND name = 'autovacuum_job')""")
        cr.execute("SELECT to_regclass('logistics_workflow_ledger') IS NOT NULL")
        if cr.fetchone()[0]:
            minute = now.replace(second=0) - datetime.timedelta(minutes=5)
            for workflow, ok, bad, bucket in (
                ("order_release", 412, 1, 3),
                ("dispatch", 388, 0, 4),
                ("pod_sync", 240, 3, 12),
                ("invoicing", 176, 0, 2),
                ("carrier_call", 903, 31, 5),
            ):
                for outcome, count in (("success", ok), ("failure", bad)):
                    if count:
                        buckets = [0] * 21
                        buckets[bucket] = count
                        cr.execute(
                            """INSERT INTO logistics_workflow_ledger (minute, workflow, outcome, count,
                                       duration_sum, sql_queries_sum, duration_buckets, start_delay_buckets)
                                      VALUES (%s, %s, %s, %s, %s, 0, %s, %s)""",
                            (minute, workflow, outcome, count, count * 0.8, buckets, [0] * 11),
                        )


def capture(url, cookie, out, width=1400, height=900):
    port = odoo_harness.free_port()
    profile = tempfile.mkdtemp(prefix="lo-chrome-")
    chrome = subprocess.Popen(
        [
            "chromium",
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--remote-debugging-port=%d" % port,
            "--user-data-dir=" + profile,
            "--window-size=%d,%d" % (width, height),
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(requests.RequestException):
                targets = requests.get("http://127.0.0.1:%d/json" % port, timeout=1).json()
                page = next(t for t in targets if t["type"] == "page")
                break
            time.sleep(0.1)
        ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        ids = iter(range(1, 10000))

        def send(method, **params):
            msg_id = next(ids)
            ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == msg_id:
                    return msg.get("result", {})

        send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        send("Network.enable")
        send("Network.setCookie", name="session_id", value=cookie, url=url)
        send("Page.navigate", url=url + "/odoo/action-logistics_observability.action_platform_health")
        for _ in range(150):
            time.sleep(0.2)
            found = send("Runtime.evaluate", expression="document.querySelectorAll('.o_lo_card').length")
            if found.get("result", {}).get("value", 0) >= 6:
                break
        time.sleep(1.0)
        data = send("Page.captureScreenshot", format="png")["data"]
        Path(out).write_bytes(base64.b64decode(data))
        ws.close()
    finally:
        chrome.terminate()
        chrome.wait(10)
        shutil.rmtree(profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(ROOT / "docs" / "platform-health.png"))
    args = parser.parse_args()
    template = odoo_harness.template_db(["base", "web", "logistics_observability"])
    odoo_harness.clone_db(template, DB)
    try:
        with odoo_harness.OdooServer(workers=0, max_cron_threads=0, dbfilter="^%s$" % DB) as server:
            populate(server.url)
            viewer = login(server.url, DB, LOGIN, PASSWORD)
            capture(server.url, viewer.cookies["session_id"], args.output)
    finally:
        odoo_harness.drop_db(DB)
    print("wrote", args.output)


if __name__ == "__main__":
    main()
