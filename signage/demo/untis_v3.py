"""How the fake WebUntis v3 server (`signage.demo.server.FakeUntis`) reads parameters and
shapes answers, apart from its HTTP plumbing.

Parameters [spec]: `start`, `end` and `dateLastModifiedAfter` are date-times: `YYYY-MM-DDTHH:MM`
with optional seconds, a fraction and an offset (`Z`, `+01:00`). A bare date or anything else
is refused with a v3 validation error, as a server that types them date-time does. Without an
offset `start`/`end` are school-local and `dateLastModifiedAfter` is UTC. `limit` and `offset`
are integers from 0.

Answers: the deleted-periods body in each shape the client must read (`DELETED_SHAPES`; the
real one is [open]), a time grid (`timeGrids`, a period's `timegridId` and `unitOfDay`), and
empty optional lists sent as `[]`, `null` or left out (`EMPTY_LISTS`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

GRID_ID = 1
DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
DELETED_SHAPES: dict[str, Callable[[list[int]], Any]] = {
    "array": lambda ids: ids,
    "objects": lambda ids: [{"id": i} for i in ids],
    "deletedPeriods": lambda ids: {"deletedPeriods": ids},
    "periods": lambda ids: {"periods": ids},
    "ids": lambda ids: {"ids": ids},
    "wrapped objects": lambda ids: {"deletedPeriods": [{"id": i} for i in ids]},
    "another wrapper": lambda ids: {"count": len(ids), "removedPeriodIds": ids},
}
EMPTY_LISTS = ("list", "null", "omitted")
# A period's optional parts: its reference lists and its exam.
OPTIONAL_PERIOD_KEYS = ("classes", "teachers", "rooms", "subjects", "students", "studentgroups",
                        "departments", "resources", "exam")


@dataclass(frozen=True)
class Query:
    """The parameters of one `GET …/timetable` or `…/deleted-periods`."""

    start: datetime | None  # school-local, naive
    end: datetime | None
    since: datetime | None  # aware UTC
    limit: int
    offset: int


class InvalidQuery(ValueError):
    """Parameters the server refuses; `errors` as v3's `validationErrors[]`."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(e["errorMessage"] for e in errors))
        self.errors = errors


def read_query(query: dict[str, list[str]], tz: ZoneInfo, timetable: bool) -> Query:
    """Return a request's parameters; raise InvalidQuery naming every one that is not valid.

    The timetable needs `start` and `end`; deleted-periods needs `dateLastModifiedAfter`.
    """
    errors: list[dict[str, Any]] = []
    start = _date_time(query, "start", tz, errors, required=timetable)
    end = _date_time(query, "end", tz, errors, required=timetable)
    since = _date_time(query, "dateLastModifiedAfter", UTC, errors, required=not timetable)
    limit = _count(query, "limit", errors)
    offset = _count(query, "offset", errors)
    if start is not None and end is not None and end < start:
        errors.append(_invalid("end", "after start", "end lies before start"))
    if errors:
        raise InvalidQuery(errors)
    return Query(start, end, None if since is None else since.replace(tzinfo=UTC), limit, offset)


class Spans:
    """Periods' school-local (start, end), each text read once (a big school repeats a few
    hundred times in thousands of periods, and every request filters them all)."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._read: dict[tuple[Any, Any], tuple[datetime, datetime] | None] = {}

    def __call__(self, period: dict[str, Any]) -> tuple[datetime, datetime] | None:
        """Return a period's span; None when its times are no times (served as they are, for
        clients to cope with)."""
        key = (period.get("start"), period.get("end"))
        if key not in self._read:
            try:
                self._read[key] = (self._local(key[0]), self._local(key[1]))
            except (TypeError, ValueError):
                self._read[key] = None
        return self._read[key]

    def _local(self, value: str) -> datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:  # an offset: school-local, as the others
            parsed = parsed.astimezone(self.tz).replace(tzinfo=None)
        return parsed


Found = list[tuple[tuple[datetime, datetime] | None, int]]  # (span, period id)


def page_of(found: Found, asked: Query, page_limit: int) -> tuple[Found, int]:
    """Return the page asked for and the page size in force: the periods sorted "starting with
    the earliest period" [spec], `offset` of them skipped, at most `limit` (or the server's
    `page_limit`, whichever is smaller; 0 is no limit)."""
    found = sorted(found, key=lambda item: (item[0] or (datetime.min, datetime.min), item[1]))
    limit = asked.limit
    if page_limit > 0:
        limit = min(limit, page_limit) if limit else page_limit
    return (found[asked.offset:asked.offset + limit] if limit else found[asked.offset:]), limit


def header_filter(query: dict[str, list[str]], limit: int, offset: int) -> dict[str, Any]:
    """Return `headerData.filter`: the range asked for, the page size and offset in force."""
    found: dict[str, Any] = {"start": query["start"][0], "end": query["end"][0],
                             "limit": limit, "offset": offset}
    if "dateLastModifiedAfter" in query:
        found["filterByChanges"] = {"dateLastModifiedAfter": query["dateLastModifiedAfter"][0]}
    return found


def time_grids(bells: Sequence[tuple[time, time]] | None) -> list[dict[str, Any]]:
    """Return one time grid, Monday to Friday, its units numbered from 1 in `bells` order (no
    grid without bells)."""
    if bells is None:
        return []
    slots = [{"day": day, "unitOfDay": unit, "start": _hhmm(start), "end": _hhmm(end),
              "name": f"{unit}. Stunde"}
             for day in range(1, 6) for unit, (start, end) in enumerate(bells, start=1)]
    return [{"id": GRID_ID, "timeGridSlots": slots}]


def with_grid(period: dict[str, Any], span: tuple[datetime, datetime] | None,
              bells: Sequence[tuple[time, time]] | None, unit_of_day: bool) -> dict[str, Any]:
    """Return a period as served: naming the time grid when there is one, and with
    `unitOfDay` (the first slot it overlaps) when `unit_of_day` asks and it has none."""
    if bells is None:
        return period
    served = dict(period, timegridId=GRID_ID)
    if unit_of_day and "unitOfDay" not in period and span is not None:
        unit = _grid_unit(bells, *span)
        if unit is not None:
            served["unitOfDay"] = unit
    return served


def shape_empty(body: dict[str, Any], empty: str) -> dict[str, Any]:
    """Return a timetable answer with its empty optional lists (master data categories, a
    period's references, its exam, time grids) sent as `empty` says: `list` as they are, `null`,
    or `omitted`. The periods are copied: the stored ones stay as they are."""
    if empty not in EMPTY_LISTS:
        raise ValueError(f"empty_lists must be one of {EMPTY_LISTS}, not {empty!r}")
    if empty == "list":
        return body

    def shaped(container: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
        out = dict(container)
        for key in keys:
            if key in out and not out[key]:
                if empty == "null":
                    out[key] = None
                else:
                    del out[key]
            elif key not in out and empty == "null":
                out[key] = None
        return out

    data = shaped(body["timetableData"], ["timeGrids"])
    data["periods"] = [shaped(p, OPTIONAL_PERIOD_KEYS) for p in data["periods"]]
    return dict(body, masterData=shaped(body["masterData"], list(body["masterData"])),
                timetableData=data)


def _grid_unit(bells: Sequence[tuple[time, time]], start: datetime, end: datetime) -> int | None:
    if start.isoweekday() > 5:
        return None
    day = start.date()
    for unit, (first, last) in enumerate(bells, start=1):
        if datetime.combine(day, first) < end and start < datetime.combine(day, last):
            return unit
    return None


def _date_time(query: dict[str, list[str]], name: str, tz: tzinfo,
               errors: list[dict[str, Any]], required: bool) -> datetime | None:
    values = query.get(name)
    if not values:
        if required:
            errors.append(_invalid(name, "required", f"{name} is required"))
        return None
    value = values[0]
    if DATE_TIME.fullmatch(value):
        try:
            parsed = datetime.fromisoformat(value.upper())
        except ValueError:  # a month 13, an hour 25
            pass
        else:
            # Without an offset: school-local for start/end, UTC for the cursor (tz says which).
            if parsed.tzinfo is None:
                return parsed
            return parsed.astimezone(tz).replace(tzinfo=None)
    errors.append(_invalid(name, "ISO 8601 date-time",
                           f"{name} must be an ISO 8601 date-time, got {value[:40]!r}"))
    return None


def _count(query: dict[str, list[str]], name: str, errors: list[dict[str, Any]]) -> int:
    values = query.get(name)
    if not values:
        return 0
    if values[0].isascii() and values[0].isdigit():
        return int(values[0])
    errors.append(_invalid(name, ">= 0", f"{name} must be an integer from 0"))
    return 0


def _invalid(path: str, constraint: str, message: str) -> dict[str, Any]:
    return {"errorKey": "VALIDATION_ERROR", "path": path, "constraintValue": constraint,
            "errorMessage": message, "index": None}


def _hhmm(value: time) -> int:
    return value.hour * 100 + value.minute
