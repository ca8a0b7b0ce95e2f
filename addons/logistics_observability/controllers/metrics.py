"""``GET /metrics`` on the main port: no database, no session."""

from odoo import http
from odoo.http import request

from ..core import config as obs_config
from ..core import exposition, odoo_facts


def _peer(environ):
    # with proxy_mode, Odoo rewrites REMOTE_ADDR from X-Forwarded-For: use the socket peer
    orig = environ.get(odoo_facts.ENVIRON_PROXY_FIX_ORIG) or {}
    return orig.get("REMOTE_ADDR") or environ.get("REMOTE_ADDR")


def to_response(result):
    status, headers, body = result
    return request.make_response(body, headers=headers, status=status)


class ObservabilityMetricsController(http.Controller):
    @http.route(
        "/metrics",
        type="http",
        auth="none",
        methods=["GET", "HEAD"],
        csrf=False,
        save_session=False,
        readonly=True,
    )
    def metrics(self, **_kwargs):
        httprequest = request.httprequest
        result = exposition.metrics_response(
            httprequest.headers, _peer(httprequest.environ), obs_config.current()
        )
        return to_response(result)
