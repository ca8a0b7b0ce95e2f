"""What the ingest endpoints (events, backups) share: who may post, and reading a bounded body."""
import werkzeug.exceptions

from odoo.http import request

INTEGRATION_GROUP = "logistics_observability.group_observability_integration"


def error_response(message, field=None, status=400):
    return request.make_json_response({"error": message, "field": field}, status=status)


def read_integration_body(max_body):
    """Return ``(raw_body, None)``, or ``(None, error_response)`` for a user outside the
    integration group (403) or a body over ``max_body`` bytes (413)."""
    if not request.env.user.has_group(INTEGRATION_GROUP):
        return None, error_response("the API key's user is not in the Observability Integration group",
                                    None, 403)
    httprequest = request.httprequest
    too_large = error_response("request body over %d bytes" % max_body, "body", 413)
    if httprequest.content_length is not None and httprequest.content_length > max_body:
        return None, too_large
    # bounds chunked bodies too: werkzeug raises 413 past max_content_length
    httprequest.max_content_length = max_body
    try:
        return httprequest.get_data(cache=False), None
    except werkzeug.exceptions.RequestEntityTooLarge:
        return None, too_large
