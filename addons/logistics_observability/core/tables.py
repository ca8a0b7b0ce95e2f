"""Does this table exist? The one way the suite asks (any DB-API cursor, one round trip).

Odoo-free and public (other addons import it, e.g. ``logistics_slo/core/ledger_sql.py``): a table
of an optional module (``queue_job``), of a table created by a later version of an addon, or of
an addon not installed in this database, is looked up with ``to_regclass`` (``search_path``
rules, no error and no lock when it is missing).
"""


def tables_exist(cr, *names):
    """``(exists, ...)``: one bool per table name, in one statement."""
    if not names:
        return ()
    cr.execute("SELECT " + ", ".join(["to_regclass(%s) IS NOT NULL"] * len(names)), names)
    return tuple(bool(found) for found in cr.fetchone())


def table_exists(cr, name):
    """True when ``name`` is a table (or view) this cursor's database has."""
    return tables_exist(cr, name)[0]
