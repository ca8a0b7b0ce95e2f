"""Odoo 19.0: a command's name must match ``[a-z0-9_]`` and its module's name (``cli/<name>.py``,
loaded as ``odoo.cli.<name>``): a hyphenated alias could never be run, only listed by ``help``."""


def aliases(name):
    return ()
