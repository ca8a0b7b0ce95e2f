"""A demo tenant's own settings, run by ``scripts/demo.sh`` in ``odoo-bin shell`` (``env`` bound).

The tenant's URL (``DEMO_BASE_URL``; its host selects it through the dbfilter) becomes its
``web.base.url`` and its default synthetic checks (login page, /my/orders, /health/ready) are made
from it; an integration user gets a fresh API key, printed as ``APIKEY=...`` for the traffic
generator to post events with.
"""

# ruff: noqa: F821 (env is bound by odoo-bin shell)
import os

base = os.environ["DEMO_BASE_URL"]
if env["ir.config_parameter"].sudo().get_param("web.base.url") != base:
    env["ir.config_parameter"].sudo().set_param("web.base.url", base)
    Check = env["logistics.synthetic.check"].sudo().with_context(active_test=False)
    Check.search([("name", "in", ["portal_login", "portal_orders", "health_ready"])]).unlink()
    Check._create_defaults()
group = env.ref("logistics_observability.group_observability_integration")
user = env["res.users"].search([("login", "=", "demo-integration")], limit=1)
if not user:
    groups = "group_ids" if "group_ids" in env["res.users"]._fields else "groups_id"  # 19.0, 18.0
    user = env["res.users"].create(
        {
            "name": "Demo integration (driver app)",
            "login": "demo-integration",
            groups: [(6, 0, [env.ref("base.group_user").id, group.id])],
        }
    )
env["res.users.apikeys"].sudo().search([("user_id", "=", user.id), ("name", "=", "demo traffic")]).unlink()
key = env["res.users.apikeys"].with_user(user).sudo()._generate(None, "demo traffic", None)
env.cr.commit()
print("APIKEY=" + key)
