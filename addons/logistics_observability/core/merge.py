"""How the values of one series combine across the slots of an instance.

Counters and histograms are summed over every slot (dead processes included:
nothing recorded is lost). Gauges follow their ``mode``: ``sum`` over every
slot, ``max`` the highest ever set, ``livesum`` / ``livemax`` over live slots
only, ``mostrecent`` the value with the newest timestamp.

The summed series (counters, histograms, ``sum`` gauges: nearly all of them, :func:`summed`) go
through :class:`.summing.Summed`, which keeps a per-slot gather plan across scrapes; the few
others through :class:`Merger`. The slot width of a series (:func:`width_of`) is shared by both
and by the slot file format.
"""

LIVE_MODES = ("livesum", "livemax")
GAUGE_MODES = ("livesum", "livemax", "sum", "max", "mostrecent")


def width_of(kind, buckets, mode):
    """Float values one series of this metric occupies in a slot."""
    if kind == "histogram":
        return len(buckets) + 2  # non-cumulative buckets (+Inf included), then sum
    if kind == "gauge" and mode == "mostrecent":
        return 2  # value, timestamp
    return 1


class Merger:
    """Accumulates slots into ``{name: (meta, {labelvalues: [values]})}``.

    ``dropped`` counts series left out of the answer, by reason.
    """

    def __init__(self):
        self.merged = {}
        self.dropped = {}

    def drop(self, reason, count=1):
        self.dropped[reason] = self.dropped.get(reason, 0) + count

    def add_slot(self, metas, entries, vals, is_live):
        """``entries``: (name, labelvalues or None when unreadable, first index); ``is_live()`` is lazy."""
        merged = self.merged
        live = None
        for name, lv, idx in entries:
            if lv is None:
                self.drop("bad_series")
                continue
            entry = merged.get(name)
            meta = metas[name]
            if entry is None:
                entry = merged[name] = (meta, {})
            elif entry[0][2] != meta[2] or entry[0][4:7] != meta[4:7]:
                self.drop("conflicting_definition")  # same name, other kind/labels/buckets/mode
                continue
            series = entry[1]
            kind = meta[2]
            mode = meta[6]
            if kind == "gauge" and mode in LIVE_MODES:
                if live is None:
                    live = is_live()
                if not live:
                    continue
            cur = series.get(lv)
            if kind == "histogram":
                width = len(meta[5]) + 2
                part = vals[idx : idx + width]
                if cur is None:
                    series[lv] = part
                else:
                    for i in range(width):
                        cur[i] += part[i]
            elif kind == "gauge" and mode == "mostrecent":
                part = vals[idx : idx + 2]
                if part[1] == 0.0:
                    continue  # never set
                if cur is None or part[1] >= cur[1]:
                    series[lv] = part
            else:
                v = vals[idx]
                if cur is None:
                    series[lv] = [v]
                elif kind != "gauge" or mode in ("sum", "livesum"):
                    cur[0] += v
                elif v > cur[0]:  # max, livemax
                    cur[0] = v


ZERO = 4  # a reserved header word: always read as 0.0 (forced in the reader's copy)


def summed(meta):
    """Series whose merged value is the plain sum over every slot (the bulk of a store)."""
    return meta[2] != "gauge" or meta[6] == "sum"
