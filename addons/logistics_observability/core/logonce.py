"""Log a message once per key: the fail-open paths say what broke once, not on every call."""

import logging


class LogOnce:
    """``log_once(key, msg, *args)`` logs the first time ``key`` is seen, then stays silent.

    At most ``limit`` keys are remembered (None: no limit); past it, a new key is not logged
    (``when_full="drop"``) or logged every time (``when_full="log"``). ``level`` is the default
    level of a line, ``exc_info`` the default of the logging call's own argument.
    """

    __slots__ = ("exc_info", "level", "limit", "logger", "seen", "when_full")

    def __init__(self, logger, level=logging.WARNING, limit=None, when_full="drop", exc_info=False):
        self.logger = logger
        self.level = level
        self.limit = limit
        self.when_full = when_full
        self.exc_info = exc_info
        self.seen = set()

    def __call__(self, key, msg, *args, level=None, exc_info=None):
        """True when the line was logged."""
        seen = self.seen
        if key in seen:
            return False
        if self.limit is None or len(seen) < self.limit:
            seen.add(key)
        elif self.when_full == "drop":
            return False
        self.logger.log(
            self.level if level is None else level,
            msg,
            *args,
            exc_info=self.exc_info if exc_info is None else exc_info,
        )
        return True

    def clear(self):
        self.seen.clear()
