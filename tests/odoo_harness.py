"""Start real Odoo processes for end-to-end tests.

Finds the Odoo that ``scripts/bootstrap.sh`` recorded in ``.venv/odoo.env``
(or ``$ODOO_BIN``), creates databases with modules installed (cached as
PostgreSQL templates so each test copies them in well under a second), and runs
``odoo`` servers in prefork or threaded mode on free loopback ports.
"""

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
ADDONS = ROOT / "addons"
VENV = Path(os.environ.get("LO_VENV", ROOT / ".venv"))
PG = {
    "host": os.environ.get("PGHOST", "127.0.0.1"),
    "port": int(os.environ.get("PGPORT", "5432")),
    "user": os.environ.get("PGUSER", "root"),
}
#: Variables 19.0 reads as defaults of the ``db_*`` options, over the config file's values.
PG_ENV = (
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGPATH",
    "PGSSLMODE",
    "PGAPPNAME",
    "PGHOST_REPLICA",
    "PGPORT_REPLICA",
    "PGDATABASE_TEMPLATE",
)
DB_PREFIX = "lotest_"
#: The supported way to start Odoo with the addons (``odoo-bin observability_server``).
LAUNCHER = "observability_server"

#: Supported Odoo series: the virtualenv ``scripts/bootstrap.sh`` set each up in, and the variable
#: naming an ``odoo`` command to use instead.
SERIES = {
    "18.0": {"venv": VENV, "bin_env": "ODOO_BIN"},
    "19.0": {"venv": Path(os.environ.get("LO_VENV19", ROOT / ".venv-19")), "bin_env": "ODOO19_BIN"},
}
DEFAULT_SERIES = "18.0"
_current = [DEFAULT_SERIES]

#: Whether the running test may start Odoo. ``tests/conftest.py`` sets it before each test's set-up
#: from the test's folder: only tests under ``tests/odoo/`` may (the fast lane, ``tests/unit`` and
#: ``tests/services``, never starts Odoo). Outside pytest (benchmarks, scripts) it stays allowed.
_guard = {"allowed": True, "test": None}


def guard_odoo(allowed, test=None):
    """Allow or refuse (``allowed``) the helpers below that start Odoo, for ``test`` (a node id)."""
    _guard.update(allowed=bool(allowed), test=test)


def _require_odoo_tier(what):
    if not _guard["allowed"]:
        import pytest

        pytest.fail(
            "%s starts Odoo (%s) but is not under tests/odoo/: tests/unit and tests/services (the fast "
            "lane) never start Odoo; move the test, or the part of it that needs Odoo, to tests/odoo/"
            % (_guard["test"] or "this code", what)
        )


def use_series(series):
    """Make ``series`` the Odoo every helper below runs (the ``odoo_series`` fixture sets it)."""
    assert series in SERIES, series
    _current[0] = series


def current_series():
    return _current[0]


def series_major():
    return int(_current[0].split(".")[0])


def odoo_status(series=None):
    """(found: bool, detail: str) for ``series`` (default: the current one)."""
    spec = SERIES[series or _current[0]]
    if os.environ.get(spec["bin_env"]):
        return True, os.environ[spec["bin_env"]]
    env_file = spec["venv"] / "odoo.env"
    if not env_file.exists():
        return False, "scripts/bootstrap.sh has not set up Odoo %s (no %s)" % (
            series or _current[0],
            env_file,
        )
    values = {}
    for line in env_file.read_text().splitlines():
        key, _, val = line.partition("=")
        values[key] = val.strip("'")
    if values.get("ODOO_FOUND") != "1":
        return False, values.get("ODOO_DETAIL", "Odoo not found")
    return True, values.get("ODOO_DETAIL", "")


def odoo_venv():
    """The current series' virtualenv (its Python runs Odoo)."""
    _require_odoo_tier("odoo_venv: the Python that runs Odoo")
    return SERIES[_current[0]]["venv"]


def odoo_cmd():
    """The command that runs the current series' Odoo (``odoo-bin``)."""
    _require_odoo_tier("odoo_cmd: the odoo-bin command")
    spec = SERIES[_current[0]]
    if os.environ.get(spec["bin_env"]):
        return [os.environ[spec["bin_env"]]]
    return [str(spec["venv"] / "bin" / "odoo")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_connect(dbname="postgres"):
    conn = psycopg2.connect(dbname=dbname, connect_timeout=5, **PG)
    conn.autocommit = True
    return conn


def db_exists(name):
    with contextlib.closing(pg_connect()) as conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return bool(cr.fetchone())


def drop_db(name):
    with contextlib.closing(pg_connect()) as conn, conn.cursor() as cr:
        cr.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cr.execute('DROP DATABASE IF EXISTS "%s"' % name)


def addons_fingerprint():
    """Hash of the addons' sources: a template DB is rebuilt when they change."""
    digest = hashlib.sha1()
    for path in sorted(ADDONS.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(str(path.relative_to(ADDONS)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def addons_path():
    extra = os.environ.get("LO_EXTRA_ADDONS_PATH")  # e.g. queue_job installed from PyPI
    return ",".join([str(ADDONS)] + ([extra] if extra else []))


def our_addons():
    """Names of the addons this repository ships."""
    return sorted(p.name for p in ADDONS.iterdir() if (p / "__manifest__.py").exists())


def _connection_args():
    return [
        "--addons-path=" + addons_path(),
        "--db_host=" + PG["host"],
        "--db_port=%s" % PG["port"],
        "--db_user=" + PG["user"],
    ]


def run_odoo(args, timeout=900, log_path=None):
    """Run a one-shot odoo command; returns CompletedProcess (stdout+stderr merged)."""
    _require_odoo_tier("run_odoo")
    # a port of its own: --test-enable serves HTTP, and test runs may overlap on one machine
    cmd = [*odoo_cmd(), *_connection_args(), "--http-port=%d" % free_port(), *args]
    proc = subprocess.run(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, cwd=ROOT
    )
    if log_path:
        Path(log_path).write_text(proc.stdout)
    return proc


def template_db(modules, demo=True, with_addons=True):
    """Name of a template database with ``modules`` installed.

    Built once per version of the addons' sources (``with_addons=False`` for a
    template holding only Odoo's own modules, kept across changes of ours).
    """
    _require_odoo_tier("template_db: installs modules with odoo-bin")
    key = hashlib.sha1((",".join(sorted(modules)) + str(demo)).encode()).hexdigest()[:6]
    # the series is in the name: 18.0 and 19.0 templates of one module set never collide
    key = "%d_%s" % (series_major(), key)
    name = "%stpl%s_%s" % (DB_PREFIX, key, addons_fingerprint() if with_addons else "odoo")
    # held until this process ends: another run rebuilding the set for other sources of ours
    # leaves this template alone while it is used here
    _use_template(name)
    if db_exists(name):
        return name
    # Two test runs on one PostgreSQL build a template one after the other (a session-level
    # advisory lock, released if the builder dies): the second finds it built.
    with contextlib.closing(pg_connect()) as lock_conn, lock_conn.cursor() as lock:
        lock.execute("SELECT pg_advisory_lock(hashtext(%s))", ("%stpl_%s" % (DB_PREFIX, key),))
        if db_exists(name):
            return name
        return _build_template(name, key, modules, demo)


_USE_LOCK = "lotest_use_%s"
_template_users = {}  # the connection holding this process's shared locks, and the names held


def _use_template(name):
    if name in _template_users:
        return
    conn = _template_users.setdefault(None, pg_connect())
    with conn.cursor() as cr:
        cr.execute("SELECT pg_advisory_lock_shared(hashtext(%s))", (_USE_LOCK % name,))
    _template_users[name] = True


def drop_unused_templates(names):
    """Drop the templates among ``names`` that no test run uses (each holds a shared lock on its
    own); the others are left for a later run. The dropped ones are returned."""
    dropped = []
    with contextlib.closing(pg_connect()) as conn, conn.cursor() as cr:
        for name in names:
            cr.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (_USE_LOCK % name,))
            if cr.fetchone()[0]:
                try:
                    drop_db(name)
                    dropped.append(name)
                finally:
                    cr.execute("SELECT pg_advisory_unlock(hashtext(%s))", (_USE_LOCK % name,))
    return dropped


def _build_template(name, key, modules, demo):
    # drop stale templates for the same module set
    with contextlib.closing(pg_connect()) as conn, conn.cursor() as cr:
        cr.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", ("%stpl%s_%%" % (DB_PREFIX, key),)
        )
        drop_unused_templates(r[0] for r in cr.fetchall() if r[0] != name)
    building = name + "_b"
    drop_db(building)
    args = [
        "-d",
        building,
        "-i",
        ",".join(modules),
        "--stop-after-init",
        "--log-level=warn",
        "--max-cron-threads=0",
    ]
    args += demo_option(demo)
    proc = run_odoo(args)
    if proc.returncode != 0 or "Traceback" in proc.stdout:
        drop_db(building)
        raise RuntimeError("installing %s failed:\n%s" % (modules, proc.stdout[-5000:]))
    with contextlib.closing(pg_connect()) as conn, conn.cursor() as cr:
        cr.execute('ALTER DATABASE "%s" RENAME TO "%s"' % (building, name))
    return name


def demo_option(demo):
    """The option that makes a new database with or without demo data: 18.0 loads demo data
    unless ``--without-demo=all``; 19.0 loads none unless ``--with-demo``."""
    if series_major() < 19:
        return [] if demo else ["--without-demo=all"]
    return ["--with-demo"] if demo else ["--without-demo=1"]


def user_groups_field():
    """The field of a user's groups: ``groups_id`` (18.0), ``group_ids`` (19.0)."""
    return "groups_id" if series_major() < 19 else "group_ids"


def clone_db(template, name):
    drop_db(name)
    with contextlib.closing(pg_connect()) as conn, conn.cursor() as cr:
        cr.execute('CREATE DATABASE "%s" TEMPLATE "%s"' % (name, template))
    return name


class OdooServer:
    """A running ``odoo`` server process; use as a context manager.

    ``options`` become lines of the ``[options]`` section of its config file.
    """

    def __init__(
        self,
        options=None,
        workers=2,
        max_cron_threads=1,
        load="base,web,logistics_observability",
        env=None,
        dbfilter=None,
        command=LAUNCHER,
    ):
        self.tmp = Path(tempfile.mkdtemp(prefix="lo-odoo-"))
        self.http_port = free_port()
        self.gevent_port = free_port()
        self.log_file = self.tmp / "odoo.log"
        self.options = {
            "addons_path": addons_path(),
            "db_host": PG["host"],
            "db_port": PG["port"],
            "db_user": PG["user"],
            "http_interface": "127.0.0.1",
            "http_port": self.http_port,
            "gevent_port": self.gevent_port,
            "workers": workers,
            "max_cron_threads": max_cron_threads,
            "server_wide_modules": load,
            "data_dir": str(self.tmp / "data"),
            "logfile": str(self.log_file),
            "list_db": True,
            "log_level": "info",
        }
        if dbfilter:
            self.options["dbfilter"] = dbfilter
        self.options.update(options or {})
        # 19.0 lets PG* variables override the config file: the file alone says where PostgreSQL is
        inherited = {k: v for k, v in os.environ.items() if k not in PG_ENV}
        self.env = dict(inherited, **(env or {}))
        self.command = command
        self.proc = None

    @property
    def url(self):
        return "http://127.0.0.1:%s" % self.http_port

    def write_config(self):
        conf = self.tmp / "odoo.conf"
        lines = ["[options]"] + ["%s = %s" % (k, v) for k, v in self.options.items() if v is not None]
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self, wait_path="/health/live", timeout=90):
        _require_odoo_tier("OdooServer.start")
        conf = self.write_config()
        # started the documented way: the addon's launcher (JSON logs from the first line)
        launcher = ["--addons-path=" + addons_path(), self.command] if self.command else []
        self.proc = subprocess.Popen(
            [*odoo_cmd(), *launcher, "-c", str(conf)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / "stderr.log", "w"),
            start_new_session=True,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("odoo exited with %s:\n%s" % (self.proc.returncode, self.log_tail()))
            try:
                if requests.get(self.url + wait_path, timeout=2).status_code < 500:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError("odoo did not answer %s in %ss:\n%s" % (wait_path, timeout, self.log_tail()))

    def log_tail(self, n=60):
        text = ""
        for f in (self.log_file, self.tmp / "stderr.log"):
            if f.exists():
                text += "\n".join(f.read_text(errors="replace").splitlines()[-n:]) + "\n"
        return text

    def children(self):
        """PIDs of processes in the server's session other than the master."""
        out = subprocess.run(
            ["ps", "-o", "pid=,args=", "-s", str(self.proc.pid)], stdout=subprocess.PIPE, text=True
        ).stdout
        rows = []
        for line in out.splitlines():
            pid, _, args = line.strip().partition(" ")
            if int(pid) != self.proc.pid:
                rows.append((int(pid), args))
        return rows

    def stop(self):
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        # reap any straggler in the session (gevent process)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        if not self.options.get("observability_metrics_dir"):
            # the default metrics directory is in /dev/shm (memory): do not leave it behind
            base = "/dev/shm/odoo-observability-%d" % os.getuid()
            shutil.rmtree(os.path.join(base, str(self.http_port)), ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if not any(exc):
            self.cleanup()
        else:
            sys.stderr.write("odoo log kept in %s\n%s" % (self.tmp, self.log_tail()))


def shell_code(code):
    """``code`` for ``odoo shell`` with ``USER_GROUPS_FIELD`` bound to ``user_groups_field()``."""
    return "USER_GROUPS_FIELD = %r\n%s" % (user_groups_field(), code)


def run_shell(db, code, timeout=600):
    """Run Python ``code`` in ``odoo shell`` on ``db`` (``env`` and ``USER_GROUPS_FIELD`` are bound)."""
    _require_odoo_tier("run_shell: odoo shell")
    cmd = [
        *odoo_cmd(),
        "shell",
        "-d",
        db,
        *_connection_args(),
        "--no-http",
        "--max-cron-threads=0",
        "--log-level=warn",
    ]
    return subprocess.run(
        cmd,
        input=shell_code(code),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def installed_modules(db):
    with contextlib.closing(pg_connect(db)) as conn, conn.cursor() as cr:
        cr.execute("SELECT name FROM ir_module_module WHERE state = 'installed'")
        return {r[0] for r in cr.fetchall()}


def create_db(name, init_sql=None):
    """A fresh empty database (dropped first if it exists), optionally initialised with ``init_sql``."""
    drop_db(name)
    with contextlib.closing(pg_connect()) as conn, conn.cursor() as cr:
        cr.execute('CREATE DATABASE "%s"' % name)
    if init_sql:
        with contextlib.closing(pg_connect(name)) as conn, conn.cursor() as cr:
            cr.execute(init_sql)
    return name
