"""Parse UniTime 4.4 answers (api/roles, api/rooms, api/events); an unusable payload is one
`SourceError` naming what is wrong. Unknown fields are ignored.

The mapping (see `signage.sources.unitime` for what is confirmed and what is assumed):
- one meeting is one period: id = `meetingId`, lesson id = the event's `eventId`; times from
  `startTime`/`stopTime` (ms since the epoch, UTC) in the school's zone, else from the date part
  of `meetingDate` plus `startSlot`/`endSlot` (5-minute slots from midnight) and
  `startOffset`/`endOffset` minutes;
- classes: the event's `eventName` ("PHYS 101 Lec 2": the section whose board a student reads);
  subjects: its `courseNames` (else the event name); teachers: its `instructors` (`formattedName`,
  else last and first name), never the `contact` (who booked the room); rooms: the meeting's
  `location` (`resourceId`, `resourceName`). Names without a numeric id get `name_id(name)`;
- `eventType` FinalExam/MidtermExam is an EXAM, Class/Course a NORMAL_TEACHING_PERIOD,
  Special/Unavailabile an EVENT; `approvalStatus` Approved, Pending (as if approved: a board
  cannot say "maybe") or none is shown, Cancelled is CANCELLED, Rejected and Deleted leave;
- a status or type the reference does not list (a newer UniTime) keeps its meeting, CHANGED,
  logged once per value (per `unknown` set; the source keeps one); `meetings`, `instructors`,
  `courseNames` and a meeting's `location` may be null or missing;
- a room change: an event's meetings at the same slot (weekday, start and end time) that mostly
  use one location (a unique most common one; a tie says nothing) plan that room, and a meeting
  elsewhere is CHANGED with the planned room REMOVED and its own ADDED.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from signage.domain.model import ADDED, CHANGED, REGULAR, REMOVED, Period, Ref
from signage.domain.model import CANCELLED as CANCELLED_STATUS
from signage.sources.base import SourceError

log = logging.getLogger(__name__)

SLOT_MINUTES = 5
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES
EXAM_TYPES = frozenset({"FinalExam", "MidtermExam"})
TEACHING_TYPES = frozenset({"Class", "Course"})
# UniTime's EventType enum, by name (its source spells the last one "Unavailabile").
EVENT_TYPES = frozenset({*EXAM_TYPES, *TEACHING_TYPES, "Special", "Unavailabile", "Unavailable"})
SHOWN = frozenset({"Approved", "Pending"})
CANCELLED = "Cancelled"
GONE = frozenset({"Rejected", "Deleted"})
MINUTES_PER_DAY = 24 * 60
TABLES = ("classes", "teachers", "rooms", "subjects")


@dataclass(frozen=True)
class Term:
    """An academic session as api/roles lists it."""

    reference: str
    begin: date  # classes
    end: date
    event_begin: date  # events (a wider range)
    event_end: date


@dataclass(frozen=True)
class Meeting:
    """One meeting of an event, with what the event tells about it."""

    id: int
    event_id: int | None
    event_type: str
    event_name: str
    courses: tuple[str, ...]
    instructors: tuple[str, ...]
    room_id: int | None
    room_name: str | None
    start: datetime  # school-local, naive
    end: datetime
    cancelled: bool
    odd: bool = False  # an approvalStatus or eventType the reference does not list


def name_id(name: str) -> int:
    """Return a stable id for a name that has none (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=6).digest(), "big")


def parse_terms(payload: Any) -> list[Term]:
    """Return the academic sessions of an api/roles answer."""
    terms: dict[str, Term] = {}
    for item in _objects(payload, "roles answer"):
        reference = item.get("reference")
        if not isinstance(reference, str) or not reference:
            raise SourceError("roles answer holds a session without a reference")
        begin, end, event_begin, event_end = (
            _day(item.get(field) or item.get(fallback), f"session {reference} {field}")
            for field, fallback in (("beginDate", "beginDate"), ("endDate", "endDate"),
                                    ("eventBeginDate", "beginDate"), ("eventEndDate", "endDate")))
        if end < begin:
            raise SourceError(f"session {reference} ends before it begins")
        terms[reference] = Term(reference, begin, end, min(begin, event_begin),
                                max(end, event_end))
    return list(terms.values())


def choose_term(terms: Iterable[Term], day: date) -> Term:
    """Return the session whose class dates cover `day`, else the one whose event dates do
    (the nearest classes first); none or several is an error asking for the setting."""
    terms = list(terms)
    chosen = [t for t in terms if t.begin <= day <= t.end]
    if not chosen:
        chosen = [t for t in terms if t.event_begin <= day <= t.event_end]

        def distance(t: Term) -> int:
            return max((t.begin - day).days, (day - t.end).days, 0)

        nearest = min((distance(t) for t in chosen), default=0)
        chosen = [t for t in chosen if distance(t) == nearest]
    if len(chosen) == 1:
        return chosen[0]
    if not chosen:
        raise SourceError(f"no academic session in api/roles covers {day}; "
                          "set SIGNAGE_UNITIME_TERM to the session's reference")
    listed = ", ".join(sorted(t.reference for t in chosen))
    raise SourceError(f"several academic sessions cover {day} ({listed}); "
                      "set SIGNAGE_UNITIME_TERM to one of them")


def parse_rooms(payload: Any) -> dict[int, str]:
    """Return the rooms of an api/rooms answer as {uniqueId: name as events show it}."""
    rooms: dict[int, str] = {}
    for item in _objects(payload, "rooms answer"):
        room_id = item.get("uniqueId")
        if not _is_id(room_id):
            raise SourceError("rooms answer holds a room without a uniqueId")
        building = item.get("building")
        prefix = _text(building.get("abbreviation")) if isinstance(building, dict) else ""
        name = _text(item.get("name"))
        rooms[room_id] = _text(item.get("label")) or (f"{prefix} {name}".strip() if name else "")
        if not rooms[room_id]:
            raise SourceError(f"room {room_id} has no name")
    return rooms


def parse_events(payload: Any, tz: ZoneInfo, unknown: set[str] | None = None) -> list[Meeting]:
    """Return the shown and cancelled meetings of an api/events answer (rejected and deleted
    ones are left out); statuses and types not seen before (not in `unknown`) are logged and
    added to it."""
    seen = set() if unknown is None else unknown
    meetings = []
    for event in _objects(payload, "events answer"):
        event_id = event.get("eventId")
        if event_id is not None and not _is_id(event_id):
            raise SourceError("events answer holds an eventId that is no integer")
        where = f"event {event_id}"
        name, kind = _text(event.get("eventName")), event.get("eventType")
        if not name:
            raise SourceError(f"{where} has no eventName")
        if kind is None:
            raise SourceError(f"{where} has no eventType")
        odd = _odd(seen, "eventType", kind, EVENT_TYPES, where)
        people = (_person(p, where) for p in _list(event.get("instructors") or [],
                                                  f"{where} instructors"))
        shared = Meeting(0, event_id, str(kind)[:40], name,
                         _strings(event.get("courseNames"), f"{where} courseNames"),
                         tuple(p for p in people if p), None, None, datetime.min, datetime.min,
                         cancelled=False, odd=odd)
        found = (_meeting(raw, tz, shared, seen) for raw in _list(event.get("meetings") or [],
                                                             f"{where} meetings"))
        meetings += [m for m in found if m is not None]
    return meetings


def to_periods(meetings: Iterable[Meeting], start: date, end: date,
               rooms: set[int] | None = None) -> tuple[list[Period], dict[str, dict[int, str]]]:
    """Return the periods from `start` to `end` and the names they reference; with `rooms`,
    only those held (or planned) in one of them. Meetings outside the range still tell where
    an event's slot is planned."""
    meetings = sorted({m.id: m for m in meetings}.values(), key=lambda m: m.id)
    plans = _planned_rooms(meetings)
    names: dict[str, dict[int, str]] = {table: {} for table in TABLES}
    periods = []
    for meeting in meetings:
        plan = plans.get(meeting.id)
        if not start <= meeting.start.date() <= end:
            continue
        if rooms is not None and meeting.room_id not in rooms and (
                plan is None or plan[0] not in rooms):
            continue
        periods.append(_period(meeting, plan, names))
    return periods, {table: ids for table, ids in names.items() if ids}


def _period(meeting: Meeting, plan: tuple[int, str] | None,
            names: dict[str, dict[int, str]]) -> Period:
    def refs(table: str, labels: Iterable[str]) -> tuple[Ref, ...]:
        ids = {name_id(label): label for label in labels}
        names[table].update(ids)
        return tuple(Ref(i) for i in sorted(ids))  # upstream order may vary between answers

    found = {"classes": refs("classes", [meeting.event_name]),
             "subjects": refs("subjects", meeting.courses or (meeting.event_name,)),
             "teachers": refs("teachers", meeting.instructors)}
    if meeting.room_id is not None and meeting.room_name is not None:  # set together
        names["rooms"][meeting.room_id] = meeting.room_name
        found["rooms"] = (Ref(meeting.room_id),)
        if plan is not None:
            names["rooms"].setdefault(plan[0], plan[1])
            found["rooms"] = (Ref(plan[0], REMOVED), Ref(meeting.room_id, ADDED))
    exam = meeting.event_type in EXAM_TYPES
    kind = "EXAM" if exam else "NORMAL_TEACHING_PERIOD" \
        if meeting.event_type in TEACHING_TYPES else "EVENT"
    status = CANCELLED_STATUS if meeting.cancelled else CHANGED if plan or meeting.odd else REGULAR
    return Period(meeting.id, meeting.start, meeting.end, lesson_id=meeting.event_id, type=kind,
                  status=status, exam=meeting.event_type if exam else None,
                  refs={table: ids for table, ids in found.items() if ids})


def _planned_rooms(meetings: list[Meeting]) -> dict[int, tuple[int, str]]:
    """Return {meeting id: (planned room id, its name)} for the meetings held elsewhere than
    their event's slot mostly is."""
    slots: dict[tuple, list[Meeting]] = defaultdict(list)
    for m in meetings:
        if m.event_id is not None and m.room_id is not None:
            slots[(m.event_id, m.start.weekday(), m.start.time(), m.end.time())].append(m)
    plans = {}
    for group in slots.values():
        ranked = Counter(m.room_id for m in group).most_common(2)
        if len(ranked) < 2 or ranked[0][1] == ranked[1][1]:
            continue  # one room only, or a tie: nothing tells the plan
        planned = ranked[0][0]
        name = next(m.room_name or "" for m in group if m.room_id == planned)
        for m in group:
            if m.room_id != planned and not m.cancelled:
                plans[m.id] = (planned, name)
    return plans


def _meeting(raw: Any, tz: ZoneInfo, shared: Meeting, unknown: set[str]) -> Meeting | None:
    """Return a meeting with what its event tells (`shared`), None when it is rejected or
    deleted."""
    if not isinstance(raw, dict) or not _is_id(raw.get("meetingId")):
        raise SourceError("events answer holds a meeting without a meetingId")
    where = f"meeting {raw['meetingId']}"
    status = raw.get("approvalStatus") or "Approved"
    if isinstance(status, str) and status in GONE:
        return None
    odd = _odd(unknown, "approvalStatus", status, {*SHOWN, CANCELLED}, where)
    if _is_id(raw.get("startTime")) and _is_id(raw.get("stopTime")):
        start, end = (_instant(raw[f], f"{where} {f}", tz) for f in ("startTime", "stopTime"))
    else:
        start, end = _slots(raw, where)
    if end < start:
        raise SourceError(f"{where} ends before it starts")
    location = raw.get("location")
    room = _text(location.get("resourceName")) if isinstance(location, dict) else ""
    if location is not None and not room:
        raise SourceError(f"{where} location has no resourceName")
    room_id = location.get("resourceId") if room else None
    return replace(shared, id=raw["meetingId"], room_name=room or None,
                   room_id=room_id if _is_id(room_id) else name_id(room) if room else None,
                   start=start, end=end, cancelled=status == CANCELLED, odd=shared.odd or odd)


def _odd(unknown: set[str], field: str, value: Any, known: Iterable[str], where: str) -> bool:
    """Tell whether an enum-like field holds a value not `known`; log it when first seen."""
    if isinstance(value, str) and value in known:
        return False
    shown = repr(value)[:40]
    if f"{field} {shown}" not in unknown:
        unknown.add(f"{field} {shown}")
        log.warning("unitime: unknown %s %s (first in %s): its meetings are shown as changes",
                    field, shown, where)
    return True


def _slots(raw: Mapping[str, Any], where: str) -> tuple[datetime, datetime]:
    fields = ("startSlot", "endSlot")
    if not isinstance(raw.get("meetingDate"), str) or not all(_is_id(raw.get(f)) for f in fields):
        raise SourceError(f"{where} has neither startTime/stopTime nor meetingDate and slots")
    # UniTime writes the server's local midnight with a literal Z: the date part is the day.
    midnight = datetime.combine(_day(raw["meetingDate"][:10], f"{where} meetingDate"),
                                clock_time())
    first, last = (raw.get(f) or 0 for f in ("startOffset", "endOffset"))
    if not _is_id(first) or not _is_id(last):
        raise SourceError(f"{where} has offsets that are no integers")
    if not all(0 <= raw[f] <= SLOTS_PER_DAY for f in fields) or not all(
            abs(offset) <= MINUTES_PER_DAY for offset in (first, last)):
        raise SourceError(f"{where} has slots or offsets outside a day")
    return (midnight + timedelta(minutes=SLOT_MINUTES * raw["startSlot"] + first),
            midnight + timedelta(minutes=SLOT_MINUTES * raw["endSlot"] + last))


def _instant(ms: int, where: str, tz: ZoneInfo) -> datetime:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        raise SourceError(f"{where} is no usable time") from None


def _person(raw: Any, where: str) -> str:
    if not isinstance(raw, dict):
        raise SourceError(f"{where} instructors holds something that is no person")
    return _text(raw.get("formattedName")) or ", ".join(
        part for part in (_text(raw.get("lastName")), _text(raw.get("firstName"))) if part)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SourceError(f"{where} is not a list of names")
    return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))


def _list(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise SourceError(f"{what} is {type(value).__name__}, not a list")
    return value


def _objects(value: Any, what: str) -> list[dict]:
    if not all(isinstance(item, dict) for item in _list(value, what)):
        raise SourceError(f"{what} holds an entry that is no object")
    return value


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _day(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise SourceError(f"{where} is not a date (YYYY-MM-DD)") from None


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
