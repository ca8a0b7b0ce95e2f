"""The summed series' merge at C speed (:class:`Summed`) and its result (:class:`Columns`).

Counters, histograms and ``sum`` gauges (:func:`.merge.summed`) add up over every slot. Each slot
gets a gather plan (where each output value comes from in that slot), kept across scrapes and
extended as the slot grows; the hold of new series (``observability_new_series_hold``) is applied
here (:meth:`Summed.hide_young`).
"""

import operator

from .merge import ZERO, summed, width_of


class _SlotPlan:
    """For one slot's layout: where each summed output value comes from in that slot."""

    __slots__ = ("bad", "conflicts", "gather", "getter", "layout", "own", "seen", "slow")

    def __init__(self, layout):
        self.layout = layout
        self.seen = 0  # layout entries already placed
        self.gather = []  # output position -> value index in the slot (ZERO when it has none)
        self.getter = None
        self.slow = []  # entries merged by Merger (live, max and mostrecent gauges)
        self.own = []  # ordinals (in Summed.series) of the summed series this slot holds
        self.bad = 0
        self.conflicts = 0


class Summed:
    """Merges the summed series of every slot at C speed: each slot's values are gathered into
    the output order by one ``itemgetter`` and added with ``map(operator.add)``.

    The output layout only grows (append-only like the slots), so per-slot plans are
    extended, never rebuilt, unless a slot is re-initialised.
    """

    def __init__(self):
        self.metas = {}
        self.keys = {}  # (name, labelvalues) -> ordinal in series
        self.series = []  # (name, labelvalues, position, width)
        self.groups = {}  # name -> [labelvalues list, positions list, width, cached getter]
        self.size = 0
        self.partial = False  # a slot file that held series is gone: check presence
        self.born = []  # ordinal -> earliest birth over the slots (0.0: unknown, old)
        self.young = []  # ordinals of counters and histograms that may still be in their hold

    def plan(self, reader_plan, layout):
        if reader_plan is not None and reader_plan.layout is layout:
            plan = reader_plan
        else:
            if reader_plan is not None:
                self.partial = True  # the slot was re-initialised: its old series may be gone
            plan = _SlotPlan(layout)
        entries = layout.entries
        if plan.seen < len(entries):
            metas = layout.metas
            keys = self.keys
            gather = plan.gather
            births = layout.born
            for i in range(plan.seen, len(entries)):
                name, lv, idx = entries[i]
                if lv is None:
                    plan.bad += 1
                    continue
                meta = metas[name]
                known = self.metas.get(name)
                if known is None:
                    known = self.metas[name] = meta
                elif known is not meta and (known[2] != meta[2] or known[4:7] != meta[4:7]):
                    plan.conflicts += 1
                    continue
                if not summed(meta):
                    plan.slow.append((name, lv, idx))
                    continue
                width = width_of(meta[2], meta[5], meta[6])
                born = births[i]
                at = keys.get((name, lv))
                if at is None:
                    at = keys[(name, lv)] = len(self.series)
                    self.series.append((name, lv, self.size, width))
                    self.born.append(born)
                    if born and meta[2] != "gauge":
                        self.young.append(at)
                    group = self.groups.get(name)
                    if group is None:
                        group = self.groups[name] = [[], [], width, None]
                    group[0].append(lv)
                    group[1].append(self.size)
                    group[3] = None
                    self.size += width
                elif born < self.born[at]:
                    self.born[at] = born  # the series was older in this slot
                pos = self.series[at][2]
                plan.own.append(at)
                if len(gather) < self.size:
                    gather.extend([ZERO] * (self.size - len(gather)))
                gather[pos : pos + width] = range(idx, idx + width)
            plan.seen = len(entries)
            plan.getter = None
        return plan

    def add(self, acc, plan, vals):
        """``acc`` plus this slot's summed values (a new list)."""
        size = self.size
        if size == 0:
            return acc
        if len(plan.gather) < size:
            plan.gather.extend([ZERO] * (size - len(plan.gather)))
            plan.getter = None
        if plan.getter is None:
            gather = tuple(plan.gather)
            plan.getter = operator.itemgetter(*gather) if size > 1 else (lambda v, i=gather[0]: (v[i],))
        vals[ZERO] = 0.0
        part = plan.getter(vals)
        if acc is None:
            return list(part)
        return list(map(operator.add, acc, part))

    def hide_young(self, acc, now, hold):
        """Zero, in ``acc``, the counters and histograms born less than ``hold`` seconds ago.

        A series born at 1 has no earlier sample for ``rate()``/``increase()`` to difference
        against, so its first increment would be invisible; read as 0 for ``hold`` (longer than
        the scrape interval), it gives every scraper a 0 sample first. Series leave ``young``
        for good once old, so a store without new series pays nothing.
        """
        young = self.young
        if not young or acc is None:
            return
        keep = []
        series = self.series
        born = self.born
        for at in young:
            age = now - born[at]
            if born[at] and -hold < age < hold:  # (a clock stepped back keeps it young)
                _name, _lv, pos, width = series[at]
                acc[pos : pos + width] = [0.0] * width
                keep.append(at)
        self.young = keep

    def fill(self, merged, acc, present=None):
        """Put the summed series into ``merged``: ``{name: (meta, Columns)}`` with a float per
        series of width 1, the list of values of a histogram.

        ``present``: ordinals of the series held by the slots read this time, when some
        slot that once held series was not (never show a missing value as 0).
        """
        if acc is None:
            return
        metas = self.metas
        if present is not None:
            found = {}
            for at, (name, lv, pos, width) in enumerate(self.series):
                if at in present:
                    series = found.get(name)
                    if series is None:
                        series = found[name] = {}
                    series[lv] = acc[pos] if width == 1 else acc[pos : pos + width]
            for name, series in found.items():
                merged[name] = (metas[name], Columns(list(series), list(series.values())))
            return
        for name, group in self.groups.items():
            lvs, positions, width, getter = group
            if width == 1:
                if getter is None:
                    getter = group[3] = (
                        operator.itemgetter(*positions)
                        if len(positions) > 1
                        else (lambda v, i=positions[0]: (v[i],))
                    )
                values = getter(acc)
            else:
                values = [acc[pos : pos + width] for pos in positions]
            # the group's own label list (append-only, never changed in place): its identity tells
            # the exposition that the series it wrote last time are still in the same order
            merged[name] = (metas[name], Columns(lvs, values))


class Columns:
    """The merged series of one metric: ``labels[i]`` (label values) has ``values[i]``.

    ``labels`` may be longer than ``values`` (series added since): only the first
    ``len(values)`` count. Readers never change either.
    """

    __slots__ = ("labels", "values")

    def __init__(self, labels, values):
        self.labels = labels
        self.values = values

    def __len__(self):
        return len(self.values)

    def items(self):
        return zip(self.labels, self.values, strict=False)  # labels may be longer
