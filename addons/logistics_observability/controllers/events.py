"""``POST /logistics_observability/events``: external workflow events (proof of delivery, webhooks)."""
import logging

from odoo import http
from odoo.http import request

from ..core import events as core_events
from ..core import workflow as core_workflow

_logger = logging.getLogger(__name__)

INTEGRATION_GROUP = "logistics_observability.group_observability_integration"


def _error(message, field=None, status=400):
    return request.make_json_response({"error": message, "field": field}, status=status)


class ObservabilityEventsController(http.Controller):
    @http.route("/logistics_observability/events", type="http", auth="bearer", methods=["POST"], csrf=False,
                save_session=False)
    def post_events(self, **_kwargs):
        if not request.env.user.has_group(INTEGRATION_GROUP):
            return _error("the API key's user is not in the Observability Integration group", None, 403)
        httprequest = request.httprequest
        length = httprequest.content_length
        if length is not None and length > core_events.MAX_BODY:
            return _error("request body over %d bytes" % core_events.MAX_BODY, "body", 413)
        # werkzeug reads at most Content-Length (checked above); a body without one reads as empty
        raw = httprequest.get_data(cache=False)
        try:
            events = core_events.parse_body(raw, core_workflow.known)
        except core_events.EventError as exc:
            return _error(exc.message, exc.field, exc.status)
        accepted, duplicates = request.env["logistics.workflow.event"].sudo()._ingest(events)
        return request.make_json_response({"accepted": accepted, "duplicates": duplicates})
