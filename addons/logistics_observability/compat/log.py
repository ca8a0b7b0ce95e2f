"""Logging (Odoo 18.0 and 19.0): switch every handler ``odoo.netsvc.init_logger`` set up to JSON.

Odoo configures one handler on the root logger (stderr, ``logfile`` or
syslog) with its ``DBFormatter``/``ColoredFormatter``; ``log_db`` adds a
PostgreSQL handler that writes ``ir_logging`` rows (left alone: it is not a
text stream). Lines Odoo writes before the server-wide modules load (its first
few start-up lines) keep the text format, unless Odoo is started with
``odoo-bin observability_server`` (see :func:`early`).
"""

import logging

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


def early(args):
    """Odoo's logging set up from ``args`` (as ``odoo-bin server`` would), then switched to JSON
    when configured: Odoo's own start-up lines (version banner included) are JSON too."""
    from odoo.tools import config

    config.parse_config(args, setup_logging=True)
    install()
