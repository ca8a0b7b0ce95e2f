"""A viewer of tenant A never sees tenant B's name or numbers, through the backend's own calls."""

import json

import odoo_harness
import pytest
import requests

pytestmark = [pytest.mark.odoo]
TAG = "lotest_plat_iso"
SECRET = "s3://tenant-b-only/secret.dump"


class Rpc:
    def __init__(self, url, db, login, password):
        self.url, self.db = url, db
        self.http = requests.Session()
        res = self.http.post(
            url + "/web/session/authenticate",
            timeout=30,
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "params": {"db": db, "login": login, "password": password},
            },
        )
        assert res.json().get("result", {}).get("uid"), res.text[:500]

    def call(self, model, method, *args, query="", **kwargs):
        res = self.http.post(
            self.url + "/web/dataset/call_kw" + query,
            timeout=30,
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "params": {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
            },
        )
        return res.json()


@pytest.fixture(scope="module")
def tenants(two_tenants):
    return two_tenants


def test_viewer_of_a_cannot_read_b(tenants):
    db_a, db_b = tenants
    with odoo_harness.OdooServer(workers=0, max_cron_threads=0, dbfilter="^%s_.*$" % TAG) as server:
        admin_b = Rpc(server.url, db_b, "admin", "admin")
        res = admin_b.call(
            "logistics.backup.run",
            "create",
            [
                {
                    "kind": "full",
                    "status": "success",
                    "started_at": "2025-01-01 00:00:00",
                    "ended_at": "2025-01-01 00:10:00",
                    "size_bytes": 777777777,
                    "location": SECRET,
                }
            ],
        )
        assert "result" in res, res
        admin_a = Rpc(server.url, db_a, "admin", "admin")
        group = admin_a.call(
            "ir.model.data",
            "search_read",
            [("module", "=", "logistics_observability"), ("name", "=", "group_observability_viewer")],
            ["res_id"],
        )["result"][0]["res_id"]
        user = admin_a.call(
            "ir.model.data", "search_read", [("module", "=", "base"), ("name", "=", "group_user")], ["res_id"]
        )["result"][0]["res_id"]
        res = admin_a.call(
            "res.users",
            "create",
            [
                {
                    "name": "Viewer A",
                    "login": "viewer_a",
                    "password": "viewer-a-pass",
                    odoo_harness.user_groups_field(): [(6, 0, [user, group])],
                }
            ],
        )
        assert "result" in res, res

        viewer = Rpc(server.url, db_a, "viewer_a", "viewer-a-pass")
        dashboard = viewer.call("logistics.platform.health", "get_dashboard")["result"]
        text = json.dumps(dashboard)
        assert dashboard["database"] == db_a
        assert db_b not in text, "tenant B's name leaked into tenant A's dashboard"
        assert SECRET not in text and "777777777" not in text
        runs = viewer.call("logistics.backup.run", "search_read", [], ["location", "size_bytes"])["result"]
        assert all(r["location"] != SECRET for r in runs)
        # PostgreSQL numbers: this database's own plus server totals, no per-database list
        pg_card = next(c for c in dashboard["cards"] if c["key"] == "postgres")
        own_or_server = ("Server", "Replicas", "WAL", "Database size")
        assert all(
            "this database" in label or label.startswith(own_or_server)
            for label, _value in pg_card["details"]
        ), pg_card["details"]

        # pointing the viewer's session at tenant B gives an error or tenant A's own data, never B's
        res = viewer.call("logistics.backup.run", "search_read", [], ["location"], query="?db=" + db_b)
        assert SECRET not in json.dumps(res)
        assert "error" in res or res["result"] == [{"id": r["id"], "location": r["location"]} for r in runs]
