{
    "name": "Logistics Observability: Sales",
    "summary": "Measures the order_release workflow (sale order confirmation) per tenant",
    "version": "1.0.0",
    "category": "Technical",
    "website": "https://github.com/logistics-observability/odoo-logistics-observability",
    "author": "Logistics Observability Contributors",
    "license": "LGPL-3",
    "depends": ["logistics_observability", "sale"],
    "data": [],
    "auto_install": True,
    "installable": True,
}
