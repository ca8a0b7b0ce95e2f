"""Every menu of the suite's apps, every view type of its action, opened in the web client.

The menus are read at test time (``ir.ui.menu`` under the root menus of the ``logistics_*``
modules, as the user sees them): a menu added later is walked without a new test. The walk
(``menu_walk.js``) fails on any error dialog or uncaught client error; it runs in a database
with traffic, so graphs and pivots have rows to group.
"""

import datetime
import json
import logging
from pathlib import Path

from odoo import http, release
from odoo.tests import HttpCase, new_test_user, tagged

from ..core import buckets
from ..core.ledger import TABLE as LEDGER

_logger = logging.getLogger(__name__)
WALK = (Path(__file__).parent / "menu_walk.js").read_text()
#: Root menus of the modules with this prefix are the apps walked.
APP_MODULES = "logistics_"
N_DURATION = len(buckets.WORKFLOW_DURATION) + 1
N_DELAY = len(buckets.START_DELAY) + 1


@tagged("post_install", "-at_install")
class TestMenuWalk(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.viewer = new_test_user(
            cls.env,
            login="lo_walk_viewer",
            password="lo_walk_viewer",
            groups="base.group_user,logistics_observability.group_observability_viewer",
        )
        cls._traffic()

    @classmethod
    def _traffic(cls):
        """Days of a busy tenant: workflow runs, backups, queue samples, changes, audit events."""
        env = cls.env
        now = datetime.datetime.utcnow().replace(second=0, microsecond=0)
        for hours_ago in (0, 1, 2, 5, 9, 17, 30, 50, 75):
            minute = now - datetime.timedelta(hours=hours_ago, minutes=3)
            for workflow, outcome, count in (
                ("order_release", "success", 40 + hours_ago),
                ("order_release", "failure", 2),
                ("dispatch", "success", 25),
                ("pod_sync", "failure", 1 + hours_ago % 3),
            ):
                env.cr.execute(
                    f"INSERT INTO {LEDGER} (minute, workflow, outcome, count, duration_sum, "
                    "sql_queries_sum, duration_buckets, start_delay_buckets) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (minute, workflow, outcome) "
                    "DO UPDATE SET count = EXCLUDED.count",
                    (
                        minute,
                        workflow,
                        outcome,
                        count,
                        count * 0.4,
                        count * 12,
                        [count] + [0] * (N_DURATION - 1),
                        [0] * N_DELAY,
                    ),
                )
        runs = []
        for days_ago in range(6):
            started = now - datetime.timedelta(days=days_ago, hours=2)
            runs.append(
                {
                    "kind": "full" if days_ago % 3 == 0 else "incremental",
                    "status": "failed" if days_ago == 4 else "success",
                    "started_at": started,
                    "ended_at": started + datetime.timedelta(minutes=20 + days_ago),
                    "size_bytes": 2e9 + days_ago * 1e8,
                    "location": "s3://walk/%d" % days_ago,
                    "checksum_verified": days_ago != 4,
                }
            )
        runs.append(
            {
                "kind": "restore_drill",
                "status": "success",
                "started_at": now - datetime.timedelta(days=3),
                "ended_at": now - datetime.timedelta(days=3, minutes=-40),
                "location": "s3://walk/drill",
                "restore_verified": True,
            }
        )
        env["logistics.backup.run"]._ingest(runs)
        # a scheduled action 2 h late: a queue depth row; a day of queue depth samples
        env.ref("base.autovacuum_job").nextcall = now - datetime.timedelta(hours=2)
        Sample = env["logistics.queue.depth.sample"].sudo()
        for hours_ago in range(0, 24, 3):
            Sample.create(
                {
                    "sampled_at": now - datetime.timedelta(hours=hours_ago),
                    "jobs_waiting": hours_ago % 5,
                    "mails_outgoing": hours_ago % 4,
                    "crons_due": 1,
                }
            )
        Sample._sample()
        # a change (Recent Changes), an administrator granted (Security Audit)
        env["ir.config_parameter"].sudo().set_param("lo_walk_param", "1")
        new_test_user(env, login="lo_walk_admin", groups="base.group_user,base.group_system")
        env["logistics.synthetic.check"].sudo().create(
            {"name": "walk_portal", "url": "https://portal.example.com/health", "mode": "outside_in"}
        )

    def _plan(self, user):
        """The menus ``user`` sees under the apps' roots: (plan for the browser, URLs to fetch)."""
        Menu = self.env["ir.ui.menu"].with_user(user)
        roots = Menu.search([("parent_id", "=", False)])
        xmlids = roots._get_menuitems_xmlids()
        roots = roots.filtered(lambda m: xmlids.get(m.id, "").startswith(APP_MODULES))
        self.assertTrue(roots, "no app menu of the suite is visible to %s" % user.login)
        visible = Menu.search([("id", "child_of", roots.ids)])._filter_visible_menus()
        # the client shows a menu whose parents it shows (a hidden folder hides its items)
        shown = set(visible.ids)
        menus = visible.filtered(lambda m: all(int(i) in shown for i in m.parent_path.strip("/").split("/")))
        plan, urls = [], []
        for item in menus.sorted(lambda m: m.complete_name):
            action = item.action
            if not action:
                continue
            if action._name == "ir.actions.act_window":
                # read as the client loads it (/web/action/load reads actions as superuser)
                views = [mode for _id, mode in action.sudo().views]
            elif action._name == "ir.actions.server":
                # what the client gets when it runs it (an act_window, e.g. Queue Depth)
                result = action.with_user(user).run() or {}
                self.assertEqual(
                    result.get("type"), "ir.actions.act_window", "%s: %s" % (item.complete_name, result)
                )
                views = [mode for _id, mode in result["views"]]
            elif action._name == "ir.actions.client":
                views = []
            elif action._name == "ir.actions.act_url":
                urls.append((item.complete_name, action.sudo().url))  # leaves the web client
                continue
            else:
                self.fail("%s: the walk does not know how to open a %s" % (item.complete_name, action._name))
            plan.append({"menu": item.complete_name, "menuId": item.id, "views": views})
        return plan, urls

    def _walk(self, login, password):
        user = self.env["res.users"].search([("login", "=", login)])
        plan, urls = self._plan(user)
        self.authenticate(login, password)
        for name, url in urls:
            response = self.url_open(url)
            self.assertEqual(
                response.status_code, 200, "%s: %s answers %s" % (name, url, response.status_code)
            )
        errors = []

        def keep(message):  # every failing view is named, the walk goes on
            errors.append(message)
            return False

        # compute the static-file map once, before the browser's parallel requests race on it
        if hasattr(http.root, "statics"):  # 18.0 (19.0 builds no such map)
            self.assertIn("logistics_observability", http.root.statics)
        try:
            self.browser_js(
                "/odoo/action-logistics_observability.action_platform_health",
                "const plan = %s;\n%s" % (json.dumps(plan), WALK),
                ready="!!(odoo.__WOWL_DEBUG__ && odoo.__WOWL_DEBUG__.root)",
                login=login,
                timeout=300,
                error_checker=keep,
            )
        except AssertionError:
            if not errors:  # a failure of its own (a timeout, ...): Odoo's message says it
                raise
        if errors:
            self.fail("%s: %d error(s) walking the menus:\n%s" % (login, len(errors), "\n".join(errors)))
        _logger.info(
            "%s: %d views of %d menus opened, %d downloads fetched",
            login,
            sum(max(len(p["views"]), 1) for p in plan) + len(urls),
            len(plan) + len(urls),
            len(urls),
        )

    def test_admin_opens_every_view(self):
        # as on a database created with it: the administrator is an Observability Administrator
        admin = self.env.ref("base.user_admin")
        self.assertTrue(admin.has_group("logistics_observability.group_observability_admin"))
        self._walk("admin", "admin")

    def test_viewer_opens_every_view(self):
        self._walk("lo_walk_viewer", "lo_walk_viewer")

    def test_runs_over_time_by_hour_where_the_series_groups_by_hours(self):
        arch = self.env["logistics.workflow.ledger"].get_views([(False, "graph")])["views"]["graph"]["arch"]
        expected = "day" if release.version_info[0] < 19 else "hour"  # 18.0's client refuses minute:hour
        self.assertIn('<field name="minute" interval="%s"/>' % expected, arch)
