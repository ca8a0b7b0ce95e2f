"""Server-wide settings: Odoo ``[options]`` keys, each overridable by an environment variable.

``load(options)`` takes Odoo's options dict (``odoo.tools.config.options``) so
this module stays Odoo-free. A bad value is reported once, naming the key, and
only the feature it belongs to is disabled; Odoo starts normally.
"""

import logging
import os
import re
import urllib.parse

from . import detail, instance

_logger = logging.getLogger(__name__)

# key -> (environment variable, default)
KEYS = {
    "observability_metrics_token": ("ODOO_OBSERVABILITY_METRICS_TOKEN", None),
    "observability_metrics_port": ("ODOO_OBSERVABILITY_METRICS_PORT", None),
    "observability_metrics_interface": ("ODOO_OBSERVABILITY_METRICS_INTERFACE", "127.0.0.1"),
    "observability_metrics_dir": ("ODOO_OBSERVABILITY_METRICS_DIR", None),
    "observability_store_capacity": ("ODOO_OBSERVABILITY_STORE_CAPACITY", 1 << 20),
    "observability_env": ("ODOO_OBSERVABILITY_ENV", "prod"),
    "observability_region": ("ODOO_OBSERVABILITY_REGION", "default"),
    "observability_service": ("ODOO_OBSERVABILITY_SERVICE", "odoo"),
    "observability_release": ("ODOO_OBSERVABILITY_RELEASE", None),
    "observability_log_format": ("ODOO_OBSERVABILITY_LOG_FORMAT", "text"),
    "observability_max_tenants": ("ODOO_OBSERVABILITY_MAX_TENANTS", 2000),
    "observability_max_routes": ("ODOO_OBSERVABILITY_MAX_ROUTES", 200),
    "observability_redis_url": ("ODOO_OBSERVABILITY_REDIS_URL", None),
    "observability_ledger_flush_interval": ("ODOO_OBSERVABILITY_LEDGER_FLUSH_INTERVAL", 5.0),
    "observability_tenant_exclude": ("ODOO_OBSERVABILITY_TENANT_EXCLUDE", None),
    "observability_new_series_hold": ("ODOO_OBSERVABILITY_NEW_SERIES_HOLD", 90.0),
    "observability_metrics_detail": ("ODOO_OBSERVABILITY_METRICS_DETAIL", "default"),
    "observability_tracing": ("ODOO_OBSERVABILITY_TRACING", False),
    "observability_tracing_ratio": ("ODOO_OBSERVABILITY_TRACING_RATIO", 0.1),
    "observability_otlp_endpoint": ("ODOO_OBSERVABILITY_OTLP_ENDPOINT", None),
}

LOG_FORMATS = ("text", "json")


class Config:
    """Parsed settings; attributes are ``None`` when unset or invalid."""

    def __init__(self):
        self.metrics_token = None
        self.metrics_port = None
        self.metrics_interface = "127.0.0.1"
        self.metrics_dir = None
        self.store_capacity = 1 << 20  # values per process (slot_writer.DEFAULT_CAPACITY)
        self.env = "prod"
        self.region = "default"
        self.service = "odoo"
        self.release = None
        self.version = None
        self.log_format = "text"
        self.max_tenants = 2000
        self.max_routes = 200
        self.redis_url = None
        self.ledger_flush_interval = 5.0
        self.tenant_exclude = None  # compiled pattern: served databases that are no tenants
        # seconds a new counter or histogram series reads 0: longer than the scrape interval
        self.new_series_hold = 90.0
        self.metrics_detail = "default"  # core/detail.py: the per-tenant series budget
        self.tracing = False  # OpenTelemetry traces (core/tracing.py)
        self.tracing_ratio = 0.1  # head sampling ratio of new traces (parent-based)
        self.otlp_endpoint = None  # OTLP/HTTP traces URL; unset: the OTEL_EXPORTER_OTLP_* variables
        self.errors = {}  # key -> message
        self.db = {}  # PostgreSQL connection parameters for health checks

    def taxonomy(self):
        return {
            "env": self.env,
            "region": self.region,
            "service": self.service,
            "release": self.release or "",
        }

    def __repr__(self):  # never show the token
        return "<Config port=%s interface=%s dir=%s token=%s>" % (
            self.metrics_port,
            self.metrics_interface,
            self.metrics_dir,
            "set" if self.metrics_token else "unset",
        )


def _raw(options, environ, key):
    env_name, default = KEYS[key]
    if environ.get(env_name) not in (None, ""):
        return environ[env_name], env_name
    value = options.get(key)
    if value in (None, False, "", "False", "None"):
        return default, None
    return value, key


def _int(value, low, high):
    number = int(str(value).strip())
    if not low <= number <= high:
        raise ValueError("must be between %s and %s" % (low, high))
    return number


def _redis_url(value):
    parsed = urllib.parse.urlsplit(str(value).strip())
    if parsed.scheme not in ("redis", "rediss", "unix") or not (parsed.hostname or parsed.path):
        raise ValueError("expected redis://[user:password@]host[:port][/db]")
    _port = parsed.port  # raises ValueError on a bad port
    return str(value).strip()


def load(options, environ=None, odoo_version=None):
    """Build a :class:`Config` from Odoo's options dict and the environment."""
    environ = os.environ if environ is None else environ
    cfg = Config()
    cfg.version = odoo_version or ""

    def parse(key, attr, conv):
        value, source = _raw(options, environ, key)
        if value is None:
            return
        try:
            setattr(cfg, attr, conv(value))
        except (TypeError, ValueError) as exc:
            cfg.errors[key] = str(exc)
            _logger.error(
                "logistics_observability: invalid %s (%s): %s; this setting is ignored",
                key,
                "environment variable %s" % source if source and source != key else "option",
                exc,
            )

    parse("observability_metrics_token", "metrics_token", lambda v: str(v).strip() or None)
    parse("observability_metrics_port", "metrics_port", lambda v: _int(v, 1, 65535))
    parse("observability_metrics_interface", "metrics_interface", lambda v: str(v).strip())
    parse("observability_metrics_dir", "metrics_dir", lambda v: os.path.expanduser(str(v).strip()))
    parse("observability_store_capacity", "store_capacity", lambda v: _int(v, 1 << 16, 1 << 26))
    parse("observability_env", "env", str)
    parse("observability_region", "region", str)
    parse("observability_service", "service", str)
    parse("observability_release", "release", str)
    parse("observability_log_format", "log_format", _log_format)
    parse("observability_max_tenants", "max_tenants", lambda v: _int(v, 1, 100000))
    parse("observability_max_routes", "max_routes", lambda v: _int(v, 1, 100000))
    parse("observability_redis_url", "redis_url", _redis_url)
    parse("observability_ledger_flush_interval", "ledger_flush_interval", _flush_interval)
    parse("observability_tenant_exclude", "tenant_exclude", _pattern)
    parse("observability_new_series_hold", "new_series_hold", _hold)
    parse("observability_metrics_detail", "metrics_detail", detail.parse)
    parse("observability_tracing", "tracing", _bool)
    parse("observability_tracing_ratio", "tracing_ratio", _ratio)
    parse("observability_otlp_endpoint", "otlp_endpoint", _http_url)
    if not cfg.release:
        cfg.release = cfg.version
    if not cfg.metrics_dir:
        # local and per boot, never the (possibly shared) filestore: see core/instance.py
        cfg.metrics_dir = instance.default_directory(options.get("http_port") or 8069)
    cfg.db = {
        k: options.get(k)
        for k in ("db_host", "db_port", "db_user", "db_password", "db_sslmode")
        if options.get(k) not in (None, False, "")
    }
    return cfg


def _flush_interval(value):
    seconds = float(str(value).strip())
    if not 0.1 <= seconds <= 300:  # also refuses nan
        raise ValueError("must be between 0.1 and 300 seconds")
    return seconds


def _hold(value):
    seconds = float(str(value).strip())
    if not 0 <= seconds <= 3600:  # also refuses nan
        raise ValueError("must be between 0 and 3600 seconds")
    return seconds


def _bool(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected a boolean (true/false, 1/0, on/off)")


def _ratio(value):
    ratio = float(str(value).strip())
    if not 0.0 <= ratio <= 1.0:  # also refuses nan
        raise ValueError("must be between 0 and 1")
    return ratio


def _http_url(value):
    text = str(value).strip()
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError("expected http(s)://host[:port]/path")
    _port = parsed.port  # raises ValueError on a bad port
    return text


def _pattern(value):
    try:
        return re.compile(str(value).strip())
    except re.error as exc:
        raise ValueError("not a regular expression: %s" % exc) from None


def _log_format(value):
    value = str(value).strip().lower()
    if value not in LOG_FORMATS:
        raise ValueError("expected one of %s" % (LOG_FORMATS,))
    return value


_current = None


def set_current(cfg):
    global _current
    _current = cfg


def current():
    """The instance's :class:`Config` (from the environment only until Odoo configured it)."""
    global _current
    if _current is None:
        _current = load({})
    return _current
