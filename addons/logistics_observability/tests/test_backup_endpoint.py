import datetime
import json

from odoo.tests import HttpCase, new_test_user, tagged

URL = "/logistics_observability/backups"


@tagged("post_install", "-at_install")
class TestBackupEndpoint(HttpCase):
    """POST /logistics_observability/backups: auth, validation, all-or-nothing, idempotence."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.integration = new_test_user(
            cls.env,
            login="lo_backup_bot",
            groups="base.group_user,logistics_observability.group_observability_integration",
        )
        cls.other = new_test_user(cls.env, login="lo_backup_nobody", groups="base.group_user")
        Keys = cls.env["res.users.apikeys"]
        cls.key = Keys.with_user(cls.integration).sudo()._generate(None, "backup job", None)
        cls.other_key = Keys.with_user(cls.other).sudo()._generate(None, "not allowed", None)
        cls.Run = cls.env["logistics.backup.run"]

    def post(self, body, key=None, raw=None):
        data = raw if raw is not None else json.dumps(body)
        headers = {"Content-Type": "application/json"}
        if key is not False:
            headers["Authorization"] = "Bearer %s" % (key or self.key)
        return self.url_open(URL, data=data, headers=headers)

    def report(self, **kw):
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        values = {
            "kind": "full",
            "status": "success",
            "started_at": (now - datetime.timedelta(minutes=10)).isoformat(),
            "ended_at": now.isoformat(),
            "size_bytes": 5_000_000_000,
            "location": "s3://backups/db/full.dump",
            "checksum_verified": True,
        }
        values.update(kw)
        return values

    def test_accepts_and_is_idempotent(self):
        report = self.report()
        res = self.post(report)
        self.assertEqual(res.status_code, 200, res.text)
        self.assertEqual(res.json()["created"], 1)
        run = self.Run.search([("location", "=", "s3://backups/db/full.dump")])
        self.assertEqual(len(run), 1)
        self.assertEqual(run.size_bytes, 5_000_000_000, "sizes above 2 GiB are kept exactly")
        self.assertEqual(run.duration_seconds, 600)
        self.assertTrue(run.checksum_verified)
        self.assertEqual(run.source, "api")
        # same natural key again: no duplicate
        res = self.post(report)
        self.assertEqual(res.json(), dict(res.json(), created=0, updated=1))
        self.assertEqual(self.Run.search_count([("location", "=", "s3://backups/db/full.dump")]), 1)

    def test_running_then_finished_updates_the_run(self):
        report = self.report(status="running", ended_at=None, location="s3://b/inc", kind="incremental")
        self.assertEqual(self.post(report).status_code, 200)
        report.update(status="failed", ended_at=report["started_at"], message="disk full")
        self.assertEqual(self.post(report).status_code, 200)
        run = self.Run.search([("location", "=", "s3://b/inc")])
        self.assertEqual((len(run), run.status, run.message), (1, "failed", "disk full"))
        self.assertEqual(run.warning, "Failed")

    def test_bad_inputs_name_the_field(self):
        cases = [
            ({"status": "success"}, "kind"),
            (self.report(kind="tape"), "kind"),
            (self.report(status="ok"), "status"),
            (self.report(started_at="yesterday"), "started_at"),
            (self.report(started_at="2999-01-01T00:00:00Z", ended_at=None, status="running"), "started_at"),
            (self.report(ended_at="2000-01-01T00:00:00Z"), "ended_at"),
            (self.report(size_bytes=-1), "size_bytes"),
            (self.report(size_bytes="12"), "size_bytes"),
            (self.report(checksum_verified="yes"), "checksum_verified"),
            (self.report(location="x" * 2000), "location"),
            (self.report(colour="red"), "colour"),
            ([self.report(location="a"), self.report(kind="nope", location="b")], "[1].kind"),
            ([], "body"),
            ("just a string", "body"),
        ]
        for body, field in cases:
            with self.subTest(field=field):
                res = self.post(body)
                self.assertEqual(res.status_code, 400, res.text)
                self.assertEqual(res.json()["field"], field)
                self.assertTrue(res.json()["error"])
        res = self.post(None, raw="{not json")
        self.assertEqual((res.status_code, res.json()["field"]), (400, "body"))
        # all or nothing: the valid first item of the rejected list was not written
        self.assertFalse(self.Run.search([("location", "in", ("a", "b"))]))

    def test_body_over_1_mib(self):
        res = self.post(None, raw=json.dumps(self.report(message="x" * (1024 * 1024 + 10))))
        self.assertEqual(res.status_code, 413)
        self.assertEqual(res.json()["field"], "body")

    def test_auth(self):
        self.assertEqual(self.post(self.report(), key=False).status_code, 401)
        self.assertEqual(self.post(self.report(), key="not-a-key").status_code, 401)
        res = self.post(self.report(), key=self.other_key)
        self.assertEqual(res.status_code, 403, "a user outside the integration group may not report")
        self.assertFalse(self.Run.search([("location", "=", "s3://backups/db/full.dump")]))
