"""``/metrics``: the multi-process store exposed through prometheus_client.

:class:`StoreCollector` is a prometheus_client collector yielding the merged families of every
process (and the scrape-time collectors); the library's encoders write them (Prometheus text
0.0.4 / 1.0.0 and OpenMetrics 1.0), chosen by the library's ``choose_encoder`` on the media range
the scraper prefers (``Accept`` q-values honoured), gzip-compressed when the scraper accepts it.

:func:`encode` is a faster writer of the same bytes as the library's encoders (proved
byte-identical by ``tests/test_exposition_library.py``; ``benchmarks/bench_exposition.py`` shows
why it is needed at 500 tenants). It reuses the library's own escaping and number formatting and
falls back to the library for anything it does not cover. The same :func:`metrics_response`
serves the Odoo controller on the main port and the dedicated metrics listener.
"""

import gzip
import logging
import math
from functools import partial

from prometheus_client import CollectorRegistry
from prometheus_client import exposition as _pc
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as _om
from prometheus_client.samples import Exemplar, Sample
from prometheus_client.utils import floatToGoString

from . import auth, exemplars, metrics, names, security, turns
from .atfork import at_fork_in_child

_logger = logging.getLogger(__name__)

TEXT_CONTENT_TYPE = _pc.CONTENT_TYPE_PLAIN_0_0_4
OPENMETRICS_CONTENT_TYPE = _om.CONTENT_TYPE_LATEST
OPENMETRICS = "application/openmetrics-text"
UNDERSCORES = _om.UNDERSCORES
GZIP_LEVEL = 1  # 500 tenants: 1.2x the size of level 6 in a third of its time (bench_exposition)
_LIB_TYPES = {"untyped": "unknown"}


# ---------------------------------------------------------------------------
# the collector (library path)


def _exemplars_of(fam, table):
    """``{(series hash, bucket): (trace_id, value, timestamp)}`` for ``fam`` or None."""
    if not table or fam.type != "histogram":
        return None
    return table.get(exemplars.name_key(fam.name))


def to_metric(fam, table=None):
    """A :class:`metrics.Family` as a prometheus_client ``Metric`` (samples as the library writes them).

    ``table`` is an :func:`exemplars.snapshot`: histogram buckets get their exemplar.
    """
    kind = fam.type
    metric = Metric(names.family_name(fam.name, kind), fam.help, _LIB_TYPES.get(kind, kind))
    labelnames = fam.labelnames
    out = metric.samples
    if kind == "histogram":
        bounds = [floatToGoString(b) for b in fam.buckets] + ["+Inf"]
        base = metric.name
        found = _exemplars_of(fam, table)
        for lv, vals in fam.samples:
            labels = dict(zip(labelnames, lv, strict=True))
            skey = exemplars.series_key(fam.name, lv) if found else None
            total = 0.0
            for i, bound in enumerate(bounds):
                total += vals[i]
                ex = found.get((skey, i)) if found else None
                ex = Exemplar({"trace_id": ex[0]}, ex[1], ex[2]) if ex else None
                out.append(Sample(base + "_bucket", dict(labels, le=bound), total, None, ex))
            out.append(Sample(base + "_count", labels, total))
            out.append(Sample(base + "_sum", labels, vals[len(bounds)]))
    else:
        sample = metric.name + "_total" if kind == "counter" else metric.name
        for lv, value in fam.samples:
            out.append(Sample(sample, dict(zip(labelnames, lv, strict=True)), value))
    return metric


class StoreCollector:
    """prometheus_client collector: the families of :func:`metrics.collect` (clashes dropped).

    Names are claimed when metrics are defined (:func:`names.claim`), so ``describe`` is empty:
    registering it never runs the scrape-time collectors.
    """

    def __init__(self, source=metrics.collect):
        self.source = source

    def describe(self):
        return []

    def families(self):
        return list(names.unique(self.source()))

    def collect(self):
        for fam in self.families():
            yield to_metric(fam)


COLLECTOR = StoreCollector()
REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(COLLECTOR)


class _FamiliesCollector:
    def __init__(self, families, table=None):
        self._families = families
        self._table = table

    def collect(self):
        for fam in self._families:
            yield to_metric(fam, self._table)


def library_encode(families, openmetrics=False, escaping=UNDERSCORES, table=None):
    """``families`` written by prometheus_client's own encoder (exemplars of ``table`` in OpenMetrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_FamiliesCollector(families, table if openmetrics else None))
    if openmetrics:
        return _om.generate_latest(registry, escaping=escaping)
    return _pc.generate_latest(registry, escaping=escaping)


# ---------------------------------------------------------------------------
# the fast writer (same bytes)


def _esc_value(value):
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


_NUMS = {}  # value -> floatToGoString(value); zero is never kept (0.0 and -0.0 are equal keys)
_NUMS_MAX = 100000


def _num(value):
    text = _NUMS.get(value)
    if text is None:
        text = floatToGoString(value)
        if value and len(_NUMS) < _NUMS_MAX:
            _NUMS[value] = text
    return text


class _Prefixes:
    """Sample line prefixes (``name{sorted labels} ``) per series, reused across scrapes.

    Bounded by the number of lines kept; beyond it prefixes are built on every scrape.
    """

    MAX_LINES = 400000

    def __init__(self):
        self.cache = {}
        self.lines = 0

    def keep(self, key, value, lines):
        if self.lines + lines <= self.MAX_LINES:
            self.cache[key] = value
            self.lines += lines


_prefixes = _Prefixes()


def _layout(labelnames, escaping, extra=None):
    """(order of the values, escaped names), sorted by name as the library writes them."""
    keys = list(labelnames) + ([extra] if extra else [])
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return order, [_om.escape_label_name(keys[i], escaping) for i in order]


def _labelstr(values, layout):
    order, escaped = layout
    return ",".join('%s="%s"' % (escaped[j], _esc_value(values[i])) for j, i in enumerate(order))


def _fast_ok(fam):
    return (
        len(set(fam.labelnames)) == len(fam.labelnames)
        and "le" not in fam.labelnames
        and _om._is_valid_legacy_metric_name(fam.name)
    )


def _exemplar_text(ex):
    # as the library's _compose_exemplar_string writes it
    trace, value, when = ex
    return ' # {trace_id="%s"} %s %s' % (_esc_value(trace), floatToGoString(value), when)


def _write_family(fam, openmetrics, escaping, append, table=None):
    kind = fam.type
    base = names.family_name(fam.name, kind)
    if openmetrics:
        head = _om.escape_metric_name(base, escaping)
        append(
            "# HELP %s %s\n# TYPE %s %s\n" % (head, _esc_value(fam.help), head, _LIB_TYPES.get(kind, kind))
        )

        def sample_name(suffix):
            return _om._escape(base + suffix, escaping, _om._is_legacy_labelname_rune)
    else:
        mname = base + "_total" if kind == "counter" else base
        head = _om.escape_metric_name(mname, escaping)
        doc = fam.help.replace("\\", "\\\\").replace("\n", "\\n")
        append("# HELP %s %s\n# TYPE %s %s\n" % (head, doc, head, "untyped" if kind == "untyped" else kind))

        def sample_name(suffix):
            return _om.escape_metric_name(base + suffix, escaping)

    labelnames = fam.labelnames
    cache = _prefixes.cache
    nums = _NUMS
    if kind == "histogram":
        bounds = [floatToGoString(b) for b in fam.buckets] + ["+Inf"]
        nb = len(bounds)
        bucket, count, sum_ = sample_name("_bucket"), sample_name("_count"), sample_name("_sum")
        # the sorted label set with "le" cut out: labels before it, labels after it
        order, escaped = _layout(labelnames, escaping, "le")
        cut = order.index(len(labelnames))
        before = (order[:cut], escaped[:cut])
        after = (order[cut + 1 :], escaped[cut + 1 :])
        tag = ("h", openmetrics, escaping, fam.name, labelnames, tuple(bounds))
        found = _exemplars_of(fam, table) if openmetrics else None
        for lv, vals in fam.samples:
            key = (tag, lv)
            lines = cache.get(key)
            if lines is None:
                pre, post = _labelstr(lv, before), _labelstr(lv, after)
                left = pre + "," if pre else ""
                right = "," + post if post else ""
                plain = "{%s%s}" % (pre, right) if pre else ("{%s}" % post if post else "")
                lines = ['%s{%sle="%s"%s} ' % (bucket, left, b, right) for b in bounds]
                lines += ["%s%s " % (count, plain), "%s%s " % (sum_, plain)]
                _prefixes.keep(key, lines, nb + 2)
            total = 0.0
            if found:
                skey = exemplars.series_key(fam.name, lv)
                for i in range(nb):
                    total += vals[i]
                    ex = found.get((skey, i))
                    tail = _exemplar_text(ex) + "\n" if ex else "\n"
                    append(lines[i] + (nums.get(total) or _num(total)) + tail)
            else:
                for i in range(nb):
                    total += vals[i]
                    append(lines[i] + (nums.get(total) or _num(total)) + "\n")
            append(lines[nb] + (nums.get(total) or _num(total)) + "\n")
            append(lines[nb + 1] + _num(vals[nb]) + "\n")
    else:
        name = sample_name("_total" if kind == "counter" else "")
        layout = _layout(labelnames, escaping)
        tag = ("s", escaping, name, labelnames)
        columns = fam.columns
        if columns is not None and len(columns):
            append(_column_lines(tag, name, layout, columns))
            return
        for lv, value in fam.samples:
            key = (tag, lv)
            prefix = cache.get(key)
            if prefix is None:
                prefix = "%s{%s} " % (name, _labelstr(lv, layout)) if lv else name + " "
                _prefixes.keep(key, prefix, 1)
            append(prefix + _num(value) + "\n")


_NUMS_NL = {}  # value -> its text and a newline (no zero, as _NUMS)


def _num_nl(value):
    text = _NUMS_NL.get(value)
    if text is None:
        text = floatToGoString(value) + "\n"
        if value and len(_NUMS_NL) < _NUMS_MAX:
            _NUMS_NL[value] = text
    return text


_rows = {}  # tag -> (the store's label list it was built from, prefixes): the lines of a family


def _column_lines(tag, name, layout, columns):
    """Sample lines of a family of the merged store (:class:`.merge.Columns`), built at C speed.

    The store's label list of a metric only grows, so the prefixes built for it last time
    are reused while it is the same list: one lookup per family instead of one per series.
    """
    labels, values = columns.labels, columns.values
    count = len(values)
    known = _rows.get(tag)
    prefixes = known[1] if known is not None and known[0] is labels else []
    if len(prefixes) < count:
        cache = _prefixes.cache
        fresh = []
        for lv in labels[len(prefixes) : count]:
            prefix = cache.get((tag, lv))
            if prefix is None:
                prefix = "%s{%s} " % (name, _labelstr(lv, layout)) if lv else name + " "
                _prefixes.keep((tag, lv), prefix, 1)
            fresh.append(prefix)
        prefixes = prefixes + fresh  # a new list: a concurrent scrape may still read the old one
        if _prefixes.lines + count <= _prefixes.MAX_LINES:
            _rows[tag] = (labels, prefixes)
    texts = list(map(_NUMS_NL.get, values))
    if None in texts:
        texts = [text or _num_nl(v) for text, v in zip(texts, values, strict=True)]
    parts = [""] * (2 * count)
    parts[::2] = prefixes if len(prefixes) == count else prefixes[:count]
    parts[1::2] = texts
    return "".join(parts)


def encode(families, openmetrics=False, escaping=UNDERSCORES, table=None):
    """The bytes :func:`library_encode` gives for ``families``, written faster."""
    out = []
    append = out.append
    table = table if openmetrics else None
    for fam in families:
        if _fast_ok(fam):
            _write_family(fam, openmetrics, escaping, append, table)
        else:  # anything unusual: the library writes it (without its EOF line)
            text = library_encode([fam], openmetrics, escaping, table).decode("utf-8")
            append(text[: -len("# EOF\n")] if openmetrics else text)
    if openmetrics:
        append("# EOF\n")
    return "".join(out).encode("utf-8")


def exemplar_table():
    """The instance's exemplars (empty when they cannot be read: the answer goes on without)."""
    try:
        return exemplars.snapshot(metrics.get_store().directory)
    except Exception:
        _logger.warning("metrics: cannot read the exemplars", exc_info=True)
        return {}


_shared = {}  # (openmetrics, escaping) -> turns.Turns: the last answer of each format


def _reset_shared():
    _shared.clear()  # a lock held by a thread of the parent would never be released here


at_fork_in_child(_reset_shared)


def _render(openmetrics, escaping):
    return encode(COLLECTOR.families(), openmetrics, escaping, exemplar_table() if openmetrics else None)


def generate(openmetrics=False, escaping=UNDERSCORES):
    """One exposition of everything (text 0.0.4, or OpenMetrics 1.0 with exemplars).

    Concurrent scrapes of one format share a rendering when it is as fresh as their own
    (:class:`.turns.Turns`): HA Prometheus pairs cost about one rendering, not one each.
    """
    turn = _shared.setdefault((openmetrics, escaping), turns.Turns())
    return turn.run(partial(_render, openmetrics, escaping))


# ---------------------------------------------------------------------------
# content negotiation


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


def metrics_response(headers, peer, cfg):
    """(status, [(header, value)], body) for a ``GET /metrics``.

    ``headers`` is a case-insensitive mapping of the request headers, ``peer``
    the socket peer address, ``cfg`` the :class:`~.config.Config`.
    """
    decision = auth.check(headers, peer, cfg.metrics_token if cfg else None)
    if decision != 200:
        security.record_endpoint_auth_failure("metrics", decision)
        return auth.deny(decision)
    _encoder, ctype, openmetrics, escaping = negotiate(headers.get("Accept"))
    try:
        body = generate(openmetrics, escaping)
    except Exception:
        _logger.exception("metrics: cannot render /metrics")
        return 500, [("Content-Type", "text/plain; charset=utf-8")], b"metrics unavailable\n"
    out = [("Content-Type", ctype), ("Cache-Control", "no-store"), ("Vary", "Accept, Accept-Encoding")]
    if gzip_accepted(headers.get("Accept-Encoding")):
        body = gzip.compress(body, compresslevel=GZIP_LEVEL)
        out.append(("Content-Encoding", "gzip"))
    return 200, out, body
