"""The domain's data: frozen dataclasses, no I/O.

Times inside a `Period` are school-local and naive (as WebUntis v3 sends them); instants that
are compared across systems (`SyncStatus`) are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

# Statuses of a period (WebUntis v3's words, which every source maps to) ...
REGULAR = "REGULAR"  # also a reference's
CANCELLED = "CANCELLED"
ADDITIONAL = "ADDITIONAL"
CHANGED = "CHANGED"
PERIOD_STATUSES = frozenset({REGULAR, CANCELLED, ADDITIONAL, CHANGED})
# ... and of its references to classes, teachers, rooms, ...
ADDED = "ADDED"
REMOVED = "REMOVED"
REF_STATUSES = frozenset({REGULAR, ADDED, REMOVED})

# The categories a period references and master data names.
CATEGORIES = (
    "classes",
    "teachers",
    "rooms",
    "subjects",
    "students",
    "studentgroups",
    "departments",
    "resources",
)

# Period types the boards know (WebUntis v3's enumeration); a period of another type is shown
# as `changed`: it is news nobody planned for.
PERIOD_TYPES = frozenset({
    "NORMAL_TEACHING_PERIOD", "ADDITIONAL_PERIOD", "STAND_BY_PERIOD", "OFFICE_HOUR", "EXAM",
    "BREAK_SUPERVISION", "EVENT", "MEETING",
})



@dataclass(frozen=True)
class Ref:
    """One reference of a period to a class, teacher, room, ...: an id and its status."""

    id: int
    status: str = REGULAR


@dataclass(frozen=True)
class Period:
    """One timetable period as the upstream holds it."""

    id: int
    start: datetime
    end: datetime
    lesson_id: int | None = None
    type: str = "NORMAL_TEACHING_PERIOD"
    status: str = REGULAR
    modified: datetime | None = None
    text: str = ""
    related_period: int | None = None
    exam: str | None = None
    refs: Mapping[str, tuple[Ref, ...]] = field(default_factory=dict)
    # The note was there when the plan was first seen (a plain upstream's standing note, e.g.
    # "group 14 only"): shown, but not news. WebUntis' notes are always news.
    text_planned: bool = False
    # The unit of the day's time grid the period starts in (1-based as the upstream numbers
    # it), when the upstream says; None: boards count the day's start times instead.
    unit: int | None = None
    # The unit it ends in, when one period spans several (an upstream that merges a double
    # period itself, e.g. the WebUntis monitor's "3 - 4"); None: it ends in the unit it starts.
    end_unit: int | None = None

    def ref_list(self, category: str) -> tuple[Ref, ...]:
        """Return the references of one category (empty when the period has none)."""
        return self.refs.get(category, ())

    @property
    def day(self) -> date:
        """Return the school-local date the period starts on."""
        return self.start.date()


@dataclass(frozen=True)
class DayNotice:
    """What an upstream says about a day as a whole, beyond its periods: the absent teachers
    and classes and the affected classes of the WebUntis monitor's header (staff boards only)."""

    absent_teachers: tuple[tuple[str, str], ...] = ()  # (name, units missed: "1-4" or "")
    absent_classes: tuple[tuple[str, str], ...] = ()
    affected_classes: tuple[str, ...] = ()
    # Other teachers the day's list names (affected, or heading a group of rows): never shown,
    # known so that public boards can blank them in the upstream's messages.
    teachers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """The synced copy of the school's timetable window: what every view reads.

    `periods` holds the periods of the window only (from `window_start` to `window_end`).
    """

    window_start: date
    window_end: date
    periods: Mapping[int, Period]
    names: Mapping[str, Mapping[int, str]]
    school: str = ""
    messages: tuple[str, ...] = ()  # the upstream's own messages, for the boards' ticker
    notices: Mapping[date, DayNotice] = field(default_factory=dict)  # per day, when told

    def name_of(self, category: str, ref_id: int) -> str:
        """Return the display name of a referenced id, or a placeholder naming the id."""
        return self.names.get(category, {}).get(ref_id, f"#{ref_id}")

    @cached_property
    def last_end_by_day(self) -> Mapping[date, datetime]:
        """Return, per day with periods, when its last period ends (computed once per snapshot:
        every board request and kiosk poll asks)."""
        ends: dict[date, datetime] = {}
        for period in self.periods.values():  # every new snapshot: kept lean
            day, end = period.start.date(), period.end
            last = ends.get(day)
            if last is None or end > last:
                ends[day] = end
        return ends

    @cached_property
    def first_start_by_day(self) -> Mapping[date, datetime]:
        """Return, per day with periods, when its first period starts (computed once)."""
        starts: dict[date, datetime] = {}
        for period in self.periods.values():
            day, start = period.start.date(), period.start
            first = starts.get(day)
            if first is None or start < first:
                starts[day] = start
        return starts

    def covers(self, day: date) -> bool:
        """Tell whether `day` lies inside the synced window."""
        return self.window_start <= day <= self.window_end


@dataclass(frozen=True)
class SyncStatus:
    """What the sync process last did; lives next to the snapshot in the store."""

    source: str = ""
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    last_error: str | None = None
    cursor: datetime | None = None
    last_full_load: datetime | None = None
    failures: int = 0
    not_before: datetime | None = None
    auth_failures: int = 0  # refusals of our credentials in a row
    auth_paused_until: datetime | None = None  # no upstream request before this instant

    def auth_pause(self, now: datetime) -> datetime | None:
        """Return when the pause after refused credentials ends; None when none holds at `now`."""
        if self.auth_paused_until is not None and now < self.auth_paused_until:
            return self.auth_paused_until
        return None


@dataclass(frozen=True)
class CycleRecord:
    """One sync cycle as operators see it on /status and /metrics."""

    at: datetime  # aware UTC
    outcome: str  # "full", "delta" or "failed"
    changed: int  # periods upserted or deleted
    requests: Mapping[str, int]  # "<endpoint> <status>" -> count, e.g. "timetable 200"
    duration_s: float
    error: str | None = None


@dataclass(frozen=True)
class OtherSide:
    """The other side of a moved lesson: where a cancelled slot's lesson went ("to"), or where
    a new slot's lesson came from ("from")."""

    direction: str  # "to" or "from"
    day: date
    start: str  # HH:MM, school-local
    unit: int | None = None  # the unit of that day's time grid (1-based), when known


@dataclass(frozen=True)
class ChangeRow:
    """One line of a board: a change, possibly spanning a merged double period."""

    date: date
    start: str
    end: str
    classes: tuple[str, ...]
    subjects: tuple[str, ...]
    teachers: tuple[str, ...]
    original_teachers: tuple[str, ...]
    rooms: tuple[str, ...]
    original_rooms: tuple[str, ...]
    kinds: tuple[str, ...]
    text: str = ""
    units: tuple[int, int] | None = None  # first and last unit of the day's grid (1-based)
    other_side: OtherSide | None = None  # a moved lesson's other slot (boards only, not JSON)
    supervision: bool = False  # a break supervision (staff boards only, not JSON)

    @property
    def unit_label(self) -> str:
        """Return the units as a board shows them: "3" or "3-4" ("" when off the grid)."""
        if self.units is None:
            return ""
        first, last = self.units
        return str(first) if first == last else f"{first}-{last}"

    def to_json(self) -> dict:
        """Return the row as the public JSON contract (DESIGN.md §3) spells it."""
        return {
            "date": self.date.isoformat(),
            "start": self.start,
            "end": self.end,
            "classes": list(self.classes),
            "subjects": list(self.subjects),
            "teachers": list(self.teachers),
            "original_teachers": list(self.original_teachers),
            "rooms": list(self.rooms),
            "original_rooms": list(self.original_rooms),
            "kinds": list(self.kinds),
            "text": self.text,
        }
