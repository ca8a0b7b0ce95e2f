"""The one way core modules reset process state in a forked child."""

import os


def at_fork_in_child(fn):
    """Run ``fn`` in every forked child, right after the fork (where the platform has
    ``os.register_at_fork``); returns ``fn``, so it also serves as a decorator."""
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=fn)
    return fn
