"""Proxy detection of ``/metrics`` without a token: any relayed request is "not a direct loopback client".

A reverse proxy on the same host makes every client look local; whichever forwarding header it
adds (``Via``, ``X-Real-IP``, ``X-Forwarded-Proto``, ``X-Forwarded-Host``, ...), the request is refused,
on the main port (with and without Odoo's ``proxy_mode``) and on the dedicated metrics port.
The core check alone, without Odoo: tests/unit/test_proxy_headers.py.
"""

import odoo_harness
import pytest
import requests
from proxy_headers import HEADERS


@pytest.fixture(scope="module", params=[False, True], ids=["direct", "proxy_mode"])
def server(request, odoo_available):
    metrics_port = odoo_harness.free_port()
    srv = odoo_harness.OdooServer(
        workers=2,
        max_cron_threads=0,
        options={"proxy_mode": request.param, "observability_metrics_port": metrics_port},
    )
    srv.metrics_url = "http://127.0.0.1:%s" % metrics_port
    with srv:
        yield srv


@pytest.mark.odoo
@pytest.mark.parametrize(("name", "value"), HEADERS)
def test_prefork_odoo_refuses_each_proxy_header(server, name, value):
    for base in (server.url, server.metrics_url):
        assert requests.get(base + "/metrics", timeout=10).status_code == 200, base
        r = requests.get(base + "/metrics", headers={name: value}, timeout=10)
        assert r.status_code == 403, (base, name, r.status_code)
        assert "odoo_build_info" not in r.text
