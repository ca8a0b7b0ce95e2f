"""What changed in a tenant: module installs / upgrades / uninstalls, system parameters, the suite's
settings and scheduled actions. Odoo-free: the version layer and the models pass plain values.

Module operations are found by comparing the modules installed now with a snapshot taken at the
previous registry load (so ``odoo-bin -u`` from a shell counts as much as the Apps menu); who asked
comes from the intents recorded when a module was marked for install / upgrade / uninstall.
Counts live in the tenant's own tables, so ``odoo_module_operations_total`` is exact whichever
process made the change; the tenant collector exports them.
"""

import logging
import re

_logger = logging.getLogger(__name__)

INSTALL, UPGRADE, UNINSTALL = "install", "upgrade", "uninstall"
OPERATIONS = (INSTALL, UPGRADE, UNINSTALL)
#: ``kind`` label values of ``odoo_last_change_timestamp_seconds``.
KINDS = ("module", "parameter", "setting", "cron")
SUITE_PREFIX = "logistics_observability."
MASK = "********"
_SECRET_KEY = re.compile(r"(?i)(secret|passw|token|api[_.-]?key|private|credential|\bkey$|_key$|\.key$)")
_MAX_VALUE = 200

DDL = """
CREATE TABLE IF NOT EXISTS logistics_module_snapshot (
    name varchar PRIMARY KEY,
    version varchar
);
CREATE TABLE IF NOT EXISTS logistics_module_intent (
    name varchar PRIMARY KEY,
    operation varchar NOT NULL,
    uid integer,
    at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
CREATE TABLE IF NOT EXISTS logistics_change_count (
    kind varchar NOT NULL,
    operation varchar NOT NULL,
    count bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, operation)
);
"""
COUNT_UPSERT = """
INSERT INTO logistics_change_count (kind, operation, count) VALUES (%s, %s, 1)
ON CONFLICT (kind, operation) DO UPDATE SET count = logistics_change_count.count + 1
"""
#: Read by the tenant collector (after checking ``to_regclass('logistics_change_count')``).
COUNTS_SQL = "SELECT operation, count FROM logistics_change_count WHERE kind = 'module'"
LAST_SQL = """
SELECT kind, operation, target, extract(epoch FROM create_date)
  FROM logistics_audit_event WHERE category = 'change'
 ORDER BY create_date DESC, id DESC LIMIT 1
"""


def is_secret_key(key):
    return bool(key) and bool(_SECRET_KEY.search(str(key)))


def shown(key, value):
    """A parameter value fit for an audit row or a log line: masked when the key names a secret,
    bounded otherwise; ``None`` stays ``None`` (the parameter did not exist)."""
    if value is None or value is False:
        return None
    if is_secret_key(key):
        return MASK
    value = str(value)
    return value if len(value) <= _MAX_VALUE else value[:_MAX_VALUE] + "…"


def parameter_kind(key):
    return "setting" if str(key).startswith(SUITE_PREFIX) else "parameter"


def module_operations(snapshot, current, intents):
    """Module operations between two states.

    ``snapshot`` / ``current``: ``{module: version}`` of installed modules before / now;
    ``intents``: ``{module: (operation, uid)}`` recorded when modules were marked.
    Returns ``[{"operation", "module", "from", "to", "uid"}]`` sorted by module, and the
    intents that were consumed.
    """
    out, consumed = [], set()
    for name in sorted(set(snapshot) | set(current)):
        before, after = snapshot.get(name, False), current.get(name, False)
        intent = intents.get(name)
        uid = intent[1] if intent else None
        if before is False and after is not False:
            operation = INSTALL
        elif before is not False and after is False:
            operation = UNINSTALL
        elif after is not False and (before != after or (intent and intent[0] == UPGRADE)):
            operation = UPGRADE
        else:
            continue
        if intent:
            consumed.add(name)
        out.append(
            {"operation": operation, "module": name, "from": before or None, "to": after or None, "uid": uid}
        )
    return out, consumed


def log_change(tenant, kind, operation, target, actor=None, before=None, after=None):
    """One structured log event per change (never a secret: callers pass :func:`shown` values)."""
    try:
        _logger.info(
            "change %s %s %s by=%s from=%s to=%s",
            kind,
            operation,
            target,
            actor or "-",
            "-" if before is None else before,
            "-" if after is None else after,
            extra={
                "event": "change",
                "change": operation,
                "change.kind": kind,
                "change.target": target,
                "user.login": actor,
                "change.from": before,
                "change.to": after,
                "tenant": tenant,
            },
        )
    except Exception:
        _logger.debug("logging a change failed", exc_info=True)
