"""Who may read ``/metrics``.

With a token configured, only ``Authorization: Bearer <token>`` (compared in
constant time). Without one, only *direct* loopback clients: the socket peer
is loopback and the request carries no proxy header. Behind a reverse proxy on
the same host every client looks local, and a header sent by the client can
never prove it is local, so any forwarding header means "not direct": the
standard ones (``Forwarded``, ``Via``), the de-facto ``X-Forwarded-*`` family
and the client-address headers proxies and CDNs add.
"""

import hmac
import ipaddress

PROXY_HEADERS = (
    "Forwarded",
    "Via",
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Forwarded-Port",
    "X-Forwarded-Server",
    "X-Forwarded-Prefix",
    "X-Original-Forwarded-For",
    "X-Real-IP",
    "X-Client-IP",
    "Client-IP",
    "True-Client-IP",
    "CF-Connecting-IP",
    "Fastly-Client-IP",
    "X-Cluster-Client-IP",
)


def is_loopback(addr):
    if not addr:
        return False
    addr = str(addr).strip()
    if addr.startswith("[") and addr.endswith("]"):
        addr = addr[1:-1]
    addr = addr.split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _bearer(headers):
    value = headers.get("Authorization") or ""
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def check(headers, peer, token):
    """200, 401 (bad/missing token) or 403 (not a direct loopback client)."""
    if token:
        given = _bearer(headers)
        if given is not None and hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
            return 200
        return 401
    if not is_loopback(peer):
        return 403
    if any(headers.get(h) is not None for h in PROXY_HEADERS):
        return 403
    return 200


def deny(status):
    """(status, headers, body) of a refused request."""
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")]
    if status == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="metrics"'))
        return 401, headers, b"missing or invalid bearer token\n"
    return 403, headers, b"metrics are only served to direct loopback clients without a token\n"
