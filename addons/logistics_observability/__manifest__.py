{
    "name": "Logistics Observability",
    "summary": "Tenant-tagged Prometheus metrics, health endpoints and JSON logs "
    "for multi-tenant Odoo logistics platforms",
    "version": "1.0.0",
    "category": "Technical",
    "website": "https://github.com/logistics-observability/odoo-logistics-observability",
    "author": "Logistics Observability Contributors",
    "license": "LGPL-3",
    "depends": ["base", "web"],
    "external_dependencies": {"python": ["prometheus_client", "redis", "requests"]},
    "data": [
        "security/security.xml",
        "security/ir.model.access.csv",
        "views/menus.xml",
        "data/backup_data.xml",
        "views/platform_health_views.xml",
        "views/queue_depth_views.xml",
        "views/backup_views.xml",
        "views/workflow_views.xml",
        "views/audit_views.xml",
        "views/synthetic_views.xml",
        "security/security_setup.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "logistics_observability/static/src/platform_health/*",
        ],
    },
    "post_load": "post_load",
    "installable": True,
    "application": True,
}
