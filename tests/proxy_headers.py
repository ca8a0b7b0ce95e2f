"""Forwarding headers a reverse proxy adds: each makes a request "not a direct loopback client"."""

HEADERS = [
    ("Via", "1.1 nginx"),
    ("X-Real-IP", "127.0.0.1"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Host", "odoo.example.com"),
    ("X-Forwarded-For", "127.0.0.1"),
    ("Forwarded", "for=127.0.0.1;proto=https"),
    ("X-Forwarded-Port", "443"),
    ("True-Client-IP", "127.0.0.1"),
]
