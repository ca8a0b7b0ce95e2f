"""JSON logs from the first byte, whatever Odoo's configuration file holds.

Started the documented way (``odoo-bin --addons-path=... observability_server -c CONF``) with
``observability_log_format = json``, every line a server writes (master and gevent process, to
``logfile`` or to stderr) is one JSON object, the warnings Odoo logs while it parses its
configuration included:

- 19.0 warns when the file does not set ``http_interface`` (the common case);
- 19.0 warns about unknown keys and about ``False`` given to an option that is not a boolean;
- both series warn about deprecated aliases (``warnings``, logged as ``py.warnings``).

Without ``http_interface`` the servers listen on every interface (on free ports, for seconds).
A configuration Odoo refuses still gives Odoo's own error (the launcher adds nothing to it).

Two lines are not the launcher's to format and are left out: Odoo's notice when run as root
(written to stderr before the configuration is read, not logged) and the ``pkg_resources``
deprecation some setuptools versions print when the gevent process imports gevent, before Odoo.
"""

import json
import subprocess
import time

import odoo_harness
import pytest

pytestmark = [pytest.mark.odoo, pytest.mark.timeout(600)]

#: Odoo's ``check_root_user``: a ``sys.stderr.write`` before the configuration is parsed.
ROOT_NOTICE = "Running as user 'root' is a security risk."
#: Python's display of a third-party warning at ``import gevent`` (before Odoo is imported).
QUIET_GEVENT_IMPORT = {"PYTHONWARNINGS": "ignore:pkg_resources is deprecated as an API:UserWarning"}

#: 19.0's notice for a configuration without ``http_interface``.
MISSING_INTERFACE = "missing --http-interface/http_interface, using 0.0.0.0 by default"


def start(srv):
    """Start ``srv`` and wait until each of its processes logged its version banner."""
    srv.start()
    deadline = time.time() + 90  # the gevent process starts last, and slowly on a busy machine
    while time.time() < deadline and len(banners(srv)) < 2:
        time.sleep(0.5)
    return srv


def written(srv):
    """Every non-empty line the server wrote, from the first byte, per output file."""
    files = [srv.tmp / "stderr.log"] + ([srv.log_file] if srv.options.get("logfile") else [])
    return {
        f.name: [line for line in f.read_text().splitlines() if line.strip() and line != ROOT_NOTICE]
        for f in files
    }


def parsed(line):
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def banners(srv):
    return {
        r["pid"]
        for lines in written(srv).values()
        for r in map(parsed, lines)
        if r and r.get("msg", "").startswith("Odoo version ")
    }


def all_records(srv):
    """The records of every output file, after checking that each of its lines is JSON."""
    records = []
    for name, lines in written(srv).items():
        text = [line for line in lines if parsed(line) is None]
        assert not text, "%s: %d of %d lines are not JSON, the first: %r" % (
            name,
            len(text),
            len(lines),
            text[:3],
        )
        records += [parsed(line) for line in lines]
    return records


def warned(records, logger, text):
    """pids that logged ``text`` as a WARNING record of ``logger``."""
    return {
        r["pid"] for r in records if r["level"] == "WARNING" and r["logger"] == logger and text in r["msg"]
    }


@pytest.fixture
def server_factory(odoo_available):
    servers = []

    def _start(options):
        # one worker and the gevent process, no http_interface
        srv = odoo_harness.OdooServer(
            options={"observability_log_format": "json", "http_interface": None, **options},
            workers=1,
            max_cron_threads=0,
            env=QUIET_GEVENT_IMPORT,
        )
        servers.append(srv)
        return start(srv)

    yield _start
    for srv in servers:
        srv.stop()
        srv.cleanup()


def test_every_line_is_json_without_http_interface(server_factory):
    srv = server_factory({})
    records = all_records(srv)
    assert records and written(srv)["odoo.log"], written(srv)
    pids = banners(srv)
    assert srv.proc.pid in pids and len(pids) == 2, pids  # master and gevent process
    if odoo_harness.series_major() >= 19:
        # each process parses the configuration and warns (18.0 has no such notice)
        assert warned(records, "odoo.tools.config", MISSING_INTERFACE) == pids


def test_config_parse_warnings_are_json_records(server_factory):
    if odoo_harness.series_major() >= 19:
        options = {
            "lo_unknown_option": "1",  # unknown key
            "email_from": "False",  # "False" for an option that is not a boolean
            "import_image_maxbytes": "1000",  # deprecated alias of import_file_maxbytes
        }
        expected = [
            ("odoo.tools.config", MISSING_INTERFACE),
            ("odoo.tools.config", "unknown option 'lo_unknown_option' in the config file"),
            ("odoo.tools.config", "option email_from reads 'False' in the config file"),
            ("py.warnings", "'import_image_maxbytes' option found in the configuration file is a deprecated"),
        ]
    else:
        options = {"osv_memory_age_limit": "2.0"}  # deprecated alias of transient_age_limit
        expected = [
            ("py.warnings", "'osv_memory_age_limit' option found in the configuration file is a deprecated"),
        ]
    # no logfile: Odoo logs to stderr, captured from its first byte
    srv = server_factory(dict(options, logfile=None))
    records = all_records(srv)
    assert list(written(srv)) == ["stderr.log"]
    pids = banners(srv)
    assert srv.proc.pid in pids and len(pids) == 2, pids
    for logger, text in expected:
        assert srv.proc.pid in warned(records, logger, text), (logger, text)


#: Configurations Odoo refuses: a value its parser rejects (a traceback), two values of an option
#: and its deprecated alias (a usage error, logged after the log handlers exist).
REFUSED = {
    "bad_value": {18: {"http_port": "not-a-port"}, 19: {"http_port": "not-a-port"}},
    "alias_conflict": {
        18: {"osv_memory_age_limit": "2.0", "transient_age_limit": "3.0"},
        19: {"import_image_maxbytes": "1000", "import_file_maxbytes": "2000"},
    },
}


def error_text(line):
    """An error line without optparse's ``PROG: error: `` prefix."""
    return line.partition(": error: ")[2] or line


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_configuration_gives_odoos_own_error(odoo_available, tmp_path, case):
    options = REFUSED[case][odoo_harness.series_major()]
    conf = tmp_path / "odoo.conf"
    lines = ["[options]", "observability_log_format = json", "data_dir = %s" % (tmp_path / "data")]
    conf.write_text("\n".join(lines + ["%s = %s" % item for item in options.items()]) + "\n")
    results = {}
    for command in ("server", odoo_harness.LAUNCHER):
        proc = subprocess.run(
            [
                *odoo_harness.odoo_cmd(),
                "--addons-path=" + odoo_harness.addons_path(),
                command,
                "-c",
                str(conf),
            ],
            cwd=odoo_harness.ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        results[command] = proc.returncode, proc.stderr.strip().splitlines()
    (odoo_code, odoo_err), (code, err) = results["server"], results[odoo_harness.LAUNCHER]
    assert odoo_code != 0 and odoo_err, results
    # Odoo's own error, last (the program name of a usage error aside: Odoo's server command names itself)
    assert code == odoo_code and error_text(err[-1]) == error_text(odoo_err[-1]), results
    assert not [line for line in err if line.startswith("observability_server")], err
