"""``POST /logistics_observability/backups``: backup and restore-drill reports from backup jobs."""
import logging

import werkzeug.exceptions

from odoo import http
from odoo.http import request

from ..core import backup_status

_logger = logging.getLogger(__name__)

INTEGRATION_GROUP = "logistics_observability.group_observability_integration"


def _error(message, field=None, status=400):
    return request.make_json_response({"error": message, "field": field}, status=status)


class ObservabilityBackupsController(http.Controller):
    @http.route("/logistics_observability/backups", type="http", auth="bearer", methods=["POST"], csrf=False,
                save_session=False)
    def post_backups(self, **_kwargs):
        if not request.env.user.has_group(INTEGRATION_GROUP):
            return _error("the API key's user is not in the Observability Integration group", None, 403)
        httprequest = request.httprequest
        length = httprequest.content_length
        if length is not None and length > backup_status.MAX_BODY:
            return _error("request body over %d bytes" % backup_status.MAX_BODY, "body", 413)
        # bounds chunked bodies too: werkzeug raises 413 past max_content_length
        httprequest.max_content_length = backup_status.MAX_BODY
        try:
            raw = httprequest.get_data(cache=False)
        except werkzeug.exceptions.RequestEntityTooLarge:
            return _error("request body over %d bytes" % backup_status.MAX_BODY, "body", 413)
        try:
            reports = backup_status.parse_body(raw)
        except backup_status.ReportError as exc:
            return _error(exc.message, exc.field, getattr(exc, "status", 400))
        Run = request.env["logistics.backup.run"].sudo()
        before = Run.search_count([])
        runs = Run._ingest(reports, source="api")
        created = Run.search_count([]) - before
        return request.make_json_response({"accepted": len(reports), "created": created,
                                           "updated": len(reports) - created, "ids": runs.ids})
