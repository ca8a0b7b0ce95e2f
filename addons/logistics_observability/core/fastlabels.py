"""``Metric.labels`` compiled per metric: a known series costs one tuple and one dict lookup."""

import keyword

MISSING = object()
_FAST_LABELS = """def labels({params}, *__more, **__kw):
    key = ({names},)
    if __kw or __more:
        return __slow(key, __more, __kw)
    child = __get(key)
    if child is None:
        return __slow(key, __more, __kw)
    return child
"""


def fast_labels(metric):
    """``metric.labels`` as a function whose parameters are the label names (positional or by
    name), so a known series costs one tuple and one dict lookup: no ``**kwargs`` dict, no
    per-call checks. A missing label is ``MISSING`` in the key, never a known series.
    None when a label name cannot be a Python parameter."""
    names = metric.labelnames
    if not names or any(keyword.iskeyword(n) for n in names):
        return None
    namespace = {"MISSING": MISSING, "__get": metric._children.get, "__slow": metric._slow_labels}
    source = _FAST_LABELS.format(params=", ".join("%s=MISSING" % n for n in names), names=", ".join(names))
    exec(source, namespace)
    fn = namespace["labels"]
    fn.__doc__ = type(metric).labels.__doc__
    return fn
