"""Pure board layout: what each board lists, in which order, and how the overview pages.

Contract: boards get `ChangeRow`s from `rows` and return display structures; no Flask, no I/O.
Also the names that have boards, in natural order (5a before 10a).
The overview pages by a capacity in rows: a class group is never split across two pages; a group
larger than a page fills whole pages of its own, each after the first marked as a continuation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from signage.domain.model import ChangeRow, Snapshot

# Kind -> icon. Boards always show the word too (views.words): an icon alone is not enough.
KIND_ICONS = {
    "cancelled": "✕",
    "substitution": "⇄",
    "room_change": "⌂",
    "additional": "+",
    "exam": "✎",
    "moved": "↷",
    "changed": "!",
}
# Categories whose names have boards, and the query parameter that filters by them.
BOARD_CATEGORIES = {"class": "classes", "room": "rooms", "teacher": "teachers"}
DWELL_BASE_S = 8
DWELL_PER_ROW_S = 1


@dataclass(frozen=True)
class Group:
    """One class's rows on an overview page."""

    name: str
    rows: tuple[ChangeRow, ...]
    continued: bool = False  # the group began on an earlier page


@dataclass(frozen=True)
class Page:
    """One overview page and how long a kiosk shows it."""

    groups: tuple[Group, ...]

    @property
    def size(self) -> int:
        """Return the number of rows on the page."""
        return sum(len(g.rows) for g in self.groups)

    @property
    def dwell_s(self) -> int:
        """Return how long to show the page: longer the more rows there are to read."""
        return DWELL_BASE_S + DWELL_PER_ROW_S * self.size


def group_by_class(rows: Iterable[ChangeRow]) -> list[Group]:
    """Return the rows grouped by class name (naturally ordered); a row of two classes is
    listed under each."""
    groups: dict[str, list[ChangeRow]] = {}
    for row in rows:
        for name in row.classes or ("—",):
            groups.setdefault(name, []).append(row)
    return [Group(name, tuple(groups[name])) for name in sorted(groups, key=natural_key)]


def paginate(groups: Sequence[Group], capacity: int) -> list[Page]:
    """Return pages of at most `capacity` rows; groups stay whole unless larger than a page."""
    if capacity < 1:
        raise ValueError("a page holds at least one row")
    pages: list[list[Group]] = []
    current: list[Group] = []
    used = 0
    for group in groups:
        if used and used + len(group.rows) > capacity:
            pages.append(current)
            current, used = [], 0
        if len(group.rows) <= capacity:
            current.append(group)
            used += len(group.rows)
            continue
        for start in range(0, len(group.rows), capacity):  # larger than a page: split it
            if current:
                pages.append(current)
            chunk = group.rows[start:start + capacity]
            current, used = [Group(group.name, chunk, continued=start > 0)], len(chunk)
    if current or not pages:
        pages.append(current)
    return [Page(tuple(page)) for page in pages]


def absent_teachers(rows: Iterable[ChangeRow],
                    told: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """Return the teachers removed from periods of the day (the upstream's word for absent),
    in natural order, each with the units they miss ("1-4, 6"; "" when off the grid); `told`
    adds those the upstream names absent itself (the units it says, when the rows tell none)."""
    units: dict[str, set[int]] = {}
    for row in rows:
        for name in row.original_teachers:
            missed = units.setdefault(name, set())
            if row.units is not None:
                missed.update(range(row.units[0], row.units[1] + 1))
    said = dict(told)
    names = sorted(units.keys() | said.keys(), key=natural_key)
    return [(name, _ranges(sorted(units.get(name, ()))) or said.get(name, "")) for name in names]


def affected_classes(rows: Iterable[ChangeRow], told: Iterable[str] = ()) -> list[str]:
    """Return the classes with a change on the day (and those the upstream names affected), in
    natural order."""
    return sorted({name for row in rows if row.kinds for name in row.classes} | set(told),
                  key=natural_key)


def _ranges(numbers: Sequence[int]) -> str:
    """Return sorted numbers as runs: [1, 2, 3, 5] -> "1-3, 5"."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def teacher_order(rows: Iterable[ChangeRow], name: str) -> list[ChangeRow]:
    """Return a teacher's rows with the lessons they substitute first, then the rest by time."""
    rows = list(rows)
    return sorted(rows, key=lambda r: (not (name in r.teachers and "substitution" in r.kinds),
                                       r.start))


def row_key(row: ChangeRow) -> str:
    """Return a key that names a row across refreshes (kiosks mark new ones)."""
    return "|".join((row.date.isoformat(), row.start, ",".join(row.classes),
                     ",".join(row.kinds), ",".join(row.teachers), ",".join(row.rooms), row.text))


def group_names(names: Iterable[str]) -> list[tuple[str, list[str]]]:
    """Return names grouped for an index: by leading number ("5" for 5a, 5b) or else by
    leading letters ("R" for R101); groups and names in natural order."""
    groups: dict[str, list[str]] = {}
    for name in names:
        match = re.match(r"\d+|[^\d]+", name)
        groups.setdefault(match.group(0) if match else name, []).append(name)
    return [(key, sorted(groups[key], key=natural_key)) for key in sorted(groups, key=natural_key)]


def board_names(snapshot: Snapshot, category: str) -> list[str]:
    """Return the names that have boards in a category, in natural order (5a before 10a)."""
    return sorted(set(snapshot.names.get(category, {}).values()), key=natural_key)


def find_name(snapshot: Snapshot, category: str, wanted: str) -> str | None:
    """Return the board name matching `wanted` (case-insensitive), or None when unknown."""
    for name in board_names(snapshot, category):
        if name.casefold() == wanted.casefold():
            return name
    return None


def natural_key(name: str) -> tuple:
    """Return a sort key that orders embedded numbers by value ("5a" < "10a")."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
        for part in re.split(r"(\d+)", name)
        if part
    )
