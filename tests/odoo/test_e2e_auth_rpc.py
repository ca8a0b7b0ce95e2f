"""End to end: RPC calls refused by their per-call password check, on a real prefork Odoo.

A client may call ``object.execute_kw`` with a uid and a password without ever calling
``authenticate`` (a brute force does): each refused call, over XML-RPC or JSON-RPC, is one failed
attempt in ``odoo_auth_attempts_total``, in the tenant's auth ledger (the Security card's failed
logins) and in the log, which never holds the password. Accepted calls are not counted one by one.
"""

import json
import xmlrpc.client

import odoo_harness
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.odoo, pytest.mark.slow]
WRONG = "Wr0ng-Rpc-Passw0rd-Never-Logged"
BOGUS_KEY = "0a1b2c3d4e5f6a7b" * 2 + "8c9d0e1f"


def attempts(url, db):
    text = requests.get(url + "/metrics", timeout=10).text
    return {
        (s.labels["method"], s.labels["outcome"]): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == "odoo_auth_attempts_total" and s.labels.get("tenant") == db
    }


def ledger_failures(db):
    conn = odoo_harness.pg_connect(db)
    try:
        with conn.cursor() as cr:
            cr.execute(
                "SELECT method, sum(count) FROM logistics_auth_ledger"
                " WHERE outcome = 'failure' GROUP BY method"
            )
            return dict(cr.fetchall())
    finally:
        conn.close()


def test_refused_rpc_calls_are_failed_attempts(base_template, make_db):
    db = make_db(base_template, "lotest_auth_rpc")
    with odoo_harness.OdooServer(
        workers=2, max_cron_threads=0, dbfilter="^%s$" % db, options={"db_name": db}
    ) as odoo:
        before, ledger_before = attempts(odoo.url, db), ledger_failures(db)
        proxy = xmlrpc.client.ServerProxy(odoo.url + "/xmlrpc/2/object")
        for secret in (WRONG, BOGUS_KEY):
            with pytest.raises(xmlrpc.client.Fault):
                proxy.execute_kw(db, 2, secret, "res.partner", "search_count", [[]])
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {
                "service": "object",
                "method": "execute_kw",
                "args": [db, 2, WRONG, "res.partner", "search_count", [[]]],
            },
        }
        r = requests.post(odoo.url + "/jsonrpc", json=body, timeout=30)
        assert r.json()["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"
        for _ in range(3):  # accepted calls
            assert isinstance(proxy.execute_kw(db, 2, "admin", "res.partner", "search_count", [[]]), int)

        after = attempts(odoo.url, db)

        def delta(key):
            return after.get(key, 0) - before.get(key, 0)

        assert delta(("rpc_password", "failure")) == 2
        assert delta(("api_key", "failure")) == 1
        assert delta(("rpc_password", "success")) == 0
        ledger = ledger_failures(db)
        assert ledger.get("rpc_password", 0) - ledger_before.get("rpc_password", 0) == 2
        assert ledger.get("api_key", 0) - ledger_before.get("api_key", 0) == 1
        log = odoo.log_file.read_text()
        assert log.count("auth rpc_password failure login=admin") == 2, log[-3000:]
        assert WRONG not in log and BOGUS_KEY not in log
        assert json.dumps(WRONG) not in log


@pytest.mark.parametrize("command", [odoo_harness.LAUNCHER, None], ids=["launcher", "odoo_server"])
def test_rpc_without_a_database_on_the_documented_server_wide_modules(base_template, make_db, command):
    """``server_wide_modules = base,web,logistics_observability`` (the documented line) keeps
    ``/xmlrpc`` and ``/jsonrpc`` answering a request whose host selects no database (19.0 serves
    them from its ``rpc`` server-wide module, 18.0 from ``base``), started with the launcher or
    with Odoo's own ``server`` command."""
    db = make_db(base_template)
    # the host (127.0.0.1) selects no database through dbfilter: the request has none
    with odoo_harness.OdooServer(workers=2, max_cron_threads=0, dbfilter="^%d$", command=command) as odoo:
        common = xmlrpc.client.ServerProxy(odoo.url + "/xmlrpc/2/common")
        assert common.version()["server_version"].startswith(odoo_harness.current_series()[:2])
        uid = common.login(db, "admin", "admin")
        assert uid == 2
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {
                "service": "object",
                "method": "execute_kw",
                "args": [db, uid, "admin", "res.partner", "search_count", [[]]],
            },
        }
        r = requests.post(odoo.url + "/jsonrpc", json=body, timeout=30)
        assert r.status_code == 200, r.text[:500]
        assert isinstance(r.json()["result"], int), r.text[:500]
