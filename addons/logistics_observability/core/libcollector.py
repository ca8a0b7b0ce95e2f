"""The store as prometheus_client sees it: families as the library's ``Metric`` objects.

:class:`StoreCollector` is a prometheus_client collector yielding the merged families of every
process (and the scrape-time collectors); :func:`library_encode` writes families with the
library's own encoders (Prometheus text 0.0.4 / 1.0.0, OpenMetrics 1.0 with exemplars). The
reference the fast writer (:mod:`.textwriter`) is proved byte-identical against
(``tests/unit/test_exposition_library.py``). Re-exported by :mod:`.exposition`.
"""

from prometheus_client import CollectorRegistry
from prometheus_client import exposition as _pc
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as _om
from prometheus_client.samples import Exemplar, Sample
from prometheus_client.utils import floatToGoString

from . import exemplars, metrics, names

TEXT_CONTENT_TYPE = _pc.CONTENT_TYPE_PLAIN_0_0_4
OPENMETRICS_CONTENT_TYPE = _om.CONTENT_TYPE_LATEST
OPENMETRICS = "application/openmetrics-text"
UNDERSCORES = _om.UNDERSCORES
_LIB_TYPES = {"untyped": "unknown"}


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
