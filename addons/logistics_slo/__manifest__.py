{
    "name": "Logistics SLOs",
    "summary": "Per-tenant SLOs over logistics workflows: error budgets, burn rates "
    "and generated Prometheus alert rules",
    "version": "1.0.0",
    "category": "Technical",
    "website": "https://github.com/logistics-observability/odoo-logistics-observability",
    "author": "Logistics Observability Contributors",
    "license": "LGPL-3",
    "depends": ["logistics_observability"],
    # its collectors are served by the main addon's metrics listener in the master process
    "observability_collectors": True,
    "external_dependencies": {"python": ["PyYAML"]},
    "data": [
        "security/ir.model.access.csv",
        "views/slo_views.xml",
        "data/slo_data.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "logistics_slo/static/src/slo_charts/*",
        ],
        "web.assets_tests": [
            "logistics_slo/static/tests/tours/*",
        ],
    },
    "uninstall_hook": "uninstall_hook",
    "installable": True,
}
