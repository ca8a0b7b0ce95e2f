"""The HTTP status class label (``status="2xx"``), one rule for every family that has one.

Odoo-free, imports nothing of the addon: the server's request metrics (:mod:`.server_metrics`)
and the carrier calls' outbound requests (:mod:`.carrier`) both use :func:`status_class`.
"""

#: The class of a status that is no HTTP status (unreadable, or outside 100-599): counted as a
#: server error, so the label keeps its five documented values (docs/METRICS.md) and an error
#: ratio over ``status="5xx"`` counts an answer nobody can interpret as a failure.
BAD_STATUS_CLASS = "5xx"


def status_class(status):
    """``("2xx", 200)`` for a WSGI status line (``"200 OK"``) or a code; never raises.

    Unreadable → ``("5xx", 500)``; a number outside 100-599 → ``("5xx", that number)``.
    """
    try:
        code = int(str(status).split(" ", 1)[0])
    except (TypeError, ValueError):
        return BAD_STATUS_CLASS, 500
    if not 100 <= code <= 599:
        return BAD_STATUS_CLASS, code
    return "%dxx" % (code // 100), code
