"""WebUntis JSON-RPC time grid (`getTimegridUnits`): which unit of the day a period starts in.

Shape (python-webuntis' `timegrid_units`, no parameters): a list of `{day, timeUnits}`, `day` 1 =
Sunday, 2 = Monday … 7 = Saturday, `timeUnits` a list of `{name, startTime, endTime}` with HHMM
integer times (school-local). A period's unit is the 1-based position, by start time, of the unit
of its weekday that starts when it starts, else of the one its start falls within; none: None
(the boards count the day's start times instead). `name` is not used: it is a label ("1", "1.",
"A") the school chooses, not always a number.

The grid only numbers the boards' units ("3-4"), so an answer that cannot be read whole (a day
or unit of the wrong shape, a day twice) is dropped, never a failed cycle: a grid with a unit
left out would number every later unit wrong, and counting is better than a wrong number. The
refusal or the unusable answer is logged once per `TimeGrid` (the source's lifetime).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, time
from typing import Any

from signage.domain.model import Period

log = logging.getLogger(__name__)

METHOD = "getTimegridUnits"
# Untis weekday -> the units' (start, end), sorted by start.
Units = Mapping[int, tuple[tuple[time, time], ...]]


class UnusableGridError(ValueError):
    """A getTimegridUnits answer that cannot be read whole."""


class TimeGrid:
    """The school's time grid as getTimegridUnits last answered it (None: unknown)."""

    def __init__(self) -> None:
        self.units: Units | None = None
        self.loaded = False  # asked since the last full load (answered, refused or unusable)
        self._reported = False

    def forget(self) -> None:
        """Ask again on the next fetch (a full load)."""
        self.loaded = False

    def read(self, result: Any) -> None:
        """Keep the units of a getTimegridUnits answer; an unusable one is logged and dropped."""
        self.loaded = True
        try:
            self.units = parse_timegrid(result)
        except UnusableGridError as exc:
            self.refused(f"answered unusably ({exc})")

    def refused(self, why: str) -> None:
        """Count instead: the upstream refused the grid or answered unusably (logged once)."""
        self.loaded = True
        self.units = None
        if not self._reported:
            self._reported = True
            log.warning("jsonrpc: %s %s: lesson numbers are counted from the day's start times",
                        METHOD, why)

    def number(self, period: Period) -> Period:
        """Return `period` with the unit the grid gives its start (None without one)."""
        unit = unit_of(self.units, period.start) if self.units is not None else None
        return period if unit == period.unit else replace(period, unit=unit)


def parse_timegrid(result: Any) -> dict[int, tuple[tuple[time, time], ...]]:
    """Return the units of a getTimegridUnits answer by Untis weekday, sorted by start."""
    if not isinstance(result, list):
        raise UnusableGridError(f"{type(result).__name__}, not a list")
    days: dict[int, tuple[tuple[time, time], ...]] = {}
    for entry in result:
        day = entry.get("day") if isinstance(entry, dict) else None
        units = entry.get("timeUnits") if isinstance(entry, dict) else None
        if not _is_int(day) or not 1 <= day <= 7 or not isinstance(units, list):
            raise UnusableGridError("a day without day 1-7 and a timeUnits list")
        if day in days:
            raise UnusableGridError(f"day {day} twice")
        days[day] = tuple(sorted(_unit(raw, day) for raw in units))
    return days


def unit_of(units: Units, start: datetime) -> int | None:
    """Return the 1-based unit of `start`'s weekday that starts then, else that it falls in."""
    day = units.get(start.isoweekday() % 7 + 1, ())  # ISO: 1 = Monday; Untis: 1 = Sunday
    at = start.time()
    for number, (unit_start, _) in enumerate(day, start=1):
        if unit_start == at:
            return number
    return next((number for number, (unit_start, unit_end) in enumerate(day, start=1)
                 if unit_start <= at < unit_end), None)


def _unit(raw: Any, day: int) -> tuple[time, time]:
    if not isinstance(raw, dict):
        raise UnusableGridError(f"a unit of day {day} is no object")
    start, end = _clock(raw.get("startTime")), _clock(raw.get("endTime"))
    if start is None or end is None or end < start:
        raise UnusableGridError(f"a unit of day {day} without HHMM startTime and endTime")
    return start, end


def _clock(value: Any) -> time | None:
    if not _is_int(value) or not 0 <= value <= 2359 or value % 100 >= 60:
        return None
    return time(value // 100, value % 100)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
