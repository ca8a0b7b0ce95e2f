"""``odoo-bin observability_server``: Odoo's server, logging as configured from its first line.

Odoo logs the warnings of its configuration parse and its banner (version, configuration file,
addons paths, database) before it loads the server-wide modules, so a formatter installed by
``post_load`` misses those lines. This command runs Odoo's own ``server`` command with the same
arguments, its log handlers switched to ``observability_log_format`` as soon as Odoo creates them
and the addon's hooks installed once the configuration is parsed (parsed once, by Odoo)::

    odoo-bin --addons-path=/opt/odoo-addons observability_server -c /etc/odoo/odoo.conf

In prefork mode the gevent process is started with the same arguments, so it uses this command
too. Anything going wrong here falls back to Odoo's plain start; a configuration Odoo refuses gives
Odoo's own error.
"""

import logging
import sys

# Absolute imports: Odoo 19.0 loads cli/<command>.py as odoo.cli.<command>, outside this package.
from odoo.addons.logistics_observability import compat, hooks  # pylint: disable=odoo-addons-relative-import
from odoo.cli import Command

_logger = logging.getLogger(__name__)


class ObservabilityServer(Command):
    """Start the Odoo server with logistics_observability's log format from the first line"""

    name = "observability_server"

    def run(self, cmdargs):
        from odoo.cli import server

        # Odoo calls an addon's post_load only when it imports the addon itself; finding this
        # subcommand already imported it, so the hooks are installed here (each once, failing
        # open), once Odoo's server command below parsed the configuration
        try:
            armed = compat.early_logging(hooks.post_load)
        except Exception:  # fail open: Odoo starts, its first lines in its own format
            armed = False
            sys.stderr.write("observability_server: could not set up logging early; starting Odoo anyway\n")
        if not armed:
            hooks.post_load()
        server.main(cmdargs)
