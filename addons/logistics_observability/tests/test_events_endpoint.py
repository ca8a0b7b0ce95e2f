import json

from odoo.tests import HttpCase, new_test_user, tagged

URL = "/logistics_observability/events"


@tagged("post_install", "-at_install")
class TestEventsEndpoint(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.integration = new_test_user(
            cls.env,
            login="lo_driver_app",
            groups="base.group_user,logistics_observability.group_observability_integration",
        )
        cls.outsider = new_test_user(cls.env, login="lo_outsider", groups="base.group_user")
        cls.key = (
            cls.env["res.users.apikeys"].with_user(cls.integration).sudo()._generate(None, "driver app", None)
        )
        cls.outsider_key = (
            cls.env["res.users.apikeys"].with_user(cls.outsider).sudo()._generate(None, "outsider", None)
        )
        cls.Event = cls.env["logistics.workflow.event"].sudo()

    def post(self, body, key=None, raw=None, headers=None):
        data = raw if raw is not None else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json"}
        if key is not False:
            hdrs["Authorization"] = "Bearer %s" % (key or self.key)
        hdrs.update(headers or {})
        return self.url_open(URL, data=data, headers=hdrs)

    def event(self, **over):
        evt = {
            "workflow": "pod_sync",
            "outcome": "success",
            "reference": "WH/OUT/00042",
            "occurred_at": "2025-03-01T10:15:00.250Z",
            "duration_ms": 5400000,
        }
        evt.update(over)
        return evt

    def assert_rejected(self, response, status, field):
        self.assertEqual(response.status_code, status, response.text)
        if field is not None:
            self.assertEqual(response.json()["field"], field)
        self.assertEqual(self.Event.search_count([]), self.count_before)

    def setUp(self):
        super().setUp()
        self.count_before = self.Event.search_count([])

    def test_single_event_is_stored_once(self):
        response = self.post(self.event())
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json(), {"accepted": 1, "duplicates": 0})
        again = self.post(self.event(occurred_at="2025-03-01T11:15:00.250+01:00"))  # same instant
        self.assertEqual(again.json(), {"accepted": 0, "duplicates": 1})
        stored = self.Event.search([("reference", "=", "WH/OUT/00042")])
        self.assertEqual(len(stored), 1)
        self.assertEqual(stored.create_uid, self.integration)
        self.assertEqual(stored.duration_ms, 5400000)

    def test_list_is_all_or_nothing(self):
        batch = [self.event(reference="R1"), self.event(reference="R2", outcome="maybe")]
        self.assert_rejected(self.post(batch), 400, "[1].outcome")
        ok = self.post(
            [
                self.event(reference="R1"),
                self.event(reference="R2", workflow="dispatch"),
                self.event(reference="R1"),
            ]
        )
        self.assertEqual(ok.json(), {"accepted": 2, "duplicates": 1})

    def test_bad_inputs_are_rejected_and_write_nothing(self):
        cases = [
            (None, b"{not json", 400, "body"),
            ([], None, 400, "body"),
            ("a string", None, 400, "body"),
            (self.event(workflow="teleport"), None, 400, "workflow"),
            (self.event(outcome=1), None, 400, "outcome"),
            (self.event(duration_ms="5"), None, 400, "duration_ms"),
            (self.event(duration_ms=-1), None, 400, "duration_ms"),
            (self.event(duration_ms=True), None, 400, "duration_ms"),
            (self.event(reference=""), None, 400, "reference"),
            (self.event(occurred_at="yesterday"), None, 400, "occurred_at"),
            (self.event(occurred_at="2025-03-01T10:15:00"), None, 400, "occurred_at"),  # no offset
            ({k: v for k, v in self.event().items() if k != "occurred_at"}, None, 400, "occurred_at"),
        ]
        for body, raw, status, field in cases:
            with self.subTest(body=body, raw=raw):
                self.assert_rejected(self.post(body, raw=raw), status, field)

    def test_oversize_body_is_413(self):
        big = json.dumps([self.event(reference="X%06d" % i) for i in range(12000)]).encode()
        self.assertGreater(len(big), 1024 * 1024)
        self.assert_rejected(self.post(None, raw=big), 413, "body")

    def test_authentication_and_group(self):
        self.assert_rejected(self.post(self.event(), key=False), 401, None)
        self.assert_rejected(self.post(self.event(), key="not-a-key"), 401, None)
        self.assert_rejected(self.post(self.event(), key=self.outsider_key), 403, None)
