"""Reading the metric store as a scraper does, and forking writer processes (Odoo-free tests)."""

import os

from prometheus_client.parser import text_string_to_metric_families

from logistics_observability.core import exposition


def scrape():
    """{(sample name, labels tuple): value} of a fresh exposition."""
    text = exposition.generate().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(name, **labels):
    return scrape().get((name, tuple(sorted(labels.items()))))


def fork(fn):
    """Run ``fn`` in a forked child; its pid (see :func:`wait`)."""
    pid = os.fork()
    if pid == 0:
        try:
            fn()
        finally:
            os._exit(0)
    return pid


def wait(pid):
    _pid, status = os.waitpid(pid, 0)
    return status
