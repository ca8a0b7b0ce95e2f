"""The fast exposition writer: the bytes of the library's encoders, written faster.

:func:`encode` gives what :func:`.libcollector.library_encode` gives for the same families
(proved byte-identical by ``tests/unit/test_exposition_library.py``; ``benchmarks/bench_exposition.py``
shows why it is needed at 500 tenants). It reuses the library's own escaping and number
formatting, keeps sample line prefixes and number texts between scrapes (bounded), and falls
back to the library for anything it does not cover. Re-exported by :mod:`.exposition`.
"""

from prometheus_client.openmetrics import exposition as _om
from prometheus_client.utils import floatToGoString

from . import exemplars, names
from .libcollector import _LIB_TYPES, UNDERSCORES, _exemplars_of, library_encode


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
    """Sample lines of a family of the merged store (:class:`.summing.Columns`), built at C speed.

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
