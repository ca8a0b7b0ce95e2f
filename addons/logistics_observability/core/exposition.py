"""Prometheus text (0.0.4) and OpenMetrics 1.0 rendering, and the ``/metrics`` handler.

The same :func:`metrics_response` serves the Odoo controller on the main port
and the dedicated metrics listener.
"""
import logging
import math

from . import auth, metrics

_logger = logging.getLogger(__name__)

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def _num(value):
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if value != value:
        return "NaN"
    if value.is_integer() and abs(value) < 1e15:
        return "%d.0" % value if value or math.copysign(1, value) > 0 else "-0.0"
    return repr(value)


def _escape_label(value):
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(value, openmetrics):
    value = value.replace("\\", "\\\\").replace("\n", "\\n")
    if openmetrics:
        value = value.replace('"', '\\"')
    return value


class _LabelCache:
    """Rendered ``{a="x",b="y"`` prefixes (without the closing brace), reused across scrapes."""

    def __init__(self):
        self.cache = {}

    def get(self, names, values):
        key = (names, values)
        text = self.cache.get(key)
        if text is None:
            text = ",".join('%s="%s"' % (n, _escape_label(v)) for n, v in zip(names, values, strict=False))
            if len(self.cache) < 500000:
                self.cache[key] = text
        return text


_labels = _LabelCache()


def render(families, openmetrics=False):
    """Text of ``families`` in the Prometheus text format (or OpenMetrics)."""
    out = []
    append = out.append
    seen = set()
    for fam in families:
        name = fam.name
        kind = fam.type
        if openmetrics and kind == "counter" and name.endswith("_total"):
            base = name[:-6]
        else:
            base = name
        if base in seen:
            continue  # a family name appears once per exposition
        seen.add(base)
        om_kind = "unknown" if kind == "untyped" and openmetrics else kind
        append("# HELP %s %s\n" % (base, _escape_help(fam.help, openmetrics)))
        append("# TYPE %s %s\n" % (base, om_kind))
        names = fam.labelnames
        if kind == "histogram":
            bounds = [_num(b) for b in fam.buckets] + ["+Inf"]
            nb = len(bounds)
            for lv, vals in fam.samples:
                lab = _labels.get(names, lv)
                sep = "," if lab else ""
                total = 0.0
                for i in range(nb):
                    total += vals[i]
                    append('%s_bucket{%s%sle="%s"} %s\n' % (base, lab, sep, bounds[i], _num(total)))
                tail = "{%s}" % lab if lab else ""
                append("%s_count%s %s\n" % (base, tail, _num(total)))
                append("%s_sum%s %s\n" % (base, tail, _num(vals[nb])))
        else:
            sample = base + "_total" if openmetrics and kind == "counter" else name
            for lv, value in fam.samples:
                if lv:
                    append("%s{%s} %s\n" % (sample, _labels.get(names, lv), _num(value)))
                else:
                    append("%s %s\n" % (sample, _num(value)))
    if openmetrics:
        append("# EOF\n")
    return "".join(out)


def wants_openmetrics(accept):
    return bool(accept) and "application/openmetrics-text" in accept


def generate(openmetrics=False):
    return render(metrics.collect(), openmetrics=openmetrics).encode("utf-8")


def metrics_response(headers, peer, cfg):
    """(status, [(header, value)], body) for a ``GET /metrics``.

    ``headers`` is a case-insensitive mapping of the request headers, ``peer``
    the socket peer address, ``cfg`` the :class:`~.config.Config`.
    """
    decision = auth.check(headers, peer, cfg.metrics_token if cfg else None)
    if decision != 200:
        return auth.deny(decision)
    openmetrics = wants_openmetrics(headers.get("Accept"))
    try:
        body = generate(openmetrics)
    except Exception:
        _logger.exception("metrics: cannot render /metrics")
        return 500, [("Content-Type", "text/plain; charset=utf-8")], b"metrics unavailable\n"
    ctype = OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE
    return 200, [("Content-Type", ctype), ("Cache-Control", "no-store")], body
