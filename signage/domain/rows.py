"""Change rows: which periods are changes, of which kinds, and how double periods merge.

Contract: `change_rows(snapshot, day)` returns the day's change rows (DESIGN.md §3) sorted by
time; regular, unchanged periods are not rows. Double periods merge by the WebUntis v3
equivalence rule (DESIGN.md §4): same lessonId, type, status, exam and the same references, in
adjacent units of the day's time grid (a break between them is allowed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime

from signage.domain.board import natural_key
from signage.domain.model import (
    ADDED,
    ADDITIONAL,
    CANCELLED,
    CATEGORIES,
    PERIOD_TYPES,
    REGULAR,
    REMOVED,
    ChangeRow,
    OtherSide,
    Period,
    Snapshot,
)

# Periods that sit in the units of the day's time grid; a break supervision or a meeting may
# start in a break, and must not split the double period around it.
GRID_TYPES = frozenset({"NORMAL_TEACHING_PERIOD", "ADDITIONAL_PERIOD", "EXAM", "STAND_BY_PERIOD"})
# Break supervisions are staff matters: never a row of the boards' lessons or the API, only of
# `supervision_rows` (teacher boards and the supervisions list, staff profile only).
SUPERVISION = "BREAK_SUPERVISION"
_EQUIVALENCE_CATEGORIES = CATEGORIES  # v3: classes, departments, resources, studentGroups, ...


def change_rows(snapshot: Snapshot, day: date) -> list[ChangeRow]:
    """Return every change row of `day`, double periods merged, sorted by time and class."""
    return [row for row in day_rows(snapshot, day) if row.kinds]


def day_rows(snapshot: Snapshot, day: date) -> list[ChangeRow]:
    """Return every period of `day` as a row (regular ones with no kinds), double periods
    merged, sorted by time and class; rows carry their units of the day's time grid. Break
    supervisions are not among them (see `supervision_rows`)."""
    periods = _periods_of(snapshot, day)
    grid = _grid(periods)
    unit_of = _units(periods, grid)
    rows = []
    for group in _merge_groups([p for p in periods if p.type != SUPERVISION], grid):
        row = classify(group, snapshot, include_regular=True)
        first, last = unit_of(group[0]), group[-1].end_unit or unit_of(group[-1])
        if row is not None and first is not None and last is not None:
            row = replace(row, units=(first, last))
        side = _other_side(group, snapshot)
        if row is not None and side is not None:
            row = replace(row, other_side=side)
        rows.append(row)
    rows.sort(key=lambda r: (r.start, r.end, [natural_key(c) for c in r.classes]))
    return rows


def supervision_rows(snapshot: Snapshot, day: date) -> list[ChangeRow]:
    """Return the break supervisions of `day` as rows (regular ones without kinds; a
    substitution as on any board), sorted by time and teacher."""
    rows = [classify([p], snapshot, include_regular=True) for p in _periods_of(snapshot, day)
            if p.type == SUPERVISION]
    rows = [replace(r, supervision=True) for r in rows if r is not None]
    return sorted(rows, key=lambda r: (r.start, r.end, [natural_key(t) for t in r.teachers]))


def _periods_of(snapshot: Snapshot, day: date) -> list[Period]:
    return sorted((p for p in snapshot.periods.values() if p.day == day),
                  key=lambda p: (p.start, p.id))


def _grid(periods: Sequence[Period]) -> list[datetime]:
    return sorted({p.start for p in periods if p.type in GRID_TYPES})


def _other_side(group: Sequence[Period], snapshot: Snapshot) -> OtherSide | None:
    """Return where a moved lesson went (its cancelled slot) or came from (its new slot), when
    the upstream links the two (v3's `relatedPeriod`) and the other one is in the window."""
    related = next((p.related_period for p in group if p.related_period is not None), None)
    other = snapshot.periods.get(related) if related is not None else None
    if other is None:
        return None
    periods = _periods_of(snapshot, other.day)
    unit = _units(periods, _grid(periods))(other)
    direction = "to" if group[0].status == CANCELLED else "from"
    return OtherSide(direction, other.day, other.start.strftime("%H:%M"), unit)


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
    additional = period.status == ADDITIONAL or period.type == "ADDITIONAL_PERIOD"
    if period.status == CANCELLED:
        kinds.append("cancelled")
    elif additional:
        kinds.append("additional")
    if period.type == "EXAM" or period.exam:
        kinds.append("exam")
    if any(p.related_period is not None for p in group):
        kinds.append("moved")
    if period.status != CANCELLED and not additional:
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
