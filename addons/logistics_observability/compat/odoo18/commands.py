"""Odoo 18.0: ``odoo-bin`` looks a command up by any name registered for it, so the hyphenated
spellings of earlier releases (``observability-server``, ...) stay accepted."""


def aliases(name):
    alias = name.replace("_", "-")
    return (alias,) if alias != name else ()
