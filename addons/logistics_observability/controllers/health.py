"""``GET /health/live`` and ``GET /health/ready``: no database, no session."""

from odoo import http

from ..core import config as obs_config
from ..core import health
from .metrics import to_response


class ObservabilityHealthController(http.Controller):
    @http.route(
        "/health/live",
        type="http",
        auth="none",
        methods=["GET", "HEAD"],
        csrf=False,
        save_session=False,
        readonly=True,
    )
    def live(self, **_kwargs):
        return to_response(health.live_response())

    @http.route(
        "/health/ready",
        type="http",
        auth="none",
        methods=["GET", "HEAD"],
        csrf=False,
        save_session=False,
        readonly=True,
    )
    def ready(self, **_kwargs):
        return to_response(health.ready_response(obs_config.current()))
