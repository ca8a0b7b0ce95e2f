"""What the ingest endpoints (events, backups) share: who may post, reading a bounded body,
and the JSON error answer (validation itself is ``core/ingest.py``)."""

import werkzeug.exceptions

from odoo.http import request

from ..core import ingest, security

INTEGRATION_GROUP = "logistics_observability.group_observability_integration"


def error_response(exc):
    """The JSON answer ``{"error", "field"}`` of an :class:`~..core.ingest.IngestError`."""
    return request.make_json_response(exc.as_dict(), status=exc.status)


def read_integration_body(max_body):
    """Return ``(raw_body, None)``, or ``(None, error_response)`` for a user outside the
    integration group (403) or a body over ``max_body`` bytes (413)."""
    if not request.env.user.has_group(INTEGRATION_GROUP):
        security.record_endpoint_auth_failure(request.httprequest.path.rsplit("/", 1)[-1], 403)
        return None, error_response(
            ingest.IngestError("the API key's user is not in the Observability Integration group", None, 403)
        )
    httprequest = request.httprequest
    too_large = ingest.IngestError("request body over %d bytes" % max_body, "body", 413)
    if httprequest.content_length is not None and httprequest.content_length > max_body:
        return None, error_response(too_large)
    # bounds chunked bodies too: werkzeug raises 413 past max_content_length
    httprequest.max_content_length = max_body
    try:
        # cached: Odoo replays the request after a serialization failure
        return httprequest.get_data(cache=True), None
    except werkzeug.exceptions.RequestEntityTooLarge:
        return None, error_response(too_large)
    except (werkzeug.exceptions.BadRequest, OSError, ValueError):
        return None, error_response(ingest.IngestError("the request body could not be read", "body"))
