"""A scrape's pass over every slot: each slot's cached reader, read and merged into one answer.

The readers (:mod:`.slot_reader`) and the merge plan they share (:class:`.summing.Summed`) live
as long as the process: a scrape costs the series new since the last one. One scrape at a time
(the store's :class:`.turns.Turns`). A slot that cannot be read is left out and counted; a
slot that held series and was not read this time hides what only it showed, never shows it as 0.
"""

import time

from .merge import Merger
from .slot_reader import SlotReader
from .slotfile import H_DROPPED_FULL, H_DROPPED_SPACE
from .summing import Summed


class MergeResult:
    """What :meth:`Store.merge` read: series, live slot files, drops by reason."""

    def __init__(self, merger, slots, write_drops):
        self.merged = merger.merged
        self.dropped = merger.dropped
        self.slots = slots
        self.write_drops = write_drops  # {"store_full": n, "no_space": n} over every slot


class Scan:
    """The readers of a metrics directory's slots, and their merge plan."""

    def __init__(self, directory):
        self.directory = directory
        self.readers = {}
        self.summed = Summed()

    def reset(self):
        """Forget every reader (fork, wipe): the next scrape reads every slot afresh."""
        for reader in self.readers.values():
            reader._reset()
        self.readers = {}
        self.summed = Summed()

    def merge(self, numbers, hold, is_live, log_once):
        """Every slot of ``numbers`` read and merged (a :class:`MergeResult`); ``is_live(number)``
        tells whether a slot's owner lives, ``hold`` is :meth:`.summing.Summed.hide_young`'s."""
        merger = Merger()
        summed = self.summed
        acc = None
        slow = []
        slots = 0
        write_drops = {"store_full": 0.0, "no_space": 0.0}
        included = []
        for stale in set(self.readers) - set(numbers):
            self.readers.pop(stale)._reset()
            summed.partial = True
        for number in numbers:
            reader = self.readers.get(number)
            if reader is None:
                reader = self.readers[number] = SlotReader(self.directory, number)
            try:
                if not reader.refresh():
                    continue
                vals = reader.values()
            except FileNotFoundError:
                continue  # wiped meanwhile
            except Exception as exc:
                log_once(
                    ("slot", number, type(exc).__name__),
                    "metrics store: slot %s of %s unreadable (%s); left out of scrapes",
                    number,
                    self.directory,
                    exc,
                )
                merger.drop("bad_slot")
                if reader.plan is not None:
                    self.summed.partial = True
                reader._reset()
                continue
            slots += 1
            layout = reader.layout
            if layout.broken:
                log_once(
                    ("broken", number),
                    "metrics store: slot %s of %s has a damaged record; series after it are " "left out",
                    number,
                    self.directory,
                )
                merger.drop("bad_slot")
            write_drops["store_full"] += vals[H_DROPPED_FULL]
            write_drops["no_space"] += vals[H_DROPPED_SPACE]
            plan = reader.plan = summed.plan(reader.plan, layout)
            included.append((plan, vals))
            if plan.bad:
                merger.drop("bad_series", plan.bad)
            if plan.conflicts:
                merger.drop("conflicting_definition", plan.conflicts)
            if plan.slow:
                slow.append((layout.metas, plan.slow, vals, number))
        for plan, vals in included:  # once every plan knows the whole output layout
            acc = summed.add(acc, plan, vals)
        present = None
        if summed.partial or len(included) != sum(r.plan is not None for r in self.readers.values()):
            # a slot that held series was not read this time: show only what was read
            present = set()
            for plan, _vals in included:
                present.update(plan.own)
        summed.hide_young(acc, time.time(), hold)
        summed.fill(merger.merged, acc, present)
        for metas, entries, vals, number in slow:
            merger.add_slot(metas, entries, vals, lambda number=number: is_live(number))
        return MergeResult(merger, slots, write_drops)
