"""``core.tables``: the one "does this table exist", against a real PostgreSQL."""

import odoo_harness
import psycopg2
import pytest

from logistics_observability.core import ledger, tables


def _db_available():
    try:
        odoo_harness.pg_connect().close()
        return True
    except psycopg2.Error:
        return False


pytestmark = pytest.mark.skipif(not _db_available(), reason="PostgreSQL not reachable")


def test_tables_exist_answers_per_name_in_one_statement():
    conn = odoo_harness.pg_connect()
    try:
        with conn.cursor() as cr:
            cr.execute("CREATE TEMP TABLE lo_tables_probe (id int)")
            assert tables.table_exists(cr, "lo_tables_probe") is True
            assert tables.table_exists(cr, "lo_no_such_table") is False
            assert tables.tables_exist(cr, "lo_tables_probe", "lo_no_such_table") == (True, False)
            assert tables.tables_exist(cr) == ()
            assert tables.table_exists(cr, ledger.TABLE) in (True, False)
    finally:
        conn.close()
