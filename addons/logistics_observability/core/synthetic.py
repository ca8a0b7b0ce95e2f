"""Synthetic checks of customer-facing journeys: validation, blackbox exporter targets, inside-out probes.

Odoo-free. A check is a plain dict: ``name`` (slug), ``url``, ``method``, ``expected_status``,
``expected_text`` (optional), ``timeout`` (seconds), ``interval`` (seconds), ``mode``
(``outside_in``: probed by Prometheus' blackbox exporter through the ingress; ``inside_out``:
run by Odoo on a schedule, recorded as workflow ``synthetic_<name>``).
"""

import hashlib
import ipaddress
import re
import socket
import time
import urllib.parse

import requests

METHODS = ("GET", "HEAD", "POST")
MODES = ("outside_in", "inside_out")
MIN_TIMEOUT, MAX_TIMEOUT = 0.5, 60.0
MIN_INTERVAL, MAX_INTERVAL = 10, 86400
MAX_BODY = 64 * 1024
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: Cloud metadata endpoints (besides the link-local 169.254.169.254 / fd00:ec2::254).
METADATA_HOSTS = {
    "metadata",
    "metadata.google.internal",
    "metadata.azure.internal",
    "instance-data",
    "instance-data.ec2.internal",
}


class CheckError(ValueError):
    """A refused definition: ``field`` names the bad field, ``message`` says why."""

    def __init__(self, field, message):
        super().__init__("%s: %s" % (field, message))
        self.field, self.message = field, message


def workflow_name(name):
    return "synthetic_%s" % name


def forbidden_address(host, resolve=True):
    """Why ``host`` must not be probed from inside Odoo (loopback, link-local, metadata,
    unspecified, multicast), or ``None``. With ``resolve``, every address the name resolves to
    is checked (a name pointing at 127.0.0.1 is refused too); an unresolvable name is refused."""
    host = (host or "").strip("[]").lower().rstrip(".")
    if host in METADATA_HOSTS:
        return "a cloud metadata address"
    if host == "localhost" or host.endswith(".localhost"):
        return "a loopback address"
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        if not resolve:
            return None
        try:
            infos = socket.getaddrinfo(host, None)
        except (OSError, UnicodeError):
            return "a host name that does not resolve"
        addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    for address in addresses:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if address.is_loopback:
            return "a loopback address"
        if address.is_link_local or str(address) in ("169.254.169.254", "fd00:ec2::254"):
            return "a link-local or cloud metadata address"
        if address.is_unspecified or address.is_multicast:
            return "an unspecified or multicast address"
    return None


def validate(check, resolve=True):
    """The normalised check, or :class:`CheckError` naming the first bad field."""
    name = str(check.get("name") or "")
    if not _NAME.match(name):
        raise CheckError("name", "use 1-40 lowercase letters, digits and underscores, starting with a letter")
    url = str(check.get("url") or "").strip()
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise CheckError("url", "not a URL (%s)" % exc) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CheckError("url", "expected an absolute http:// or https:// URL, got %r" % url[:100])
    if parts.username or parts.password:
        raise CheckError("url", "credentials in the URL are refused; the check would leak them")
    del port
    method = str(check.get("method") or "GET").upper()
    if method not in METHODS:
        raise CheckError("method", "expected one of %s" % ", ".join(METHODS))
    try:
        status = int(check.get("expected_status") or 200)
    except (TypeError, ValueError):
        raise CheckError("expected_status", "not a number") from None
    if not 100 <= status <= 599:
        raise CheckError("expected_status", "an HTTP status is between 100 and 599")
    try:
        timeout = float(check.get("timeout") or 10)
    except (TypeError, ValueError):
        raise CheckError("timeout", "not a number") from None
    if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        raise CheckError("timeout", "must be between %s and %s seconds" % (MIN_TIMEOUT, MAX_TIMEOUT))
    try:
        interval = int(check.get("interval") or 60)
    except (TypeError, ValueError):
        raise CheckError("interval", "not a number") from None
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise CheckError("interval", "must be between %s and %s seconds" % (MIN_INTERVAL, MAX_INTERVAL))
    if timeout >= interval:
        raise CheckError("timeout", "must be shorter than the interval")
    mode = check.get("mode") or "outside_in"
    if mode not in MODES:
        raise CheckError("mode", "expected one of %s" % ", ".join(MODES))
    if mode == "inside_out":
        why = forbidden_address(parts.hostname, resolve=resolve)
        if why:
            raise CheckError(
                "url",
                "%s is %s: inside-out checks run inside the platform and may not "
                "reach it" % (parts.hostname, why),
            )
    text = check.get("expected_text") or None
    if text is not None and len(str(text)) > 200:
        raise CheckError("expected_text", "at most 200 characters")
    return {
        "name": name,
        "url": url,
        "method": method,
        "expected_status": status,
        "expected_text": text,
        "timeout": timeout,
        "interval": interval,
        "mode": mode,
    }


def blackbox_module(check):
    """(module name, blackbox exporter module) for an outside-in check; equal checks share one."""
    prober = {
        "valid_status_codes": [check["expected_status"]],
        "method": check["method"],
        "follow_redirects": False,
        "preferred_ip_protocol": "ip4",
    }
    if check.get("expected_text"):
        prober["fail_if_body_not_matches_regexp"] = [re.escape(check["expected_text"])]
    module = {"prober": "http", "timeout": "%gs" % check["timeout"], "http": prober}
    digest = hashlib.sha1(repr([*sorted(prober.items()), module["timeout"]]).encode()).hexdigest()[:10]
    return "lo_%s" % digest, module


def targets(checks):
    """(file-SD target groups, blackbox ``modules``) for the outside-in checks ``[(tenant, check)]``."""
    groups, modules = [], {}
    for tenant, check in checks:
        if check["mode"] != "outside_in":
            continue
        name, module = blackbox_module(check)
        modules[name] = module
        groups.append(
            {
                "targets": [check["url"]],
                "labels": {
                    "tenant": tenant,
                    "check": check["name"],
                    "module": name,
                    "__scrape_interval__": "%ds" % check["interval"],
                    "__scrape_timeout__": "%gs" % min(check["timeout"] + 1, check["interval"]),
                },
            }
        )
    return groups, {"modules": modules}


def probe(check, session=None):
    """Run one inside-out check: ``(ok, reason, seconds)``. Never raises; bounded body read."""
    start = time.monotonic()
    if check["mode"] == "inside_out":
        # resolved again at each run: a name may point elsewhere since it was saved
        why = forbidden_address(urllib.parse.urlsplit(check["url"]).hostname)
        if why:
            return False, "refused: the host is %s" % why, 0.0
    http = session or requests
    try:
        resp = http.request(
            check["method"], check["url"], timeout=check["timeout"], allow_redirects=False, stream=True
        )
        try:
            body = resp.raw.read(MAX_BODY, decode_content=True) if check.get("expected_text") else b""
        finally:
            resp.close()
    except requests.Timeout:
        return False, "timeout after %gs" % check["timeout"], time.monotonic() - start
    except requests.RequestException as exc:
        return False, "connection error: %s" % type(exc).__name__, time.monotonic() - start
    took = time.monotonic() - start
    if resp.status_code != check["expected_status"]:
        return False, "HTTP %s, expected %s" % (resp.status_code, check["expected_status"]), took
    if check.get("expected_text") and check["expected_text"].encode() not in body:
        return False, "expected text not found in the first %d KiB" % (MAX_BODY // 1024), took
    return True, "", took
