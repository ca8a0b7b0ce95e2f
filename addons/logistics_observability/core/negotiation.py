"""Content negotiation of ``/metrics``: which format (``Accept``) and whether gzip
(``Accept-Encoding``), as prometheus_client's ``choose_encoder`` answers a media range.

Re-exported by :mod:`.exposition`.
"""

import math
from functools import partial

from prometheus_client import exposition as _pc
from prometheus_client.openmetrics import exposition as _om

from .libcollector import OPENMETRICS, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, UNDERSCORES


def _media_ranges(header):
    """``[(q, position, media range without q)]`` of an Accept-style header, best first."""
    ranges = []
    for pos, item in enumerate((header or "").split(",")):
        parts = [p.strip() for p in item.split(";")]
        if not parts[0]:
            continue
        q = 1.0
        params = []
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                if not 0.0 <= q <= 1.0 or math.isnan(q):
                    q = 0.0
            elif param:
                params.append(param)
        ranges.append((-q, pos, ";".join([parts[0].lower(), *params])))
    ranges.sort()
    return [(-q, pos, media) for q, pos, media in ranges]


def negotiate(accept):
    """(encoder, content type, openmetrics, escaping) for an ``Accept`` header.

    The scraper's most preferred media range that we serve wins (q-values, then order); the
    library's ``choose_encoder`` turns it into its encoder and content type, so Prometheus 3's
    ``text/plain;version=1.0.0;escaping=...`` and OpenMetrics versions are answered as the library
    answers them. Nothing acceptable: the text format 0.0.4, as the library does.
    """
    for q, _pos, media in _media_ranges(accept):
        if q <= 0:
            break
        mtype = media.split(";", 1)[0]
        if mtype in (OPENMETRICS, "text/plain"):
            encoder, ctype = _pc.choose_encoder(media)
            if mtype == OPENMETRICS and getattr(encoder, "func", None) is not _om.generate_latest:
                continue  # an OpenMetrics version the library does not write: next preference
            break
        if mtype in ("*/*", "text/*"):
            encoder, ctype = _pc.generate_latest, TEXT_CONTENT_TYPE
            break
        if mtype == "application/*":
            encoder, ctype = partial(_om.generate_latest, escaping=UNDERSCORES), OPENMETRICS_CONTENT_TYPE
            break
    else:
        encoder, ctype = _pc.generate_latest, TEXT_CONTENT_TYPE
    func = getattr(encoder, "func", encoder)
    escaping = getattr(encoder, "keywords", {}).get("escaping", UNDERSCORES)
    return encoder, ctype, func is _om.generate_latest, escaping


def gzip_accepted(accept_encoding):
    for q, _pos, coding in _media_ranges(accept_encoding):
        if q > 0 and coding.split(";", 1)[0] in ("gzip", "x-gzip"):
            return True
    return False
