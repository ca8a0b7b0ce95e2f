{
    "name": "Logistics Observability: Inventory",
    "summary": "Measures the dispatch and pod_sync workflows (outgoing pickings) per tenant",
    "version": "1.0.0",
    "category": "Technical",
    "website": "https://github.com/logistics-observability/odoo-logistics-observability",
    "author": "Logistics Observability Contributors",
    "license": "LGPL-3",
    "depends": ["logistics_observability", "stock"],
    "data": [],
    "auto_install": True,
    "installable": True,
}
