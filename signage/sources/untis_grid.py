"""Read WebUntis v3 time grids: which unit of the day a period sits in.

Shape [spec]: `timetableData.timeGrids[]` is `{id, timeGridSlots[] {day, unitOfDay, start, end,
name}}` with `day` 1 = Monday … 7 = Sunday and slot times as integers such as `800` or `1345`
(school-local). A period names its grid with `timegridId` and, since 2023-11, its unit with
`unitOfDay` ("based on the overlapped timegrid slots").

A grid only numbers the boards' units ("3-4"), so a grid or slot that cannot be read is skipped
(one log line per process), never a failed cycle: counting the day's start times stands in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

log = logging.getLogger(__name__)

# A grid's unit numbers as WebUntis keeps them: grid id -> weekday (1 = Monday) -> slots.
Grids = dict[int | None, dict[int, list["Slot"]]]


@dataclass(frozen=True)
class Slot:
    """One unit of a day's time grid."""

    start: time
    end: time
    unit: int


def parse_time_grids(value: Any) -> Grids:
    """Return the slots of `timetableData.timeGrids` by grid and weekday; skip what is unusable."""
    grids: Grids = {}
    if value is None:
        return grids
    if not isinstance(value, list):
        _report_unusable("timeGrids is not a list")
        return grids
    for grid in value:
        slots = grid.get("timeGridSlots") if isinstance(grid, dict) else None
        if not isinstance(slots, list):
            if grid is not None and not (isinstance(grid, dict) and slots is None):
                _report_unusable("a time grid is not an object with a timeGridSlots list")
            continue
        grid_id = grid.get("id") if _is_int(grid.get("id")) else None
        days = grids.setdefault(grid_id, {})
        for raw in slots:
            slot = _slot(raw)
            if slot is None:
                _report_unusable("a time grid slot lacks day, unitOfDay, start or end")
                continue
            day, found = slot
            days.setdefault(day, []).append(found)
    for days in grids.values():
        for slots in days.values():
            slots.sort(key=lambda s: s.start)
    return grids


def unit_of(grid_id: Any, start: datetime, end: datetime, grids: Grids) -> int | None:
    """Return the unit of the first slot of the period's grid (`timegridId`) that it overlaps;
    with no grid named, the only grid there is."""
    grid = grids.get(grid_id) if _is_int(grid_id) else None
    if grid is None:
        if len(grids) != 1:
            return None  # no grid, or several and no telling which: no number beats a wrong one
        (grid,) = grids.values()
    for slot in grid.get(start.isoweekday(), ()):
        slot_start = datetime.combine(start.date(), slot.start)
        slot_end = datetime.combine(start.date(), slot.end)
        if (slot_start < end and start < slot_end) or slot_start == start:
            return slot.unit
    return None


def _slot(raw: Any) -> tuple[int, Slot] | None:
    if not isinstance(raw, dict):
        return None
    day, unit = raw.get("day"), raw.get("unitOfDay")
    start, end = _clock(raw.get("start")), _clock(raw.get("end"))
    if not (_is_int(day) and 1 <= day <= 7 and _is_int(unit)) or start is None or end is None:
        return None
    return day, Slot(start, end, unit)


def _clock(value: Any) -> time | None:
    """Return a slot time: an integer such as 800 or 1345 (a "08:00" text is read too)."""
    if _is_int(value):
        hours, minutes = divmod(value, 100)
        return time(hours, minutes) if 0 <= hours < 24 and 0 <= minutes < 60 else None
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError:
            return None
    return None


_reported: set[str] = set()


def _report_unusable(what: str) -> None:
    if what not in _reported:
        _reported.add(what)
        log.warning("WebUntis time grid skipped (%s): units are counted instead", what)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
