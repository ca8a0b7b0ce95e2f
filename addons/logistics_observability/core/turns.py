"""Concurrent callers of one computation take turns, and share its result when that is exact.

A caller that waited while another run was going on takes the result of a run that *started
after it arrived*: it is as fresh as its own would be. So any number of concurrent scrapers
(the dedicated listener is a threading server, HA Prometheus pairs scrape at once) cost about
two runs, not one each, and none of them sees data older than its own arrival.
"""

import threading


class Turns:
    __slots__ = ("last", "lock", "started")

    def __init__(self):
        self.lock = threading.Lock()
        self.started = 0  # runs started
        self.last = None  # (number of the run, its result)

    def run(self, fn):
        """``fn()``, or the result of a run started after this call arrived."""
        arrived = self.started
        with self.lock:
            last = self.last
            if last is not None and last[0] > arrived:
                return last[1]
            self.started += 1
            number = self.started
            result = fn()
            self.last = (number, result)
            return result
