"""``POST /logistics_observability/backups``: backup and restore-drill reports from backup jobs."""

import logging

from odoo import http
from odoo.http import request

from ..core import backup_reports
from .ingest import error_response, read_integration_body

_logger = logging.getLogger(__name__)


class ObservabilityBackupsController(http.Controller):
    @http.route(
        "/logistics_observability/backups",
        type="http",
        auth="bearer",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def post_backups(self, **_kwargs):
        raw, refused = read_integration_body(backup_reports.MAX_BODY)
        if refused:
            return refused
        try:
            reports = backup_reports.parse_body(raw)
        except backup_reports.ReportError as exc:
            return error_response(exc)
        runs, created = request.env["logistics.backup.run"].sudo()._ingest_counted(reports, source="api")
        return request.make_json_response(
            {"accepted": len(reports), "created": created, "updated": len(reports) - created, "ids": runs.ids}
        )
