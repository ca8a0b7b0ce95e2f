import datetime
import json

from odoo import http
from odoo.tests import HttpCase, new_test_user, tagged

from ..core.ledger import TABLE as LEDGER

CHECK_CARDS = """
const expected = %s;
const others = %s;
const database = %s;
const deadline = Date.now() + 30000;
function check() {
    const cards = document.querySelectorAll(".o_lo_card");
    if (cards.length >= 6) {
        const got = {};
        cards.forEach((c) => { got[c.dataset.card] = c.dataset.state; });
        for (const [key, state] of Object.entries(expected)) {
            if (got[key] !== state) {
                console.error("card " + key + " is " + got[key] + ", expected " + state);
                return;
            }
        }
        const backups = document.querySelector('.o_lo_card[data-card="backups"]');
        if (!backups.querySelector(".o_lo_action") || !backups.querySelector(".o_lo_reason").textContent) {
            console.error("the backups card shows no reason or first action");
            return;
        }
        for (const key of ["changes", "synthetic", "security"]) {
            const card = document.querySelector(`.o_lo_card[data-card="${key}"]`);
            if (!card || !card.querySelector(".o_lo_reason").textContent.trim()) {
                console.error("the " + key + " card is missing or says nothing");
                return;
            }
        }
        const changes = document.querySelector('.o_lo_card[data-card="changes"]').innerText;
        if (!changes.includes("lo_ui_param")) {
            console.error("Recent changes does not name the change: " + changes);
            return;
        }
        const failed = [...document.querySelectorAll('.o_lo_card[data-card="security"] td')]
            .map((td) => td.innerText);
        if (!failed.some((t) => /^3$/.test(t.trim()))) {
            console.error("the Security card does not count the 3 failed logins: " + failed.join("|"));
            return;
        }
        const flow = document.querySelector('.o_lo_trends tr[data-workflow="lo_ui_flow"]');
        if (!flow) {
            console.error("no trend row for lo_ui_flow");
            return;
        }
        const runs = flow.querySelector('svg[data-series="runs"]');
        const rate = flow.querySelector('svg[data-series="failure_rate"]');
        const points = runs.dataset.points.split(",");
        if (points.length !== 24 || points[23] !== "8" || !runs.querySelector("path").getAttribute("d")) {
            console.error("runs sparkline wrong: " + runs.dataset.points);
            return;
        }
        if (rate.dataset.points.split(",")[23] !== "0.25" || !rate.querySelector("path").getAttribute("d")) {
            console.error("failure rate sparkline wrong: " + rate.dataset.points);
            return;
        }
        const due = document.querySelector('.o_lo_trends tr[data-queue="crons_due"] svg');
        const duePoints = due ? due.dataset.points.split(",") : [];
        if (duePoints.length !== 24 || !due.querySelector("path").getAttribute("d")) {
            console.error("queue depth sparkline missing");
            return;
        }
        // this tenant's data only: no other database's name anywhere on the page
        const text = document.body.innerText.split(database).join("");
        const leaked = others.filter((name) => text.includes(name));
        if (leaked.length) {
            console.error("another tenant's name is shown: " + leaked.join(", "));
            return;
        }
        console.log("test successful");
        return;
    }
    if (Date.now() > deadline) {
        console.error("Platform Health cards did not render: " + document.body.innerText.slice(0, 300));
        return;
    }
    setTimeout(check, 200);
}
check();
"""


@tagged("post_install", "-at_install")
class TestPlatformHealthUi(HttpCase):
    def test_viewer_opens_platform_health(self):
        new_test_user(
            self.env,
            login="lo_ui_viewer",
            password="lo_ui_viewer",
            groups="base.group_user,logistics_observability.group_observability_viewer",
        )
        now = datetime.datetime.utcnow().replace(microsecond=0)
        # a backup older than the 24 h RPO (warn), a verified drill; a scheduled action 2 h late (fail)
        self.env["logistics.backup.run"].search([]).unlink()
        self.env["logistics.backup.run"]._ingest(
            [
                {
                    "kind": "full",
                    "status": "success",
                    "started_at": now - datetime.timedelta(hours=30),
                    "ended_at": now - datetime.timedelta(hours=29),
                    "size_bytes": 1,
                    "location": "ui",
                    "checksum_verified": True,
                },
                {
                    "kind": "restore_drill",
                    "status": "success",
                    "started_at": now - datetime.timedelta(days=1),
                    "ended_at": now - datetime.timedelta(days=1),
                    "location": "ui",
                    "restore_verified": True,
                },
            ]
        )
        self.env["ir.cron"].search([]).write({"nextcall": now + datetime.timedelta(hours=1)})
        self.env.ref("base.autovacuum_job").nextcall = now - datetime.timedelta(hours=2)
        # demo data of mail-based addons can hold failed mails; the queue must be clean here
        if "mail.mail" in self.env:
            self.env["mail.mail"].sudo().search([("state", "=", "exception")]).write({"state": "cancel"})
        # compute the static-file map once, before the browser's parallel requests race on it
        if hasattr(http.root, "statics"):  # 18.0 (19.0 builds no such map)
            self.assertIn("logistics_observability", http.root.statics)
        # a change, three failed logins, and an hour of one workflow in the ledger (tenant A's own)
        self.env["ir.config_parameter"].sudo().set_param("lo_ui_param", "1")
        self.env.cr.execute("DELETE FROM logistics_auth_ledger")
        self.env.cr.execute(
            "INSERT INTO logistics_auth_ledger (minute, method, outcome, count) "
            "VALUES (date_trunc('minute', now() AT TIME ZONE 'UTC'), 'web_login', 'failure', 3)"
        )
        minute = now.replace(second=0)
        for outcome, count in (("success", 6), ("failure", 2)):
            self.env.cr.execute(
                f"INSERT INTO {LEDGER} (minute, workflow, outcome, count, duration_sum, "
                "sql_queries_sum, duration_buckets, start_delay_buckets) "
                "VALUES (%s, 'lo_ui_flow', %s, %s, 0, 0, %s, %s)",
                (minute, outcome, count, [count] + [0] * 20, [0] * 11),
            )
        # the other tenants of this PostgreSQL: none of their names may reach the page
        self.env.cr.execute(
            "SELECT datname FROM pg_database WHERE datname NOT IN "
            "(current_database(), 'postgres', 'template0', 'template1')"
        )
        # (names that cannot be ordinary words of the page, e.g. demo_bravo, lotest_x: a database
        # named "test" or "root" would match the page's own words)
        others = [row[0] for row in self.env.cr.fetchall() if len(row[0]) >= 6 and "_" in row[0]]
        expected = (
            '{"backups": "warn", "crons": "fail", "redis": "pass", "queue": "pass", ' '"security": "pass"}'
        )
        script = CHECK_CARDS % (expected, json.dumps(others), json.dumps(self.env.cr.dbname))
        self.browser_js(
            "/odoo/action-logistics_observability.action_platform_health",
            script,
            login="lo_ui_viewer",
            timeout=90,
        )
