"""Parse WebUntis v3 timetable answers into `Batch`es; any unusable payload is one `SourceError`.

Shape (v3 `GET …/timetable`): `headerData` (`created`, `school`, `filter`), `masterData` (per
category a list of `{id, externKey, displayName}`), `timetableData.periods` (`id`, `lessonId`,
`modified`, `start`, `end`, `type`, `status`, `substitutionText`, `relatedPeriod`, `exam`,
`timegridId`, `unitOfDay`, and per category a list of `{id, status}`) and
`timetableData.timeGrids` (see `untis_grid`). Unknown fields are ignored. Times are school-local
without an offset; a time that carries an offset anyway is converted to school-local.

Optional parts may be missing or null: `headerData`, `masterData` and each of its categories, a
period's reference lists, `exam`, `timeGrids`. An enumeration value the boards do not know (a new
period `type` or `status`, a new reference `status`) keeps the period as it came: the boards show
it as `changed` (`signage.domain.rows`), and each new value is logged once per process.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from signage.domain.model import (
    CATEGORIES,
    PERIOD_STATUSES,
    PERIOD_TYPES,
    REF_STATUSES,
    REGULAR,
    Period,
    Ref,
)
from signage.sources.base import Batch, SourceError
from signage.sources.untis_grid import Grids, parse_time_grids, unit_of

log = logging.getLogger(__name__)

# Keys differ in case between periods and master data (`studentgroups` vs `studentGroups`).
_KEY_ALIASES = {"studentGroups": "studentgroups"}
_REF_KEYS = {**{category: category for category in CATEGORIES}, **_KEY_ALIASES}
MAX_REPORTED = 100  # distinct unknown values remembered as logged (a broken upstream sends more)


def parse_timetable(payload: Any, tz: ZoneInfo) -> Batch:
    """Return the batch a v3 timetable answer holds; raise SourceError when it is unusable."""
    if not isinstance(payload, dict):
        raise SourceError(f"timetable answer is {type(payload).__name__}, not an object")
    data = payload.get("timetableData")
    if not isinstance(data, dict) or not isinstance(data.get("periods"), list):
        # "No changes" is an empty list; a missing list is a broken answer, not an empty day.
        raise SourceError("timetable answer has no timetableData.periods list")
    header = payload.get("headerData")
    header = {} if header is None else header
    if not isinstance(header, dict):
        raise SourceError("timetable answer's headerData is not an object")
    shared = _Shared(tz, parse_time_grids(data.get("timeGrids")))
    periods = [_parse_period(raw, shared) for raw in data["periods"]]
    created = header.get("created")
    school = header.get("school") if isinstance(header.get("school"), dict) else {}
    return Batch(
        periods=periods,
        names=_parse_master_data({} if (md := payload.get("masterData")) is None else md),
        school=str(school.get("name") or school.get("displayName") or ""),
        server_time=_local_to_utc(_parse_time(created, "headerData.created", tz), tz)
        if created
        else None,
    )


def page_limit(payload: Any) -> int:
    """Return the page size the upstream imposed on an answer (`headerData.filter.limit`), 0
    for none."""
    header = payload.get("headerData") if isinstance(payload, dict) else None
    found = header.get("filter") if isinstance(header, dict) else None
    limit = found.get("limit") if isinstance(found, dict) else None
    return limit if _is_id(limit) and limit > 0 else 0


def combine_pages(pages: Sequence[Batch]) -> Batch:
    """Return the pages of one paged answer as one batch, with the earliest of their clocks
    (changes made while paging are asked for again)."""
    periods: dict[int, Period] = {}
    names: dict[str, dict[int, str]] = {}
    for page in pages:
        periods.update((p.id, p) for p in page.periods)
        for category, table in page.names.items():
            names.setdefault(category, {}).update(table)
    school = next((page.school for page in pages if page.school), "")
    clock = min((page.server_time for page in pages if page.server_time), default=None)
    return Batch(periods=list(periods.values()), names=names, school=school, server_time=clock)


class _Shared:
    """What the periods of one answer share, read once: times, references, reference tuples.

    A full load repeats the same few hundred times and references tens of thousands of times;
    reading each once and sharing the objects makes the parse several times faster and the
    snapshot smaller. Only valid values are kept, so a hit needs no second check.
    """

    def __init__(self, tz: ZoneInfo, grids: Grids) -> None:
        self.tz = tz
        self.grids = grids
        self.units: dict[tuple[Any, datetime, datetime], int | None] = {}
        self.times: dict[str, datetime] = {}
        self.refs: dict[tuple[int, str], Ref] = {}
        self.tuples: dict[tuple[tuple[int, str], ...], tuple[Ref, ...]] = {}

    def time(self, value: Any, pid: int, field: str) -> datetime:
        if type(value) is str:
            parsed = self.times.get(value)
            if parsed is not None:
                return parsed
        parsed = self.times[value] = _parse_time(value, f"period {pid} {field}", self.tz)
        return parsed

    def unit(self, raw: dict[str, Any], start: datetime, end: datetime) -> int | None:
        unit = raw.get("unitOfDay")
        if _is_id(unit):
            return unit
        if not self.grids:
            return None
        grid_id = raw.get("timegridId")
        key = (grid_id if _is_id(grid_id) else None, start, end)
        if key not in self.units:
            self.units[key] = unit_of(key[0], start, end, self.grids)
        return self.units[key]

    def ref_tuple(self, value: Any, pid: int, key: str) -> tuple[Ref, ...]:
        if not isinstance(value, list):
            raise SourceError(f"period {pid} {key} is not a list")
        pairs = []
        for item in value:
            ref_id = item.get("id") if isinstance(item, dict) else None
            if type(ref_id) is not int:  # a bool is no id either
                raise SourceError(f"period {pid} {key} holds a reference without an id")
            status = item.get("status") or REGULAR
            if type(status) is not str:
                raise SourceError(f"period {pid} {key} has unknown reference status {status!r}")
            pairs.append((ref_id, status))
        found = tuple(pairs)
        refs = self.tuples.get(found)
        if refs is None:
            for _, status in found:
                if status not in REF_STATUSES:
                    report_unknown("reference status", status)
            refs = self.tuples[found] = tuple(self._ref(*pair) for pair in found)
        return refs

    def _ref(self, ref_id: int, status: str) -> Ref:
        ref = self.refs.get((ref_id, status))
        if ref is None:
            ref = self.refs[ref_id, status] = Ref(ref_id, status)
        return ref


def parse_deleted(payload: Any) -> frozenset[int]:
    """Return the ids of a v3 deleted-periods answer.

    The documentation says "an array of deleted period IDs"; whether bare or wrapped is open, so
    both are read: a bare array, or an object holding one (`deletedPeriods`, `periods`, `ids`,
    or whichever single list it holds). Each element is an id or an object with an `id`.
    """
    items = _wrapped_list(payload) if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise SourceError("deleted-periods answer is not a list of period ids")
    ids = set()
    for item in items:
        value = item.get("id") if isinstance(item, dict) else item
        if not _is_id(value):
            raise SourceError(f"deleted-periods answer holds {str(value)[:40]!r}, not a period id")
        ids.add(value)
    return frozenset(ids)


def _wrapped_list(payload: dict[str, Any]) -> Any:
    """Return the list an object wraps: under a known key, else its only list; None if unclear."""
    for key in ("deletedPeriods", "periods", "ids"):
        if isinstance(payload.get(key), list):
            return payload[key]
    lists = [value for value in payload.values() if isinstance(value, list)]
    return lists[0] if len(lists) == 1 else None


def report_unknown(what: str, value: str) -> None:
    """Log an enumeration value the boards do not know, once per value per process."""
    key = (what, value)
    if key in _reported:
        return
    if len(_reported) >= MAX_REPORTED:  # a flood of values: start over rather than fall silent
        _reported.clear()
    _reported.add(key)
    log.warning("WebUntis sent an unknown %s %r: the period is kept and shown as changed",
                what, value[:60])


_reported: set[tuple[str, str]] = set()


def _parse_master_data(master: Any) -> dict[str, dict[int, str]]:
    if not isinstance(master, dict):
        raise SourceError("timetable answer's masterData is not an object")
    names: dict[str, dict[int, str]] = {}
    for key, entries in master.items():
        category = _KEY_ALIASES.get(key, key)
        if category not in CATEGORIES or entries is None:
            continue
        if not isinstance(entries, list):
            raise SourceError(f"masterData.{key} is not a list")
        table = names.setdefault(category, {})
        for entry in entries:
            if not isinstance(entry, dict) or not _is_id(entry.get("id")):
                raise SourceError(f"masterData.{key} holds an entry without an id")
            name = entry.get("displayName") or entry.get("externKey") or f"#{entry['id']}"
            table[entry["id"]] = str(name)
    return names


def _parse_period(raw: Any, shared: _Shared) -> Period:
    pid = raw.get("id") if isinstance(raw, dict) else None
    if type(pid) is not int:  # a bool is no id either
        raise SourceError("a period has no numeric id")
    start = shared.time(raw.get("start"), pid, "start")
    end = shared.time(raw.get("end"), pid, "end")
    if end < start:
        raise SourceError(f"period {pid} ends before it starts")
    refs = {}
    for key, value in raw.items():
        category = _REF_KEYS.get(key)
        if category is not None and value is not None:
            refs[category] = shared.ref_tuple(value, pid, key)
    lesson, modified = raw.get("lessonId"), raw.get("modified")
    related, exam = raw.get("relatedPeriod"), raw.get("exam")
    kind = str(raw.get("type") or "NORMAL_TEACHING_PERIOD")
    status = str(raw.get("status") or REGULAR)
    if kind not in PERIOD_TYPES:
        report_unknown("period type", kind)
    if status not in PERIOD_STATUSES:
        report_unknown("period status", status)
    return Period(
        id=pid,
        start=start,
        end=end,
        lesson_id=lesson if type(lesson) is int else None,
        type=kind,
        status=status,
        modified=shared.time(modified, pid, "modified") if modified else None,
        text=str(raw.get("substitutionText") or ""),
        related_period=None if related is None else _related_id(related),
        exam=None if exam is None else _exam_key(exam),
        refs=refs,
        unit=shared.unit(raw, start, end),
    )


def _parse_time(value: Any, where: str, tz: ZoneInfo) -> datetime:
    if not isinstance(value, str):
        raise SourceError(f"{where} is missing or not a string")
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(tz).replace(tzinfo=None)
    except (ValueError, OverflowError):  # OverflowError: an offset pushing past year 1 or 9999
        raise SourceError(f"{where} is not a usable ISO 8601 time: {value[:40]!r}") from None
    return parsed


def _local_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    try:
        return local.replace(tzinfo=tz).astimezone(UTC)
    except OverflowError:
        raise SourceError(f"time {local.isoformat()} is out of range") from None


def _related_id(value: Any) -> int | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if _is_id(value) else None


def _exam_key(value: Any) -> str | None:
    # `exam` is an object (or an id) when the period is an exam; keep a stable key to compare.
    if value in (None, False, "", {}, []):
        return None
    if isinstance(value, dict):
        return str(value.get("id") or sorted(value.items()))
    return str(value)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
