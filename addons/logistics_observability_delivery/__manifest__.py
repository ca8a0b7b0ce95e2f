{
    "name": "Logistics Observability: Carriers",
    "summary": "Measures carrier_call (rate, send, tracking, cancel and their HTTP) per tenant",
    "version": "1.0.0",
    "category": "Technical",
    "website": "https://github.com/logistics-observability/odoo-logistics-observability",
    "author": "Logistics Observability Contributors",
    "license": "LGPL-3",
    "depends": ["logistics_observability", "stock_delivery"],
    "data": [],
    "auto_install": True,
    "installable": True,
}
