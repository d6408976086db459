"""A large school for the benchmarks, and the changes a planner makes to it.

`BenchSchool(scale)`: at 1× 70 classes, 140 teachers, about 90 rooms and a four-week window of
about 14,500 periods: double periods, lessons split into groups (religion, languages, sports,
computing) with their own teachers, rooms and student groups, special rooms for sciences, arts
and sports, placed by a greedy scheduler so that a class, teacher or room is rarely booked twice
(`clashes` counts the exceptions). Seeded: a scale always gives the same school. Every count
grows with the scale, so 2× is twice the school, not a longer day.

`fill_untis` puts it into a `FakeUntis` (v3), planned half a day before the clock, with about 2 %
of the periods already changed. `change` makes changes at the fakes: substitutions,
cancellations, room changes, and reverts of earlier ones (`bench.served.mirror` copies a v3
fake into a `FakeJsonRpc`, so both upstreams serve the same school).
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import count
from typing import Any

from signage.demo.server import FakeUntis

BELLS = [  # unit -> (start, end); breaks after units 2, 4 and 6 (lunch)
    (time(7, 55), time(8, 40)), (time(8, 45), time(9, 30)), (time(9, 50), time(10, 35)),
    (time(10, 40), time(11, 25)), (time(11, 45), time(12, 30)), (time(12, 35), time(13, 20)),
    (time(14, 0), time(14, 45)), (time(14, 50), time(15, 35)), (time(15, 40), time(16, 25)),
    (time(16, 30), time(17, 15)),
]
# A class's week: (subject of each group, blocks of units, special room kind). 39 units, 52
# periods (each group of a split lesson is a period of its own).
LESSONS = (
    (("D",), (2, 1, 1), None), (("M",), (2, 1, 1), None), (("E",), (2, 1, 1), None),
    (("Bio",), (2,), "Bio"), (("Ch",), (2,), "Ch"), (("Ph",), (2,), "Ph"),
    (("Ek",), (2,), None), (("G",), (2,), None), (("Pk",), (1, 1), None),
    (("Mu",), (2,), "Mu"), (("Ku",), (2,), "Ku"), (("Sp", "Sp"), (2, 1), "TH"),
    (("ER", "KR", "PPL"), (2,), None), (("F", "L"), (2, 2), None), (("Inf", "Inf"), (2,), "Inf"),
)
SUBJECTS = sorted({s for groups, _, _ in LESSONS for s in groups})
MONDAY = date(2026, 11, 23)
CHANGED_SHARE = 0.02  # periods already changed when the plan is first loaded
SURNAME = "BCDFGHKLMNPRSTWZ"
VOWEL = "AEIOUÄÖÜ"


@dataclass(frozen=True)
class Block:
    """Consecutive units of one lesson of one class, placed in the week."""

    cls: int
    lesson: int  # index into LESSONS
    length: int
    day: int = -1
    unit: int = -1


class BenchSchool:
    """A seeded school at a scale factor (1.0: 70 classes, 140 teachers, about 90 rooms)."""

    def __init__(self, scale: float = 1.0, weeks: int = 4, monday: date = MONDAY,
                 seed: int = 11) -> None:
        self.monday, self.weeks = monday, weeks
        rng = random.Random(seed)  # noqa: S311 - a generated timetable, not cryptography
        n_classes = max(2, round(70 * scale))
        self.classes = _class_names(n_classes)
        self.subjects = SUBJECTS
        self.teachers = _abbreviations(max(len(SUBJECTS), round(140 * scale)), rng)
        self.rooms, kind_rooms = _rooms(n_classes, round(90 * scale))
        self.clashes = 0  # a class, teacher or room booked twice: the scheduler found no slot
        self.teacher_of = self._assign_teachers(rng)
        self.blocks = self._place(rng, self.teacher_of, kind_rooms)

    def _assign_teachers(self, rng: random.Random) -> dict[tuple[int, int, int], int]:
        """Give each (class, lesson, group) the least loaded teacher of its subject."""
        demand: Counter[str] = Counter()
        for groups, blocks, _ in LESSONS:
            for subject in groups:
                demand[subject] += sum(blocks)
        ids = iter(range(1, len(self.teachers) + 1))
        pools = {s: [next(ids)] for s in SUBJECTS}  # a subject each, at least one teacher each
        for teacher in ids:  # the rest where the load per teacher is highest
            subject = max(SUBJECTS, key=lambda s: demand[s] / len(pools[s]))
            pools[subject].append(teacher)
        load: Counter[int] = Counter()
        teacher_of = {}
        for cls in range(1, len(self.classes) + 1):
            for index, (groups, blocks, _) in enumerate(LESSONS):
                for group, subject in enumerate(groups):
                    teacher = min(pools[subject], key=lambda t: (load[t], rng.random()))
                    load[teacher] += sum(blocks)
                    teacher_of[cls, index, group] = teacher
        return teacher_of

    def _place(self, rng: random.Random, teacher_of: dict, kind_rooms: dict) -> list[tuple]:
        """Place every block in the week; return (block, rooms per group) in placing order."""
        todo = [Block(cls, index, length)
                for cls in range(1, len(self.classes) + 1)
                for index, (_, blocks, _) in enumerate(LESSONS) for length in blocks]
        # Hard ones first (groups, special rooms, doubles); classes interleaved.
        todo.sort(key=lambda b: (-len(LESSONS[b.lesson][0]), LESSONS[b.lesson][2] is None,
                                 -b.length, rng.random()))
        busy: defaultdict[tuple, set] = defaultdict(set)  # (day, unit) -> {("c", id), ("t", id)}
        free: defaultdict[tuple, dict] = defaultdict(
            lambda: {kind: set(rooms) for kind, rooms in kind_rooms.items()})
        subject_days: defaultdict[tuple, set] = defaultdict(set)  # (class, lesson) -> days
        placed = []
        for block in todo:
            groups, _, kind = LESSONS[block.lesson]
            teachers = [("t", teacher_of[block.cls, block.lesson, g]) for g in range(len(groups))]
            home = kind_rooms[None][(block.cls - 1) % len(kind_rooms[None])]
            best = None
            for day in range(5):
                for unit in range(0, len(BELLS) - block.length + 1, block.length):
                    units = range(unit, unit + block.length)
                    slots = [busy[day, u] for u in units]
                    if any(("c", block.cls) in slot for slot in slots):
                        continue
                    rooms = _pick_rooms(set.intersection(*(free[day, u][kind] for u in units)),
                                        home, len(groups))
                    clashes = (sum(any(t in slot for slot in slots) for t in teachers)
                               + len(groups) - len(rooms))
                    score = (clashes, day in subject_days[block.cls, block.lesson], unit,
                             (day + block.cls) % 5)
                    if best is None or score < best[0]:
                        best = (score, day, unit, rooms)
            assert best is not None, "a class has more units than the week"  # noqa: S101
            (clashes, *_), day, unit, rooms = best
            self.clashes += clashes
            rooms += kind_rooms[kind][: len(groups) - len(rooms)]  # a clash: share a room
            for u in range(unit, unit + block.length):
                busy[day, u] |= {("c", block.cls), *teachers}
                free[day, u][kind].difference_update(rooms)
            subject_days[block.cls, block.lesson].add(day)
            placed.append((Block(block.cls, block.lesson, block.length, day, unit), rooms))
        return placed

    def v3_periods(self) -> list[dict[str, Any]]:
        """Return every period of the window in the v3 shape, ordered by day and unit."""
        periods = []
        ids = count(100_000)
        days = [self.monday + timedelta(weeks=w, days=d) for w in range(self.weeks)
                for d in range(5)]
        by_day = sorted(self.blocks, key=lambda br: (br[0].day, br[0].unit, br[0].cls))
        for day in days:
            for block, rooms in (br for br in by_day if br[0].day == day.weekday()):
                groups = LESSONS[block.lesson][0]
                for unit in range(block.unit, block.unit + block.length):
                    for group, subject in enumerate(groups):
                        periods.append(self._period(next(ids), day, unit, block, group,
                                                    subject, rooms[group], len(groups)))
        return periods

    def _period(self, pid: int, day: date, unit: int, block: Block, group: int, subject: str,
                room: int, n_groups: int) -> dict[str, Any]:
        start, end = BELLS[unit]
        lesson_id = (block.cls * len(LESSONS) + block.lesson) * 4 + group
        period = {
            "id": pid, "lessonId": lesson_id,
            "start": datetime.combine(day, start).isoformat(timespec="minutes"),
            "end": datetime.combine(day, end).isoformat(timespec="minutes"),
            "type": "NORMAL_TEACHING_PERIOD", "status": "REGULAR", "substitutionText": "",
            "classes": [{"id": block.cls, "status": "REGULAR"}],
            "teachers": [{"id": self.teacher_of[block.cls, block.lesson, group],
                          "status": "REGULAR"}],
            "rooms": [{"id": room, "status": "REGULAR"}],
            "subjects": [{"id": SUBJECTS.index(subject) + 1, "status": "REGULAR"}],
        }
        if n_groups > 1:
            period["studentgroups"] = [{"id": lesson_id, "status": "REGULAR"}]
        return period

    def group_names(self) -> dict[int, str]:
        """Return the student groups' names by id (`5a_F`, `7c_Sp2`)."""
        names = {}
        for cls, name in enumerate(self.classes, start=1):
            for index, (groups, _, _) in enumerate(LESSONS):
                for group, subject in enumerate(groups) if len(groups) > 1 else ():
                    suffix = str(group + 1) if groups.count(subject) > 1 else ""
                    names[(cls * len(LESSONS) + index) * 4 + group] = f"{name}_{subject}{suffix}"
        return names

    def fill_untis(self, fake: FakeUntis, seed: int = 5) -> int:
        """Put the school into a v3 fake, planned 12 h before its clock; return the periods."""
        fake.add_names("classes", dict(enumerate(self.classes, start=1)))
        fake.add_names("teachers", dict(enumerate(self.teachers, start=1)))
        fake.add_names("rooms", dict(enumerate(self.rooms, start=1)))
        fake.add_names("subjects", dict(enumerate(self.subjects, start=1)))
        fake.add_names("studentGroups", self.group_names())
        periods = self.v3_periods()
        for period in periods:
            fake.put_period(period)
        change(fake, random.Random(seed), round(len(periods) * CHANGED_SHARE))  # noqa: S311
        fake.backdate(list(fake.periods), fake.clock() - timedelta(hours=12))
        return len(periods)


def change(untis: FakeUntis, rng: random.Random, n: int,
           on_change: Callable[[dict[str, Any]], None] | None = None) -> int:
    """Make `n` changes to distinct lessons at the fake; return how many were made.

    A regular lesson gets a substitute teacher (half), is cancelled (three in ten) or moves to
    a free room (the rest); an already changed one goes back to regular. `on_change` gets
    each changed period (to make the same change at another fake).
    """
    with untis.lock:
        candidates = sorted(pid for pid, p in untis.periods.items()
                            if p["type"] == "NORMAL_TEACHING_PERIOD" and p.get("lessonId")
                            and p["status"] in ("REGULAR", "CHANGED", "CANCELLED")
                            and "relatedPeriod" not in p)
        busy: defaultdict[tuple, set] = defaultdict(set)
        for p in untis.periods.values():
            for key in ("teachers", "rooms"):
                busy[key, p["start"]].update(r["id"] for r in p.get(key) or ())
        chosen = rng.sample(candidates, min(n, len(candidates)))
        for pid in chosen:
            period = untis.periods[pid]
            roll = rng.random()
            if period["status"] != "REGULAR":
                fields = {"status": "REGULAR", "substitutionText": "", **{
                    k: [dict(r, status="REGULAR") for r in period[k] if r["status"] != "ADDED"]
                    for k in ("teachers", "rooms")}}
            elif roll < 0.5:
                fields = _replace(period, "teachers", untis, busy, rng, "Vertretung")
            elif roll < 0.8:
                fields = {"status": "CANCELLED", "substitutionText": "entfällt"}
            else:
                fields = _replace(period, "rooms", untis, busy, rng, "Raumänderung")
            untis.update_period(pid, **fields)
            if on_change is not None:
                on_change(untis.periods[pid])
        return len(chosen)


def _replace(period: dict, key: str, untis: FakeUntis, busy: dict, rng: random.Random,
             note: str) -> dict[str, Any]:
    old = period[key][0]["id"]
    taken = busy[key, period["start"]]
    free = [i for i in untis.master[key] if i not in taken] or list(untis.master[key])
    new = rng.choice(free)
    taken.add(new)
    refs = [{"id": old, "status": "REMOVED"}, {"id": new, "status": "ADDED"}]
    return {"status": "CHANGED", key: refs, "substitutionText": note}


def _class_names(n: int) -> list[str]:
    """Return `n` class names, grades 5 to 10 first and then the upper school: 5a, 5b, ..."""
    grades = ["5", "6", "7", "8", "9", "10", "EF", "Q1", "Q2"]
    per_grade = math.ceil(n / len(grades))
    letters = [chr(ord("a") + i % 26) + ("" if i < 26 else str(i // 26)) for i in range(per_grade)]
    return [f"{g}{letter}" for g in grades for letter in letters][:n]


def _abbreviations(n: int, rng: random.Random) -> list[str]:
    """Return `n` distinct teacher abbreviations in the German style (`MÜL`, `BEC`)."""
    pool = [a + b + c for a in SURNAME for b in VOWEL for c in SURNAME]
    rng.shuffle(pool)
    return [pool[i % len(pool)] + ("" if i < len(pool) else str(i // len(pool)))
            for i in range(n)]


def _rooms(n_classes: int, n_rooms: int) -> tuple[list[str], dict[str | None, list[int]]]:
    """Return room names and the room ids of each kind (None: ordinary classrooms).

    Each kind is sized to its demand with a fifth to spare; classrooms fill up to `n_rooms`.
    """
    units: Counter[str | None] = Counter()
    for groups, blocks, kind in LESSONS:
        units[kind] += sum(blocks) * len(groups) * n_classes
    counts = {kind: max(1, math.ceil(need * 1.25 / (5 * len(BELLS))))
              for kind, need in units.items()}
    counts[None] = max(counts[None], n_rooms - sum(n for k, n in counts.items() if k))
    names: list[str] = []
    ids = {}
    for kind, number in counts.items():
        ids[kind] = list(range(len(names) + 1, len(names) + number + 1))
        if kind is None:
            names += [f"{chr(ord('A') + i // 40)}{i % 40 // 10}.{i % 10 + 1:02d}"
                      for i in range(number)]
        else:
            names += [f"{kind}{i + 1}" for i in range(number)]
    return names, ids


def _pick_rooms(free: set[int], home: int, n: int) -> list[int]:
    """Return up to `n` of the free rooms, the class's home room first when it is free."""
    if home in free:
        return [home, *sorted(free - {home})[: n - 1]]
    return sorted(free)[:n]
