"""PostgreSQL access for scrape-time collectors, with hard deadlines.

libpq rounds ``connect_timeout`` up to whole seconds (and to 2 s minimum in
some versions), and a blocking psycopg2 call cannot be interrupted from
Python. Collectors therefore use psycopg2's asynchronous mode and poll the
socket themselves, so connecting and every statement end by a deadline the
collector chooses (well under a second). ``statement_timeout`` is also set
server-side so an abandoned query does not keep running.
"""

import contextlib
import select
import time

import psycopg2
import psycopg2.extensions

#: Default budgets (seconds).
CONNECT_TIMEOUT = 0.8
STATEMENT_TIMEOUT = 0.5


class Timeout(psycopg2.OperationalError):
    """The deadline passed before PostgreSQL answered."""


def conn_params(host=None, port=None, user=None, password=None, dbname="postgres", sslmode=None):
    """Keyword arguments for :func:`connect` from Odoo-style ``db_*`` options."""
    params = {"dbname": dbname}
    if host:
        params["host"] = host
    if port:
        params["port"] = int(port)
    if user:
        params["user"] = user
    if password:
        params["password"] = password
    if sslmode:
        params["sslmode"] = sslmode
    return params


def params_from_options(options):
    """:func:`conn_params` from a mapping of Odoo's ``db_*`` options (``odoo.tools.config``,
    :attr:`.config.Config.db`); the maintenance database."""
    return conn_params(
        host=options.get("db_host"),
        port=options.get("db_port"),
        user=options.get("db_user"),
        password=options.get("db_password"),
        sslmode=options.get("db_sslmode"),
    )


def _wait(conn, deadline):
    while True:
        state = conn.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Timeout("PostgreSQL did not answer in time")
        if state == psycopg2.extensions.POLL_READ:
            select.select([conn.fileno()], [], [], remaining)
        elif state == psycopg2.extensions.POLL_WRITE:
            select.select([], [conn.fileno()], [], remaining)
        else:  # pragma: no cover - psycopg2 raises on errors itself
            raise psycopg2.OperationalError("bad poll state %r" % state)


class Connection:
    """A read-only asynchronous connection whose calls all end by a deadline."""

    def __init__(
        self, params, connect_timeout=CONNECT_TIMEOUT, statement_timeout=STATEMENT_TIMEOUT, budget=None
    ):
        """``budget``: seconds for the whole session (connect and every query), if set."""
        self.statement_timeout = statement_timeout
        self.deadline = time.monotonic() + budget if budget else None
        ms = max(1, int(statement_timeout * 1000))
        kwargs = dict(params)
        # libpq's own timeout is a backstop only (whole seconds); the poll loop enforces ours.
        kwargs.setdefault("connect_timeout", max(1, int(connect_timeout + 0.999)))
        kwargs["options"] = (
            "-c statement_timeout=%d -c lock_timeout=%d " "-c default_transaction_read_only=on" % (ms, ms)
        )
        kwargs.setdefault("application_name", "odoo-observability-collector")
        self._conn = psycopg2.connect(async_=True, **kwargs)
        try:
            _wait(self._conn, self._deadline(connect_timeout))
        except BaseException:
            self.close()
            raise

    def query(self, sql, args=None, timeout=None):
        """Run one statement; returns all rows."""
        deadline = self._deadline(timeout or self.statement_timeout + 0.1)
        cur = self._conn.cursor()
        try:
            cur.execute(sql, args)
            try:
                _wait(self._conn, deadline)
            except Timeout:
                # the server-side statement_timeout ends the query; drop the connection
                self.close()
                raise
            return cur.fetchall() if cur.description else []
        finally:
            with contextlib.suppress(psycopg2.Error):
                cur.close()

    def _deadline(self, seconds):
        deadline = time.monotonic() + seconds
        return min(deadline, self.deadline) if self.deadline else deadline

    def close(self):
        with contextlib.suppress(Exception):  # closing a broken connection
            self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
