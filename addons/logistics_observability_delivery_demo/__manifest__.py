{
    "name": "Logistics Observability: Demo HTTP Carrier",
    "summary": "A demo carrier (delivery_type demo_http) calling a configurable HTTP endpoint, "
    "for the demo and the tests; not for production databases",
    "version": "1.0.0",
    "category": "Technical",
    "website": "https://github.com/logistics-observability/odoo-logistics-observability",
    "author": "Logistics Observability Contributors",
    "license": "LGPL-3",
    "depends": ["logistics_observability_delivery"],
    "data": [],
    "auto_install": False,
    "installable": True,
}
