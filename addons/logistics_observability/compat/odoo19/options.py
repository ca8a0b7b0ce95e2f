"""Odoo 19.0 configuration: the suite's ``observability_*`` keys made known to Odoo's parser,
and ``db_name`` read as the list 19.0 makes of it.

19.0 warns "unknown option ... stored as-is" for every key of the configuration file it does not
index. Declared as file-only options (no command-line flag, no default) they are read as strings,
as 18.0 reads every file value; ``core/config.py`` parses them. Declared when the addon is
imported, which ``odoo-bin observability_server`` does before Odoo reads its configuration (a
plain ``odoo-bin server`` reads it first: the warnings remain there, harmless).
"""

import logging

from ...core import config as obs_config

_logger = logging.getLogger(__name__)


def declare():
    from odoo.tools import config
    from odoo.tools.config import _FileOnlyOption

    # bound to Odoo's configuration the way its own file-only options are (``_build_cli``)
    option_class = type("ObservabilityOption", (_FileOnlyOption, config.parser.option_class), {})
    for name, (env_name, _default) in obs_config.KEYS.items():
        if name in config.options_index:
            continue
        option_class(dest=name, my_default=None, env_name=env_name)
        config._default_options.setdefault(name, None)


def db_names(options):
    """19.0 parses ``db_name`` (``-d``, ``PGDATABASE``, the file) into a list of names."""
    value = options.get("db_name") or ()
    if isinstance(value, str):  # set in code rather than parsed
        value = value.split(",")
    return [name.strip() for name in value if name and name.strip()]


def install():
    """Nothing to do at ``post_load``: the options are declared on import."""


try:
    declare()
except Exception:  # fail open: the keys stay readable, Odoo just warns about each
    _logger.warning(
        "logistics_observability: cannot declare the observability_* options to Odoo", exc_info=True
    )
