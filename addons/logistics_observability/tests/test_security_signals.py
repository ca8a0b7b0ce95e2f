"""Security signals from real attempts over HTTP: web login, RPC password, API key (RPC and bearer),
privilege changes, the Security card; no secret ever reaches a log line."""

import json
import logging
import re
import xmlrpc.client
from unittest.mock import patch

from prometheus_client.parser import text_string_to_metric_families

from odoo import tools
from odoo.tests import HttpCase, new_test_user, tagged

from . import series

SECRET_PASSWORD = "Wr0ng-Passw0rd-Never-Logged"


@tagged("post_install", "-at_install")
class TestSecuritySignals(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.password = "Lo-Test-Passw0rd-42"
        cls.user = new_test_user(
            cls.env, login="lo_sec_user", password=cls.password, groups="base.group_user"
        )
        cls.integration = new_test_user(
            cls.env,
            login="lo_sec_driver",
            groups="base.group_user,logistics_observability.group_observability_integration",
        )
        cls.key = (
            cls.env["res.users.apikeys"].with_user(cls.integration).sudo()._generate(None, "driver app", None)
        )
        # the login cooldown would refuse attempts after a few failures from 127.0.0.1
        cls.env["ir.config_parameter"].sudo().set_param("base.login_cooldown_after", 0)

    def setUp(self):
        super().setUp()
        self.env.cr.postcommit.clear()  # the class set-up's audit callbacks are not this test's

    # -- helpers -------------------------------------------------------------
    def counter(self, name, **labels):
        text = self.url_open("/metrics").text
        return sum(
            s.value
            for fam in text_string_to_metric_families(text)
            for s in fam.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def auth(self, method, outcome):
        return self.counter(
            "odoo_auth_attempts_total", tenant=self.env.cr.dbname, method=method, outcome=outcome
        )

    def web_login(self, login, password, headers=None):
        self.url_open("/web/session/logout", allow_redirects=False)
        page = self.url_open("/web/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return self.url_open(
            "/web/login",
            data={"login": login, "password": password, "csrf_token": csrf, "db": self.env.cr.dbname},
            headers=headers,
            allow_redirects=False,
        )

    def rpc_authenticate(self, login, secret):
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {
                "service": "common",
                "method": "authenticate",
                "args": [self.env.cr.dbname, login, secret, {}],
            },
        }
        response = self.url_open(
            "/jsonrpc", data=json.dumps(body), headers={"Content-Type": "application/json"}
        )
        return response.json().get("result")

    def failed_logins(self):
        return self.env["logistics.audit.event"].sudo()._lo_failed_logins(24)

    def assert_no_secret(self, logs, *secrets):
        text = "\n".join(logs.output)
        for secret in secrets:
            self.assertNotIn(secret, text)

    # -- authentication attempts ----------------------------------------------
    def test_web_login_failure_and_success(self):
        failures, successes = self.auth("web_login", "failure"), self.auth("web_login", "success")
        ledger = self.failed_logins()
        with self.assertLogs(level="DEBUG") as logs:
            self.web_login("lo_sec_user", SECRET_PASSWORD)
            self.web_login("lo_sec_user", self.password)
        self.assertEqual(self.auth("web_login", "failure"), failures + 1)
        self.assertEqual(self.auth("web_login", "success"), successes + 1)
        self.assertEqual(self.failed_logins(), ledger + 1, "the failure is in the tenant's auth ledger")
        events = [r for r in logs.records if getattr(r, "event", None) == "auth_attempt"]
        self.assertEqual(
            [(r.levelno, r.outcome, r.__dict__["auth.method"]) for r in events],
            [(logging.WARNING, "failure", "web_login"), (logging.INFO, "success", "web_login")],
        )
        self.assertEqual(events[0].__dict__["user.login"], "lo_sec_user")
        self.assert_no_secret(logs, SECRET_PASSWORD, self.password)

    def test_rpc_password_and_api_key(self):
        before = {
            (m, o): self.auth(m, o) for m in ("rpc_password", "api_key") for o in ("success", "failure")
        }
        bogus_key = "0123456789abcdef" * 2 + "01234567"
        with self.assertLogs(level="DEBUG") as logs:
            self.assertFalse(self.rpc_authenticate("lo_sec_user", SECRET_PASSWORD))
            self.assertEqual(self.rpc_authenticate("lo_sec_user", self.password), self.user.id)
            self.assertEqual(self.rpc_authenticate("lo_sec_driver", self.key), self.integration.id)
            self.assertFalse(self.rpc_authenticate("lo_sec_driver", bogus_key))
        self.assertEqual(self.auth("rpc_password", "failure"), before["rpc_password", "failure"] + 1)
        self.assertEqual(self.auth("rpc_password", "success"), before["rpc_password", "success"] + 1)
        self.assertEqual(self.auth("api_key", "success"), before["api_key", "success"] + 1)
        self.assertEqual(self.auth("api_key", "failure"), before["api_key", "failure"] + 1)
        self.assert_no_secret(logs, SECRET_PASSWORD, self.password, self.key, bogus_key)

    def test_rpc_calls_with_a_wrong_password(self):
        """``execute_kw`` without ``authenticate``: each call's uid/password check is an attempt."""
        before = {
            (m, o): self.auth(m, o) for m in ("rpc_password", "api_key") for o in ("success", "failure")
        }
        db, uid = self.env.cr.dbname, self.user.id
        bogus_key = "fedcba9876543210" * 2 + "01234567"
        # the test case's own proxy: 19.0's test server refuses requests without its test cookie
        proxy = self.xmlrpc_object
        call = [db, uid, SECRET_PASSWORD, "res.partner", "search_count", [[]]]
        with self.assertLogs(level="DEBUG") as logs:
            with self.assertRaises(xmlrpc.client.Fault):
                proxy.execute_kw(*call)
            body = {
                "jsonrpc": "2.0",
                "method": "call",
                "id": 1,
                "params": {"service": "object", "method": "execute_kw", "args": call},
            }
            response = self.url_open(
                "/jsonrpc", data=json.dumps(body), headers={"Content-Type": "application/json"}
            )
            self.assertIn("error", response.json())
            with self.assertRaises(xmlrpc.client.Fault):
                proxy.execute_kw(db, self.integration.id, bogus_key, "res.partner", "search_count", [[]])
            # accepted calls are not attempts of their own
            for _ in range(2):
                count = proxy.execute_kw(db, uid, self.password, "res.partner", "search_count", [[]])
                self.assertIsInstance(count, int)
        self.assertEqual(self.auth("rpc_password", "failure"), before["rpc_password", "failure"] + 2)
        self.assertEqual(self.auth("api_key", "failure"), before["api_key", "failure"] + 1)
        self.assertEqual(self.auth("rpc_password", "success"), before["rpc_password", "success"])
        self.assertEqual(self.auth("api_key", "success"), before["api_key", "success"])
        # (the auth ledger rows are checked on a real server by tests/test_e2e_auth_rpc.py: here
        # one test transaction holds every cursor, and a refused call's request rolls it back)
        events = [r for r in logs.records if getattr(r, "event", None) == "auth_attempt"]
        self.assertEqual(
            [(r.levelno, r.__dict__["auth.method"], r.__dict__["user.login"]) for r in events],
            [
                (logging.WARNING, "rpc_password", "lo_sec_user"),
                (logging.WARNING, "rpc_password", "lo_sec_user"),
                (logging.WARNING, "api_key", "lo_sec_driver"),
            ],
        )
        self.assert_no_secret(logs, SECRET_PASSWORD, self.password, self.key, bogus_key)

    def test_bearer_key_on_ingest_and_metrics_refusals(self):
        failures = self.auth("api_key", "failure")
        refused = self.counter("odoo_endpoint_auth_failures_total", endpoint="events", status="401")
        metrics_refused = self.counter("odoo_endpoint_auth_failures_total", endpoint="metrics", status="403")
        bad = "f" * 40
        with self.assertLogs(level="DEBUG") as logs:
            response = self.url_open(
                "/logistics_observability/events",
                data=b"{}",
                headers={"Authorization": "Bearer " + bad, "Content-Type": "application/json"},
            )
        self.assertEqual(response.status_code, 401)
        self.assertEqual(self.auth("api_key", "failure"), failures + 1)
        self.assertEqual(
            self.counter("odoo_endpoint_auth_failures_total", endpoint="events", status="401"), refused + 1
        )
        self.assertEqual(
            self.url_open("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code, 403
        )
        self.assertEqual(
            self.counter("odoo_endpoint_auth_failures_total", endpoint="metrics", status="403"),
            metrics_refused + 1,
        )
        self.assert_no_secret(logs, bad)

    def test_client_ip_respects_proxy_mode(self):
        forwarded = {
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Host": "tenant.example.com",
            "X-Forwarded-Proto": "https",
        }

        def logged_ip():
            with self.assertLogs("odoo.addons.logistics_observability.core.security", level="INFO") as logs:
                self.web_login("lo_sec_user", SECRET_PASSWORD, headers=forwarded)
            return [
                r.__dict__["client.ip"] for r in logs.records if getattr(r, "event", "") == "auth_attempt"
            ]

        with patch.dict(tools.config.options, {"proxy_mode": False}):
            self.assertEqual(
                logged_ip(), ["127.0.0.1"], "a forwarded header is never trusted without proxy_mode"
            )
        with patch.dict(tools.config.options, {"proxy_mode": True}):
            self.assertEqual(logged_ip(), ["203.0.113.7"])

    # -- privilege changes ---------------------------------------------------
    def test_admin_group_changes_are_audited_and_counted(self):
        Audit = self.env["logistics.audit.event"].sudo()
        granted = self.counter(
            "odoo_privilege_changes_total", tenant=self.env.cr.dbname, change="admin_granted"
        )
        revoked = self.counter(
            "odoo_privilege_changes_total", tenant=self.env.cr.dbname, change="admin_revoked"
        )
        system = self.env.ref("base.group_system")
        with self.assertLogs("odoo.addons.logistics_observability.core.security", level="INFO") as logs:
            self.user.write({series.user_groups(self.env): [(4, system.id)]})
            rows = Audit.search([("target_id", "=", self.user.id), ("event", "=", "admin_granted")])
            self.assertIn("base.group_system", rows.mapped("group_xmlid"))
            self.assertEqual(rows.actor_id, self.env.user)
            self.env.cr.postcommit.run()  # counted and logged once committed
            self.user.write({series.user_groups(self.env): [(3, system.id)]})
            self.env.cr.postcommit.run()
        after_grant = self.counter(
            "odoo_privilege_changes_total", tenant=self.env.cr.dbname, change="admin_granted"
        )
        self.assertEqual(after_grant, granted + len(rows))
        self.assertTrue(
            Audit.search_count(
                [
                    ("target_id", "=", self.user.id),
                    ("event", "=", "admin_revoked"),
                    ("group_xmlid", "=", "base.group_system"),
                ]
            )
        )
        self.assertGreater(
            self.counter("odoo_privilege_changes_total", tenant=self.env.cr.dbname, change="admin_revoked"),
            revoked,
        )
        changes = [r.change for r in logs.records if getattr(r, "event", "") == "privilege_change"]
        self.assertIn("admin_granted", changes)
        self.assertIn("admin_revoked", changes)
        self.assert_no_secret(logs, self.password)

    def test_group_side_membership_change_is_audited(self):
        admin_group = self.env.ref("logistics_observability.group_observability_admin")
        admin_group.write({series.group_users(self.env): [(4, self.user.id)]})
        self.assertTrue(
            self.env["logistics.audit.event"]
            .sudo()
            .search_count(
                [
                    ("target_id", "=", self.user.id),
                    ("event", "=", "admin_granted"),
                    ("group_xmlid", "=", "logistics_observability.group_observability_admin"),
                ]
            )
        )

    def test_api_key_created_and_revoked_never_logs_the_key(self):
        Audit = self.env["logistics.audit.event"].sudo()
        created = self.counter(
            "odoo_privilege_changes_total", tenant=self.env.cr.dbname, change="api_key_created"
        )
        # Odoo's own SQL debug log shows the key's 8-character index; the suite's loggers show nothing
        with self.assertLogs("odoo.addons.logistics_observability", level="DEBUG") as logs:
            key = (
                self.env["res.users.apikeys"].with_user(self.user).sudo()._generate(None, "lo sync job", None)
            )
            self.env.cr.postcommit.run()
            record = (
                self.env["res.users.apikeys"]
                .sudo()
                .search([("user_id", "=", self.user.id), ("name", "=", "lo sync job")])
            )
            record.unlink()
            self.env.cr.postcommit.run()
        self.assertEqual(
            self.counter("odoo_privilege_changes_total", tenant=self.env.cr.dbname, change="api_key_created"),
            created + 1,
        )
        events = Audit.search([("target_id", "=", self.user.id)]).mapped("event")
        self.assertIn("api_key_created", events)
        self.assertIn("api_key_revoked", events)
        self.assert_no_secret(logs, key, key[:8])
        self.assertFalse(Audit.search_count([("detail", "ilike", key[:8])]), "the key is never stored")

    # -- Security card ---------------------------------------------------------
    def test_security_card(self):
        self.env["ir.config_parameter"].sudo().set_param("base.login_cooldown_after", 0)
        health = self.env["logistics.platform.health"].with_user(self.env.ref("base.user_admin"))
        base_failed = self.failed_logins()
        self.patch(type(self.env["logistics.platform.health"]), "_failed_logins_warn", base_failed + 2)
        card = {c["key"]: c for c in health.get_cards()}["security"]
        self.assertEqual(card["state"], "pass", card)
        for _i in range(2):
            self.web_login("lo_sec_user", SECRET_PASSWORD)
        self.user.write({series.user_groups(self.env): [(4, self.env.ref("base.group_system").id)]})
        card = {c["key"]: c for c in health.get_cards()}["security"]
        self.assertEqual(card["state"], "warn", card)
        details = dict(card["details"])
        self.assertEqual(details["Failed logins (24 h)"], str(base_failed + 2))
        self.assertGreaterEqual(int(details["New administrators (7 d)"]), 1)
        self.assertIn("failed logins in 24 h", card["reason"])
        self.assertTrue(card["action"])
