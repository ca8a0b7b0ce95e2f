"""Odoo 19.0 server processes: the series-neutral hooks (:mod:`..server`, the same ``PreforkServer``,
``ThreadedServer``, ``Worker`` and ``GeventServer`` entry points) plus the graceful reload.

19.0 reloads a prefork server (``SIGHUP``, or ``odoo-bin server --dev=reload``) in
``PreforkServer.fork_and_reload``: the master forks a child that drains the old workers and
re-executes itself, the new master inheriting the listening socket (``ODOO_HTTP_SOCKET_FD``).
Old and new workers overlap; the new master must keep the metrics directory as it is (the old
workers' slots are still counted, dead ones summed) instead of wiping it: the instance lock is
passed on across the exec (``core/instance.py``).
"""

import functools
import logging

from .. import server as shared

_logger = logging.getLogger(__name__)

configure = shared.configure


def install():
    from odoo.service import server

    shared.install()

    fork_and_reload = server.PreforkServer.fork_and_reload

    @functools.wraps(fork_and_reload)
    def fork_and_reload_wrapper(self):
        try:
            shared.pass_instance_lock()
        except Exception:
            _logger.warning(
                "logistics_observability: cannot pass the instance lock on to the reloaded "
                "master; it will use a directory of its own",
                exc_info=True,
            )
        return fork_and_reload(self)

    server.PreforkServer.fork_and_reload = fork_and_reload_wrapper
