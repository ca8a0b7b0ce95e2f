"""Security and governance signals: authentication attempts and privilege changes.

Odoo-free: the version layer (``compat``) calls these functions from its hooks
with plain values. Every function fails open (an error is logged at debug level
and swallowed) and never receives, logs or stores a password, key or token:
callers pass the login and the outcome only.
"""

import logging
import re

from . import metrics

_logger = logging.getLogger(__name__)

#: ``method`` label values of ``odoo_auth_attempts_total``.
WEB_LOGIN, RPC_PASSWORD, API_KEY = "web_login", "rpc_password", "api_key"
METHODS = (WEB_LOGIN, RPC_PASSWORD, API_KEY)
SUCCESS, FAILURE = "success", "failure"
#: ``change`` label values of ``odoo_privilege_changes_total``.
ADMIN_GRANTED, ADMIN_REVOKED = "admin_granted", "admin_revoked"
API_KEY_CREATED, API_KEY_REVOKED = "api_key_created", "api_key_revoked"
CHANGES = (ADMIN_GRANTED, ADMIN_REVOKED, API_KEY_CREATED, API_KEY_REVOKED)
#: ``endpoint`` label values of ``odoo_endpoint_auth_failures_total``.
ENDPOINTS = ("metrics", "events", "backups")
#: Groups whose members administer the database (XML ids), watched for privilege changes.
ADMIN_GROUPS = (
    "base.group_system",
    "base.group_erp_manager",
    "logistics_observability.group_observability_admin",
)

AUTH_ATTEMPTS = metrics.counter(
    "odoo_auth_attempts_total",
    "Authentication attempts by method (web_login, rpc_password, api_key).",
    ("tenant", "method", "outcome"),
    born_together={"outcome": (SUCCESS, FAILURE)},
)
PRIVILEGE_CHANGES = metrics.counter(
    "odoo_privilege_changes_total",
    "Privilege changes: users added to / removed from administrative groups, API keys created / revoked.",
    ("tenant", "change"),
)
ENDPOINT_AUTH_FAILURES = metrics.counter(
    "odoo_endpoint_auth_failures_total",
    "Refused requests to the suite's authenticated endpoints (/metrics, ingest), by HTTP status.",
    ("endpoint", "status"),
)

# Odoo's API keys: 20 random bytes, hex-encoded.
_API_KEY = re.compile(r"^[0-9a-f]{40}$")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
_MAX_LOGIN = 64


def looks_like_api_key(secret):
    """Whether an RPC password is shaped like an Odoo API key (to tell the two apart on failure)."""
    return isinstance(secret, str) and bool(_API_KEY.match(secret))


def rpc_method(secret, auth_method=None):
    """``api_key`` or ``rpc_password`` for an RPC login: Odoo says which on success
    (``auth_method``); on failure the secret's shape tells."""
    if auth_method == "apikey":
        return API_KEY
    if auth_method:
        return RPC_PASSWORD
    return API_KEY if looks_like_api_key(secret) else RPC_PASSWORD


def clean_login(login):
    """A login fit for a log line: bounded, printable, never a secret's container."""
    if not isinstance(login, str):
        return "?"
    return _UNPRINTABLE.sub("?", login)[:_MAX_LOGIN]


def record_auth(tenant, method, outcome, login=None, client_ip=None):
    """Count one authentication attempt and log it (failures at WARNING)."""
    try:
        method = method if method in METHODS else RPC_PASSWORD
        outcome = SUCCESS if outcome == SUCCESS else FAILURE
        AUTH_ATTEMPTS.labels(tenant=metrics.tenant_label(tenant), method=method, outcome=outcome).inc()
        level = logging.INFO if outcome == SUCCESS else logging.WARNING
        _logger.log(
            level,
            "auth %s %s login=%s ip=%s",
            method,
            outcome,
            clean_login(login),
            client_ip or "-",
            extra={
                "event": "auth_attempt",
                "auth.method": method,
                "outcome": outcome,
                "user.login": clean_login(login),
                "client.ip": client_ip,
                "tenant": tenant,
            },
        )
    except Exception:
        _logger.debug("recording an authentication attempt failed", exc_info=True)


def record_privilege_change(tenant, change, actor=None, target=None, group=None, client_ip=None, detail=None):
    """Count one privilege change and log it as an audit event (WARNING: someone should look)."""
    try:
        if change not in CHANGES:
            return
        PRIVILEGE_CHANGES.labels(tenant=metrics.tenant_label(tenant), change=change).inc()
        _logger.warning(
            "audit %s target=%s group=%s by=%s ip=%s%s",
            change,
            clean_login(target),
            group or "-",
            clean_login(actor),
            client_ip or "-",
            " (%s)" % detail if detail else "",
            extra={
                "event": "privilege_change",
                "change": change,
                "target.login": clean_login(target),
                "group": group,
                "user.login": clean_login(actor),
                "client.ip": client_ip,
                "tenant": tenant,
            },
        )
    except Exception:
        _logger.debug("recording a privilege change failed", exc_info=True)


def record_endpoint_auth_failure(endpoint, status):
    try:
        if endpoint in ENDPOINTS and int(status) in (401, 403):
            ENDPOINT_AUTH_FAILURES.labels(endpoint=endpoint, status=str(int(status))).inc()
    except Exception:
        _logger.debug("recording an endpoint authentication failure failed", exc_info=True)


def membership_changes(before, after):
    """``[(change, group, user_id)]`` from two ``{group: set(user ids)}`` snapshots."""
    out = []
    for group in sorted(set(before) | set(after)):
        old, new = before.get(group, set()), after.get(group, set())
        out += [(ADMIN_GRANTED, group, uid) for uid in sorted(new - old)]
        out += [(ADMIN_REVOKED, group, uid) for uid in sorted(old - new)]
    return out


# Per-minute counts of authentication attempts in the tenant's own database (the Security
# card's "failed logins, last 24 h"): one upsert per attempt, rows bounded by minutes x methods.
AUTH_LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS logistics_auth_ledger (
    minute timestamp NOT NULL,
    method varchar NOT NULL,
    outcome varchar NOT NULL,
    count bigint NOT NULL DEFAULT 0,
    UNIQUE (minute, method, outcome)
)
"""
AUTH_LEDGER_UPSERT = """
INSERT INTO logistics_auth_ledger (minute, method, outcome, count)
VALUES (date_trunc('minute', now() AT TIME ZONE 'UTC'), %s, %s, 1)
ON CONFLICT (minute, method, outcome) DO UPDATE SET count = logistics_auth_ledger.count + 1
"""
AUTH_LEDGER = "logistics_auth_ledger"
