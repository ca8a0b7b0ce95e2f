{
    "name": "Logistics Observability: Invoicing",
    "summary": "Measures the invoicing workflow (customer invoices and refunds) per tenant",
    "version": "1.0.0",
    "category": "Technical",
    "website": "https://github.com/logistics-observability/odoo-logistics-observability",
    "author": "Logistics Observability Contributors",
    "license": "LGPL-3",
    "depends": ["logistics_observability", "account"],
    "data": [],
    "auto_install": True,
    "installable": True,
}
