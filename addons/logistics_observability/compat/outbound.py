"""Outbound HTTP of carrier operations: ``requests`` timed once per process.

Installed with the other concerns (never at a glue addon's import): the hook patches
``requests``' transport adapter process-wide, and only records a request made inside
``observe.carrier_call`` (``core/carrier.py``); outside one it passes straight through.
"""

from ..core import carrier


def install():
    carrier.install_requests_hook()
