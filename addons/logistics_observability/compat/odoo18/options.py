"""Odoo 18.0 configuration: ``db_name`` as 18.0 keeps it (the comma-separated string given)."""


def db_names(options):
    """18.0 keeps ``db_name`` (``-d``) as given: one string, names separated by commas."""
    return [name.strip() for name in str(options.get("db_name") or "").split(",") if name.strip()]
