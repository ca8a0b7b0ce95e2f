"""The suite's ``odoo-bin`` commands, one per module (``cli/<name>.py``: 19.0 loads a command's
module as ``odoo.cli.<name>`` and wants the command named after it).

:func:`register_aliases` is public API (``logistics_slo``'s ``slo_rules`` uses it): a command's
other spellings are a series difference, answered by ``compat``.
"""

from .. import compat
from . import observability_backup, observability_server, synthetic_targets


def register_aliases(command):
    """Register ``command`` (an ``odoo.cli.Command`` class) under the other names the running
    series accepts for it (18.0: the hyphenated spelling of earlier releases; 19.0: none)."""
    from odoo.cli.command import commands

    for alias in compat.command_aliases(command.name):
        commands.setdefault(alias, command)


register_aliases(observability_backup.ObservabilityBackup)
register_aliases(observability_server.ObservabilityServer)
register_aliases(synthetic_targets.SyntheticTargets)
