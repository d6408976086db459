"""Applying an upstream's answers to the working copy of the window (a dict of periods by id).

`upsert` adds and replaces periods (a period moved out of the window leaves it), `remove` drops
the ones gone upstream. For a `plain` batch (an upstream without change statuses) both mark
against the copy instead: see `signage.sync.reconcile`. Pure: no I/O.
"""

from __future__ import annotations

from datetime import date

from signage.domain.model import Period, Snapshot
from signage.sources.base import Batch
from signage.sync.reconcile import CANCELLED, mark, vanish


def upsert(
    periods: dict[int, Period],
    names: dict[str, dict[int, str]],
    batch: Batch,
    start: date,
    end: date,
    old: Snapshot | None = None,
) -> int:
    """Apply a batch to the working copy and return how many periods it really changed.

    A period moved out of the window leaves it (a plain one may stay, cancelled: `remove`);
    re-sent identical periods count for nothing.
    A plain batch's periods are marked against the copy first (`reconcile.mark`); `old` tells
    which days the copy already covered.
    """
    for category, table in batch.names.items():
        names.setdefault(category, {}).update(table)
    changed = 0
    for period in batch.periods:
        if start <= period.day <= end:
            if batch.plain:
                known = old is not None and old.covers(period.day)
                period = mark(periods.get(period.id), period, day_known=known)
            changed += periods.get(period.id) != period
            periods[period.id] = period
        elif batch.plain:
            # Moved to a day outside the window: where it was, it no longer takes place, as a
            # full load would find too.
            changed += remove(periods, {period.id}, cancel=batch.vanished_cancelled)
        else:
            changed += periods.pop(period.id, None) is not None
    return changed


def remove(periods: dict[int, Period], gone: set[int], cancel: bool) -> int:
    """Drop the periods gone upstream, or with `cancel` keep them cancelled (see
    `reconcile.vanish`); return how many changed."""
    changed = 0
    for pid in gone:
        old = periods.get(pid)
        if old is None:
            continue
        after = vanish(old) if cancel else None
        if after is None:
            del periods[pid]
        else:
            periods[pid] = after
        changed += after != old
    return changed


def count_differences(old: Snapshot, new: Snapshot) -> int:
    """Return how many periods of the common window differ between two snapshots."""
    start, end = max(old.window_start, new.window_start), min(old.window_end, new.window_end)
    before, after = in_window(old, start, end), in_window(new, start, end)
    return sum(1 for pid in before.keys() | after.keys() if before.get(pid) != after.get(pid))


def in_window(snapshot: Snapshot, start: date, end: date) -> dict[int, Period]:
    """Return a copy of the snapshot's periods that lie from `start` to `end`."""
    if start <= snapshot.window_start and snapshot.window_end <= end:
        # A snapshot holds only its window's periods: a plain copy, not a date per period
        # (a delta cycle copies the window every time).
        return dict(snapshot.periods)
    return {pid: p for pid, p in snapshot.periods.items() if start <= p.start.date() <= end}


def held(periods: dict[int, Period], batch: Batch) -> int:
    """Return how many periods of the copy an empty answer would contradict: for a plain
    upstream not those it already dropped (shown cancelled)."""
    if batch.plain:
        return sum(1 for p in periods.values() if p.status != CANCELLED)
    return len(periods)
