"""Parse Affect IT WebUntis API answers; any unusable payload is one `SourceError`.

The shapes, assumed where the documentation is silent (see `signage.sources.affectit`):
- a category's sync list, the reference's "(Untis ID, timestamp) tuples" in any of the forms a
  JSON API may give them: objects with the id in `untis_id` (else `id`) and the timestamp in
  `last_update` (the field objects carry it in; else `timestamp`), or `[id, timestamp]` pairs,
  e.g. `[{"untis_id": 7, "last_update": "2026-11-23T08:00:00Z"}, …]` or `[[7, "…"], …]`;
- objects fetched by id: `[{"untis_id": 7, …}, …]`, named by their short `name` (a teacher's
  initials, "5a", "R101", "M"), else `longname`;
- a lesson (one timetable element): `untis_id`, `start` and `end` (UTC, timezone-aware ISO
  8601), `course` (the WebUntis lesson's id, or null), and lists of untis ids in `groups`,
  `teachers`, `locations` and `subjects` (each may be null or missing: no references).
Unknown fields are ignored. Times without an offset are read as UTC, as the API says it sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from signage.domain.model import Period, Ref
from signage.sources.base import SourceError

ID_FIELD = "untis_id"
STAMP_FIELD = "last_update"  # where objects carry their timestamp (the reference)
# A sync list entry's id and timestamp: the first field present wins.
SYNC_ID_FIELDS = (ID_FIELD, "id")
SYNC_STAMP_FIELDS = (STAMP_FIELD, "timestamp")
NAME_FIELDS = ("name", "longname")  # the first non-empty one names the object
COURSE_FIELD = "course"
# A lesson's reference lists, and the period categories they become.
LESSON_REFS = {"groups": "classes", "teachers": "teachers", "locations": "rooms",
               "subjects": "subjects"}


def parse_sync_list(payload: Any, category: str) -> dict[int, str]:
    """Return a sync list (objects or `[id, timestamp]` pairs) as {untis id: timestamp}."""
    if not isinstance(payload, list):
        raise SourceError(f"{category} sync list is {type(payload).__name__}, not a list")
    entries: dict[int, str] = {}
    for item in payload:
        if isinstance(item, list) and len(item) == 2:
            ref_id, stamp = item
        elif isinstance(item, dict):
            ref_id, stamp = _first(item, SYNC_ID_FIELDS), _first(item, SYNC_STAMP_FIELDS)
        else:
            ref_id = stamp = None
        if not _is_id(ref_id):
            raise SourceError(f"{category} sync list holds an entry without an {ID_FIELD}")
        if not isinstance(stamp, str) or not stamp:
            raise SourceError(f"{category} {ref_id} has no timestamp ({STAMP_FIELD}) in the "
                              "sync list")
        entries[ref_id] = stamp
    return entries


def _first(item: Mapping[str, Any], fields: tuple[str, ...]) -> Any:
    return next((item[f] for f in fields if item.get(f) is not None), None)


def parse_objects(payload: Any, category: str) -> dict[int, Mapping[str, Any]]:
    """Return objects fetched by id as {untis id: object}."""
    if not isinstance(payload, list):
        raise SourceError(f"{category} objects answer is {type(payload).__name__}, not a list")
    objects: dict[int, Mapping[str, Any]] = {}
    for item in payload:
        if not isinstance(item, dict) or not _is_id(item.get(ID_FIELD)):
            raise SourceError(f"{category} objects answer holds an object without an {ID_FIELD}")
        objects[item[ID_FIELD]] = item
    return objects


def name_of(item: Mapping[str, Any]) -> str:
    """Return an object's display name (its short name, else its long one, else its id)."""
    for field in NAME_FIELDS:
        value = item.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return f"#{item[ID_FIELD]}"


def parse_lesson(raw: Mapping[str, Any], tz: ZoneInfo) -> Period:
    """Return a lesson as a plain period: current state, every reference REGULAR."""
    where = f"lesson {raw[ID_FIELD]}"
    start = _school_local(raw.get("start"), f"{where} start", tz)
    end = _school_local(raw.get("end"), f"{where} end", tz)
    if end < start:
        raise SourceError(f"{where} ends before it starts")
    refs: dict[str, tuple[Ref, ...]] = {}
    for field, category in LESSON_REFS.items():
        ids = raw.get(field)
        if ids is None:
            continue
        if not isinstance(ids, list) or not all(_is_id(i) for i in ids):
            raise SourceError(f"{where} {field} is not a list of untis ids")
        if ids:  # reconcile.mark drops empty categories too: keep both forms equal
            refs[category] = tuple(Ref(i) for i in dict.fromkeys(ids))
    course = raw.get(COURSE_FIELD)
    stamp = _first(raw, SYNC_STAMP_FIELDS)
    return Period(
        id=raw[ID_FIELD],
        start=start,
        end=end,
        lesson_id=course if _is_id(course) else None,
        modified=_school_local(stamp, f"{where} {STAMP_FIELD}", tz) if stamp else None,
        refs=refs,
    )


def _school_local(value: Any, where: str, tz: ZoneInfo) -> datetime:
    """Return a UTC time of the API as a naive school-local one (what periods hold)."""
    if not isinstance(value, str):
        raise SourceError(f"{where} is missing or not a string")
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(tz).replace(tzinfo=None)
    except (ValueError, OverflowError):  # OverflowError: an offset pushing past year 1 or 9999
        raise SourceError(f"{where} is not a usable ISO 8601 time: {value[:40]!r}") from None


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
