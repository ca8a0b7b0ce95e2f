"""Logging (Odoo 18.0 and 19.0): switch every handler ``odoo.netsvc.init_logger`` set up to JSON.

Odoo configures one handler on the root logger (stderr, ``logfile`` or
syslog) with its ``DBFormatter``/``ColoredFormatter``; ``log_db`` adds a
PostgreSQL handler that writes ``ir_logging`` rows (left alone: it is not a
text stream). Lines Odoo writes before the server-wide modules load (its first
few start-up lines, its configuration's warnings) keep the text format, unless Odoo is started
with ``odoo-bin observability_server`` (see :func:`early`).
"""

import logging
import sys

from ..core import config as obs_config
from ..core import logfmt

_logger = logging.getLogger(__name__)


def _settings():
    import odoo
    from odoo import release

    cfg = obs_config.current()
    if cfg.version is None or not cfg.version:
        # the server hook normally parsed the options already; do it here otherwise
        cfg = obs_config.load(odoo.tools.config.options, odoo_version=release.version)
    return cfg


def _text_handlers():
    from odoo.netsvc import PostgreSQLHandler

    loggers = [logging.getLogger()] + [
        lg for lg in list(logging.Logger.manager.loggerDict.values()) if isinstance(lg, logging.Logger)
    ]
    seen = {}
    for lg in loggers:
        for handler in lg.handlers:
            if not isinstance(handler, PostgreSQLHandler):
                seen[id(handler)] = handler
    return list(seen.values())


def install():
    cfg = _settings()
    if cfg.log_format != "json":
        return
    import werkzeug.serving

    # ANSI colour codes would end up inside the JSON strings
    werkzeug.serving._log_add_style = False
    static = {k: v for k, v in cfg.taxonomy().items() if v}
    formatter = logfmt.JsonFormatter(static)
    handlers = _text_handlers()
    for handler in handlers:
        handler.setFormatter(formatter)
    _logger.info("logistics_observability: JSON log format enabled on %d handler(s)", len(handlers))


def early(then):
    """Odoo's next configuration parse (its ``server`` command's, run next by ``odoo-bin
    observability_server``) logs in the configured format from its first line: the handlers
    ``init_logger`` creates are switched to JSON at once, before the parse logs its own warnings
    (19.0's missing ``http_interface``, unknown keys or skipped values, either series' deprecated
    aliases), and ``then()`` runs once the configuration is parsed. Both hooks are one-shot: Odoo
    parses its configuration once, as ``odoo-bin server`` does, and a configuration it refuses
    gives its own error."""
    from odoo import netsvc
    from odoo.tools import config

    odoo_init_logger = netsvc.init_logger
    odoo_parse_config = config.parse_config
    switched = []

    def switch():
        switched.append(True)
        try:
            install()
        except Exception:  # fail open: Odoo goes on, its lines in its own format
            sys.stderr.write("observability_server: could not switch Odoo's logging early; Odoo goes on\n")

    def init_logger():
        netsvc.init_logger = odoo_init_logger
        odoo_init_logger()
        switch()

    def parse_config(*args, **kwargs):
        del config.parse_config  # the method of Odoo's class again
        try:
            result = odoo_parse_config(*args, **kwargs)
        finally:
            if netsvc.init_logger is init_logger:  # a parse that set up no logging
                netsvc.init_logger = odoo_init_logger
        if not switched:
            switch()
        then()
        return result

    netsvc.init_logger = init_logger
    config.parse_config = parse_config
