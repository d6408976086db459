"""Pure domain rules: which periods are changes, how double periods merge, what a board shows.

Contract: `change_rows(snapshot, day)` returns the day's change rows (DESIGN.md §3) sorted by
time; regular, unchanged periods are not rows. Double periods merge by the WebUntis v3
equivalence rule (DESIGN.md §4): same lessonId, type, status, exam and the same references, in
adjacent units of the day's time grid (a break between them is allowed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from signage.domain.model import (
    ADDED,
    CATEGORIES,
    PERIOD_TYPES,
    REGULAR,
    REMOVED,
    ChangeRow,
    Period,
    Snapshot,
)

# Categories whose names have boards, and the query parameter that filters by them.
BOARD_CATEGORIES = {"class": "classes", "room": "rooms", "teacher": "teachers"}
SHORT_NAME_CHARS = 5  # names shorter than this are short names ("MÜL"), matched exactly

# Periods that sit in the units of the day's time grid; a break supervision or a meeting may
# start in a break, and must not split the double period around it.
GRID_TYPES = frozenset({"NORMAL_TEACHING_PERIOD", "ADDITIONAL_PERIOD", "EXAM", "STAND_BY_PERIOD"})
_EQUIVALENCE_CATEGORIES = CATEGORIES  # v3: classes, departments, resources, studentGroups, ...


def change_rows(snapshot: Snapshot, day: date) -> list[ChangeRow]:
    """Return every change row of `day`, double periods merged, sorted by time and class."""
    return [row for row in day_rows(snapshot, day) if row.kinds]


def day_rows(snapshot: Snapshot, day: date) -> list[ChangeRow]:
    """Return every period of `day` as a row (regular ones with no kinds), double periods
    merged, sorted by time and class; rows carry their units of the day's time grid."""
    periods = sorted(
        (p for p in snapshot.periods.values() if p.day == day), key=lambda p: (p.start, p.id)
    )
    grid = sorted({p.start for p in periods if p.type in GRID_TYPES})
    unit_of = _units(periods, grid)
    rows = []
    for group in _merge_groups(periods, grid):
        row = classify(group, snapshot, include_regular=True)
        first, last = unit_of(group[0]), unit_of(group[-1])
        if row is not None and first is not None and last is not None:
            row = replace(row, units=(first, last))
        rows.append(row)
    rows.sort(key=lambda r: (r.start, r.end, [natural_key(c) for c in r.classes]))
    return rows


def _units(periods: Sequence[Period], grid: Sequence[datetime]) -> Callable[[Period], int | None]:
    """Return how to number a period's unit: as the upstream's time grid does when the day's
    periods carry units, else by counting the day's start times."""
    upstream = {p.start: p.unit for p in periods if p.unit is not None}
    if upstream:
        return lambda p: p.unit if p.unit is not None else upstream.get(p.start)
    counted = {start: number for number, start in enumerate(grid, start=1)}
    return lambda p: counted.get(p.start)


def classify(
    group: Sequence[Period], snapshot: Snapshot, include_regular: bool = False
) -> ChangeRow | None:
    """Return the row of one period (or merged double period); None when unchanged, unless
    `include_regular` asks for regular periods too (as rows without kinds)."""
    first, last = group[0], group[-1]
    kinds = _kinds(group)
    if not kinds and not include_regular:
        return None

    def names(category: str, removed: bool = False) -> tuple[str, ...]:
        # Current is anything not REMOVED: a reference status the boards do not know yet still
        # puts the row on that class's (room's, teacher's) board.
        return tuple(snapshot.name_of(category, r.id) for r in first.ref_list(category)
                     if (r.status == REMOVED) == removed)

    return ChangeRow(
        date=first.day,
        start=first.start.strftime("%H:%M"),
        end=last.end.strftime("%H:%M"),
        classes=names("classes"),
        subjects=names("subjects"),
        teachers=names("teachers"),
        original_teachers=names("teachers", removed=True),
        rooms=names("rooms"),
        original_rooms=names("rooms", removed=True),
        kinds=kinds,
        text=_join_texts(p.text for p in group),
    )


def _kinds(group: Sequence[Period]) -> tuple[str, ...]:
    # Merged halves share status, type, exam and references; notes and links may differ.
    period = group[0]
    kinds = []
    additional = period.status == "ADDITIONAL" or period.type == "ADDITIONAL_PERIOD"
    if period.status == "CANCELLED":
        kinds.append("cancelled")
    elif additional:
        kinds.append("additional")
    if period.type == "EXAM" or period.exam:
        kinds.append("exam")
    if any(p.related_period is not None for p in group):
        kinds.append("moved")
    if period.status != "CANCELLED" and not additional:
        # An additional period's references are all new, so it is not also a substitution.
        if _replaced(period, "teachers"):
            kinds.append("substitution")
        if _replaced(period, "rooms"):
            kinds.append("room_change")
    if kinds:
        return tuple(kinds)
    touched = any(r.status != REGULAR for refs in period.refs.values() for r in refs)
    unknown = period.type not in PERIOD_TYPES
    if (period.status != REGULAR or unknown or touched
            or any(p.text and not p.text_planned for p in group)):
        return ("changed",)
    return ()


def _replaced(period: Period, category: str) -> bool:
    statuses = {r.status for r in period.ref_list(category)}
    return ADDED in statuses and REMOVED in statuses


def _join_texts(texts: Iterable[str]) -> str:
    unique: list[str] = []
    for text in texts:
        if text and text not in unique:
            unique.append(text)
    return " / ".join(unique)


def _equivalence_key(period: Period) -> tuple:
    refs = tuple(
        tuple(sorted((r.id, r.status) for r in period.ref_list(c))) for c in _EQUIVALENCE_CATEGORIES
    )
    return (period.lesson_id, period.type, period.status, period.exam, refs)


def _merge_groups(periods: Sequence[Period], grid: Sequence[datetime]) -> list[list[Period]]:
    """Group equivalent periods in adjacent grid units; `periods` sorted by start."""
    groups: list[list[Period]] = []
    open_group: dict[tuple, list[Period]] = {}
    for period in periods:
        key = _equivalence_key(period)
        group = open_group.get(key) if period.lesson_id is not None else None
        if group is not None and _adjacent(group[-1], period, grid):
            group.append(period)
            continue
        group = [period]
        groups.append(group)
        open_group[key] = group
    return groups


def _adjacent(before: Period, after: Period, grid: Sequence[datetime]) -> bool:
    """Tell whether `after` sits in the unit right after `before` (a break may lie between)."""
    if after.start < before.end:
        return False
    return not any(before.end <= unit < after.start for unit in grid)


def rows_for(rows: Iterable[ChangeRow], category: str, name: str) -> list[ChangeRow]:
    """Return the rows that concern one class, room or teacher (also those moved away from it)."""
    if category == "classes":
        return [r for r in rows if name in r.classes]
    if category == "rooms":
        return [r for r in rows if name in r.rooms or name in r.original_rooms]
    if category == "teachers":
        return [r for r in rows if name in r.teachers or name in r.original_teachers]
    raise ValueError(f"no boards for {category!r}")


def board_names(snapshot: Snapshot, category: str) -> list[str]:
    """Return the names that have boards in a category, in natural order (5a before 10a)."""
    return sorted(set(snapshot.names.get(category, {}).values()), key=natural_key)


def find_name(snapshot: Snapshot, category: str, wanted: str) -> str | None:
    """Return the board name matching `wanted` (case-insensitive), or None when unknown."""
    for name in board_names(snapshot, category):
        if name.casefold() == wanted.casefold():
            return name
    return None


def for_public(rows: Iterable[ChangeRow], names: Iterable[str] = (), *,
               show_teachers: bool = False, show_notes: bool = False) -> list[ChangeRow]:
    """Return the rows as a public screen may show them.

    Teacher names go unless the school opted in to showing them (its teachers' short names);
    planners' notes go unless it opted in to notes, and then any of `names` in a note
    ("Vertretung durch MÜL") becomes "…" unless teacher names may show anyway.
    """
    patterns = _name_patterns(names)

    def note(text: str) -> str:
        if not show_notes:
            return ""
        if show_teachers:
            return text
        for pattern in patterns:
            text = pattern.sub("…", text)
        return text

    if show_teachers:
        return [replace(r, text=note(r.text)) for r in rows]
    return [replace(r, teachers=(), original_teachers=(), text=note(r.text)) for r in rows]


def _name_patterns(names: Iterable[str]) -> list[re.Pattern[str]]:
    """Return patterns that find teacher names in a note: a short name ("DIE", "MÜL") exactly,
    as it is also a word ("die"); a longer one in any case and with a genitive s
    ("Zwackelmanns Kurs")."""
    words = sorted({n.strip() for n in names if n.strip()}, key=len, reverse=True)
    short = [w for w in words if len(w) < SHORT_NAME_CHARS]
    long_ = [w for w in words if len(w) >= SHORT_NAME_CHARS]
    patterns = []
    if long_:
        alternatives = "|".join(map(re.escape, long_))
        patterns.append(re.compile(rf"(?<![^\W_])(?:{alternatives})(?:'?s)?(?![^\W_])",
                                   re.IGNORECASE))
    if short:
        alternatives = "|".join(map(re.escape, short))
        patterns.append(re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])"))
    return patterns


def natural_key(name: str) -> tuple:
    """Return a sort key that orders embedded numbers by value ("5a" < "10a")."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
        for part in re.split(r"(\d+)", name)
        if part
    )


def has_periods(snapshot: Snapshot | None, day: date) -> bool:
    """Tell whether the snapshot holds any period on `day` (a school day)."""
    return snapshot is not None and day in snapshot.last_end_by_day


def in_school_hours(
    local_now: datetime, hours: tuple[time, time], snapshot: Snapshot | None
) -> bool:
    """Tell whether `local_now` (school-local) lies in school hours on a day with periods.

    Without a snapshot yet, any time within the hours counts: better to poll than to wait.
    """
    begin, end = hours
    if not begin <= local_now.time() < end:
        return False
    return snapshot is None or has_periods(snapshot, local_now.date())


def display_day(snapshot: Snapshot | None, local_now: datetime, switch_at: time) -> date:
    """Return the day boards show: today, or the next school day after `switch_at` or after
    today's last period; days without periods (weekends, holidays) are skipped within the
    window. `local_now` is school-local."""
    today = local_now.date()
    if snapshot is None:
        return today
    last_end = snapshot.last_end_by_day.get(today)
    over = local_now.time() >= switch_at or (last_end is not None and local_now >= last_end)
    day = today + timedelta(days=1) if over or last_end is None else today
    while day <= snapshot.window_end:
        if has_periods(snapshot, day):
            return day
        day += timedelta(days=1)
    return today
