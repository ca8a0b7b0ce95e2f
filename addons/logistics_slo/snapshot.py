"""SLO gauges handed from the refresh cron to the scrape-time collector.

The cron of each tenant database writes one small JSON file; ``/metrics``
(any process, no database needed, possibly the master's metrics listener)
reads the files instead of opening 200 database connections per scrape.
Computed values older than ``STALE_SECONDS`` are not exported (the cron
stopped); a file untouched for ``DROP_SECONDS`` (database gone) is ignored.
"""

import json
import logging
import os
import re
import tempfile
import time

from odoo.tools import config

_logger = logging.getLogger(__name__)

STALE_SECONDS = 600
DROP_SECONDS = 86400
MAX_FILES = 5000
_DB_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,63}$")


def directory():
    return os.path.join(config["data_dir"], "logistics_slo", "snapshots")


def write(dbname, rows):
    """Atomically replace the snapshot of ``dbname``; never raises."""
    if not _DB_RE.match(dbname or ""):
        return
    try:
        path = directory()
        os.makedirs(path, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path, prefix=".%s." % dbname)
        with os.fdopen(fd, "w") as fh:
            json.dump({"tenant": dbname, "written_at": time.time(), "slos": rows}, fh)
        os.replace(tmp, os.path.join(path, dbname + ".json"))
    except Exception as exc:  # a metrics hand-off must never break the cron or a write
        _logger.warning("logistics_slo: cannot write the SLO snapshot of %s: %s", dbname, exc)


def remove(dbname):
    try:
        os.unlink(os.path.join(directory(), dbname + ".json"))
    except OSError as exc:
        _logger.debug("logistics_slo: no SLO snapshot to remove for %s: %s", dbname, exc)


def read_all(now=None):
    """[(tenant, rows, fresh)] of the snapshots present."""
    now = now or time.time()
    path = directory()
    try:
        names = sorted(n for n in os.listdir(path) if n.endswith(".json"))[:MAX_FILES]
    except OSError:
        return []
    out = []
    for name in names:
        full = os.path.join(path, name)
        try:
            age = now - os.stat(full).st_mtime
            if age > DROP_SECONDS:
                continue
            with open(full) as fh:
                data = json.load(fh)
            out.append((data["tenant"], data.get("slos") or [], age <= STALE_SECONDS))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out
