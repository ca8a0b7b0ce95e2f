"""Proxy detection in the core, without Odoo: whichever forwarding header a reverse proxy adds, the
request is no direct loopback client (the same headers against a prefork Odoo:
tests/odoo/test_proxy_detection.py)."""

import pytest
from proxy_headers import HEADERS

from logistics_observability.core import auth


@pytest.mark.parametrize(("name", "value"), HEADERS)
def test_core_refuses_each_proxy_header(name, value):
    assert auth.check({}, "127.0.0.1", None) == 200
    assert auth.check({name: value}, "127.0.0.1", None) == 403
    assert auth.check({name: ""}, "::1", None) == 403  # present, even empty
