{
    "name": "Logistics SLOs",
    "summary": "Per-tenant SLOs over logistics workflows: error budgets, burn rates "
    "and generated Prometheus alert rules",
    "version": "18.0.1.0.0",
    "category": "Technical",
    "website": "https://github.com/logistics-observability/odoo-logistics-observability",
    "author": "Logistics Observability Contributors",
    "license": "LGPL-3",
    "depends": ["logistics_observability"],
    "data": [
        "security/ir.model.access.csv",
    ],
    "installable": True,
}
