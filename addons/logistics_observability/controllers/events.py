"""``POST /logistics_observability/events``: external workflow events (proof of delivery, webhooks)."""

import logging

from odoo import http
from odoo.http import request

from ..core import events as core_events
from ..core import workflow as core_workflow
from .ingest import error_response, read_integration_body

_logger = logging.getLogger(__name__)


class ObservabilityEventsController(http.Controller):
    @http.route(
        "/logistics_observability/events",
        type="http",
        auth="bearer",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def post_events(self, **_kwargs):
        raw, refused = read_integration_body(core_events.MAX_BODY)
        if refused:
            return refused
        try:
            events = core_events.parse_body(raw, core_workflow.known)
        except core_events.EventError as exc:
            return error_response(exc)
        accepted, duplicates = request.env["logistics.workflow.event"].sudo()._ingest(events)
        return request.make_json_response({"accepted": accepted, "duplicates": duplicates})
