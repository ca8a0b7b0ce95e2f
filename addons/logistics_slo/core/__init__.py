"""Odoo-free SLO logic: SLI / error budget / burn-rate math and rule generation."""
