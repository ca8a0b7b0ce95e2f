import datetime

from odoo import http
from odoo.tests import HttpCase, new_test_user, tagged

CHECK_CARDS = """
const expected = %s;
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
        new_test_user(self.env, login="lo_ui_viewer", password="lo_ui_viewer",
                      groups="base.group_user,logistics_observability.group_observability_viewer")
        now = datetime.datetime.utcnow().replace(microsecond=0)
        # a backup older than the 24 h RPO (warn), a verified drill; a scheduled action 2 h late (fail)
        self.env["logistics.backup.run"].search([]).unlink()
        self.env["logistics.backup.run"]._ingest([
            {"kind": "full", "status": "success", "started_at": now - datetime.timedelta(hours=30),
             "ended_at": now - datetime.timedelta(hours=29), "size_bytes": 1, "location": "ui",
             "checksum_verified": True},
            {"kind": "restore_drill", "status": "success", "started_at": now - datetime.timedelta(days=1),
             "ended_at": now - datetime.timedelta(days=1), "location": "ui", "restore_verified": True},
        ])
        self.env["ir.cron"].search([]).write({"nextcall": now + datetime.timedelta(hours=1)})
        self.env.ref("base.autovacuum_job").nextcall = now - datetime.timedelta(hours=2)
        # demo data of mail-based addons can hold failed mails; the queue must be clean here
        if "mail.mail" in self.env:
            self.env["mail.mail"].sudo().search([("state", "=", "exception")]).write({"state": "cancel"})
        # compute the static-file map once, before the browser's parallel requests race on it
        self.assertIn("logistics_observability", http.root.statics)
        expected = ('{"backups": "warn", "crons": "fail", "redis": "pass", "queue": "pass", '
                    '"security": "pass"}')
        self.browser_js("/odoo/action-logistics_observability.action_platform_health",
                        CHECK_CARDS % expected, login="lo_ui_viewer", timeout=90)
