"""The built-in demo school: a generated Gymnasium and a planner that keeps changing its plan.

About 20 classes, 40 teachers, 30 rooms, a real bell schedule, double periods. Each school day
is generated when the upstream is first asked for it, with the day's usual changes (teachers off
sick, a room swap, an exam, an extra lesson, a moved lesson); `Planner.step` then keeps making
plausible changes (substitutions, cancellations, room swaps, extra lessons, exams, reversals,
deletions) so boards move while one watches. Everything goes into a `FakeUntis`, so the demo runs
through the same client and sync engine as a real school.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from signage.demo.server import FakeUntis

BELLS = [  # unit -> (start, end); breaks after units 2, 4 and 6
    (time(7, 55), time(8, 40)), (time(8, 45), time(9, 30)),
    (time(9, 50), time(10, 35)), (time(10, 40), time(11, 25)),
    (time(11, 45), time(12, 30)), (time(12, 35), time(13, 20)),
    (time(14, 0), time(14, 45)), (time(14, 50), time(15, 35)),
]
CLASSES = [f"{g}{s}" for g in (5, 6, 7, 8, 9) for s in "abc"] + ["10a", "10b", "EF", "Q1", "Q2"]
TEACHERS = (
    "BEC MÜL SCH WEB WAG KOC HOF BAU RIC KLE WOL SCR NEU SWZ ZIM BRA KRÜ HAR LAN WER "
    "KRA LEH KÖH HER WAL MAY KÖN HUB KAI FUC PET LOR JUN MÖL FRA BER GÜN SEI ENG SOM"
).split()
ROOMS = [f"R{f}{n:02d}" for f in (1, 2) for n in range(1, 13)] + [
    "Bio1", "Ch1", "Ph1", "Mu1", "Ku1", "TH1",
]
SUBJECTS = {  # subject -> (weekly units, special room or None)
    "D": (4, None), "M": (4, None), "E": (4, None), "F": (2, None), "Bio": (2, "Bio1"),
    "Ch": (2, "Ch1"), "Ph": (2, "Ph1"), "Ek": (2, None), "G": (2, None), "Pk": (2, None),
    "Mu": (2, "Mu1"), "Ku": (2, "Ku1"), "Sp": (2, "TH1"), "Rel": (2, None),
}
MAX_CHANGES = 25  # changed or cancelled periods a day may have before the planner calms down
NOTES_CANCELLED = ["Aufgaben in Moodle", "entfällt", "Selbststudium"]
NOTES_SUBSTITUTION = ["", "Material liegt im Fach", "bitte Buch mitbringen"]


@dataclass(frozen=True)
class Lesson:
    """A weekly lesson: one class, one subject, one teacher, one room."""

    id: int
    class_id: int
    subject_id: int
    teacher_id: int
    room_id: int


class DemoSchool:
    """Generates the demo school's timetable into a FakeUntis and plans changes on it."""

    def __init__(self, fake: FakeUntis, seed: int = 7) -> None:
        self.fake = fake
        self.seed = seed
        rng = random.Random(seed)
        fake.add_names("classes", _ids(CLASSES))
        fake.add_names("teachers", _ids(TEACHERS))
        fake.add_names("rooms", _ids(ROOMS))
        fake.add_names("subjects", _ids(SUBJECTS))
        self.week = {c: self._week_plan(c, rng) for c in range(1, len(CLASSES) + 1)}
        self.rng = random.Random(seed + 1)
        fake.day_loader = self.load_day

    def _week_plan(self, class_id: int, rng: random.Random) -> list[list[Lesson]]:
        """Return five days of units for a class: double periods where a subject has two."""
        lessons = []
        for subject_id, (_subject, (hours, special)) in enumerate(SUBJECTS.items(), start=1):
            teacher = 1 + (class_id * 7 + subject_id * 3) % len(TEACHERS)
            home = 1 + (class_id - 1) % 24
            room = ROOMS.index(special) + 1 if special else home
            lesson = Lesson(class_id * 100 + subject_id, class_id, subject_id, teacher, room)
            lessons += [[lesson, lesson]] * (hours // 2)  # double periods
        rng.shuffle(lessons)
        days: list[list[Lesson]] = [[] for _ in range(5)]
        for i, block in enumerate(lessons):
            days[i % 5] += block
        return days

    def load_day(self, day: date) -> None:
        """Put one day's periods, with the day's usual changes, into the fake server."""
        if day.weekday() >= 5:
            return
        for _class_id, days in self.week.items():
            for unit, lesson in enumerate(days[day.weekday()][: len(BELLS)]):
                self.fake.put_period(self._period(day, unit, lesson))
        rng = random.Random(self.seed * 100_003 + day.toordinal())
        for _ in range(rng.randint(1, 2)):
            self._teacher_off_sick(day, rng)
        for change in (self._room_swap, self._exam, self._extra_lesson, self._move_lesson):
            change(day, rng)
        # The day was planned earlier; only the planner's later changes are news to a delta.
        prefix = day.isoformat()
        ids = [pid for pid, p in self.fake.periods.items() if p["start"].startswith(prefix)]
        self.fake.backdate(ids, self.fake.clock() - timedelta(hours=12))

    def _period(self, day: date, unit: int, lesson: Lesson) -> dict[str, Any]:
        start, end = BELLS[unit]
        return {
            "id": day.toordinal() * 10_000 + lesson.class_id * 100 + unit,
            "lessonId": lesson.id,
            "start": datetime.combine(day, start).isoformat(timespec="minutes"),
            "end": datetime.combine(day, end).isoformat(timespec="minutes"),
            "type": "NORMAL_TEACHING_PERIOD",
            "status": "REGULAR",
            "substitutionText": "",
            "classes": [{"id": lesson.class_id, "status": "REGULAR"}],
            "teachers": [{"id": lesson.teacher_id, "status": "REGULAR"}],
            "rooms": [{"id": lesson.room_id, "status": "REGULAR"}],
            "subjects": [{"id": lesson.subject_id, "status": "REGULAR"}],
        }

    # --- changes ----------------------------------------------------------------------------
    def step(self, today: date) -> str:
        """Make one plausible change on today or one of the next two days; return what."""
        day = today + timedelta(days=self.rng.choice((0, 0, 1, 2)))
        actions = [self._substitute_one, self._cancel_one, self._room_swap, self._extra_lesson,
                   self._exam]
        with self.fake.lock:
            if len(self._periods(day, "CHANGED") + self._periods(day, "CANCELLED")) > MAX_CHANGES:
                # A busy day calms down again: the plan never drifts into all-changed.
                actions = [self._revert_one, self._delete_extra]
            elif self.rng.random() < 0.3:
                actions = [self._revert_one, self._delete_extra]
            return self.rng.choice(actions)(day, self.rng) or "nothing to change"

    def _periods(self, day: date, status: str = "REGULAR") -> list[dict[str, Any]]:
        prefix = day.isoformat()
        with self.fake.lock:
            return [p for p in self.fake.periods.values()
                    if p["start"].startswith(prefix) and p["status"] == status]

    def _free_teacher(self, period: dict[str, Any], rng: random.Random) -> int:
        busy = {r["id"] for p in self.fake.periods.values() if p["start"] == period["start"]
                for r in p["teachers"]}
        free = [t for t in range(1, len(TEACHERS) + 1) if t not in busy]
        return rng.choice(free or [1])

    def _teacher_off_sick(self, day: date, rng: random.Random) -> str | None:
        periods = self._periods(day)
        if not periods:
            return None
        teacher = rng.choice(periods)["teachers"][0]["id"]
        for period in (p for p in periods if p["teachers"][0]["id"] == teacher):
            if rng.random() < 0.6:
                self._substitute(period, rng)
            else:
                self._cancel(period, rng)
        return f"{TEACHERS[teacher - 1]} off sick on {day}"

    def _substitute_one(self, day: date, rng: random.Random) -> str | None:
        periods = self._periods(day)
        return self._substitute(rng.choice(periods), rng) if periods else None

    def _substitute(self, period: dict[str, Any], rng: random.Random) -> str:
        absent = period["teachers"][0]["id"]
        sub = self._free_teacher(period, rng)
        teachers = [{"id": absent, "status": "REMOVED"}, {"id": sub, "status": "ADDED"}]
        self.fake.update_period(period["id"], status="CHANGED", teachers=teachers,
                                substitutionText=rng.choice(NOTES_SUBSTITUTION))
        return f"substitution in period {period['id']}"

    def _cancel_one(self, day: date, rng: random.Random) -> str | None:
        periods = self._periods(day)
        return self._cancel(rng.choice(periods), rng) if periods else None

    def _cancel(self, period: dict[str, Any], rng: random.Random) -> str:
        self.fake.update_period(period["id"], status="CANCELLED",
                                substitutionText=rng.choice(NOTES_CANCELLED))
        return f"cancelled period {period['id']}"

    def _room_swap(self, day: date, rng: random.Random) -> str | None:
        periods = self._periods(day)
        if not periods:
            return None
        period = rng.choice(periods)
        old = period["rooms"][0]["id"]
        new = rng.choice([r for r in range(1, 25) if r != old])
        rooms = [{"id": old, "status": "REMOVED"}, {"id": new, "status": "ADDED"}]
        self.fake.update_period(period["id"], status="CHANGED", rooms=rooms,
                                substitutionText="Raumtausch")
        return f"room change in period {period['id']}"

    def _exam(self, day: date, rng: random.Random) -> str | None:
        periods = [p for p in self._periods(day) if CLASSES[p["classes"][0]["id"] - 1][0].isdigit()]
        if not periods:
            return None
        first = rng.choice(periods)
        for period in self._periods(day):  # both halves of the double period
            if period["lessonId"] == first["lessonId"]:
                exam = {"id": first["lessonId"], "name": "Klassenarbeit"}
                self.fake.update_period(period["id"], type="EXAM", exam=exam,
                                        substitutionText="Klassenarbeit")
        return f"exam for lesson {first['lessonId']}"

    def _extra_lesson(self, day: date, rng: random.Random) -> str | None:
        if day.weekday() >= 5:
            return None
        class_id = rng.randint(1, len(CLASSES))
        start, end = BELLS[6]
        teacher = rng.randint(1, len(TEACHERS))
        self.fake.put_period({
            "id": self.fake.new_id(),
            "lessonId": None,
            "start": datetime.combine(day, start).isoformat(timespec="minutes"),
            "end": datetime.combine(day, end).isoformat(timespec="minutes"),
            "type": "ADDITIONAL_PERIOD",
            "status": "ADDITIONAL",
            "substitutionText": rng.choice(["Förderunterricht", "Nachschreibtermin"]),
            "classes": [{"id": class_id, "status": "ADDED"}],
            "teachers": [{"id": teacher, "status": "ADDED"}],
            "rooms": [{"id": 1 + (class_id - 1) % 24, "status": "ADDED"}],
            "subjects": [{"id": rng.randint(1, len(SUBJECTS)), "status": "ADDED"}],
        })
        return f"extra lesson for {CLASSES[class_id - 1]}"

    def _move_lesson(self, day: date, rng: random.Random) -> str | None:
        periods = [p for p in self._periods(day) if p["id"] % 100 == 5]  # sixth units
        if not periods:
            return None
        start, end = BELLS[7]
        last_unit = datetime.combine(day, start).isoformat(timespec="minutes")
        busy = {c["id"] for p in self._periods(day) if p["start"] == last_unit
                for c in p["classes"]}  # a class already taught then cannot take the lesson
        periods = [p for p in periods if p["classes"][0]["id"] not in busy]
        if not periods:
            return None
        old = rng.choice(periods)
        new_id = self.fake.new_id()
        moved = dict(old, id=new_id, status="ADDITIONAL", relatedPeriod=old["id"],
                     substitutionText="verlegt von der 6. Stunde",
                     start=old["start"][:11] + start.isoformat("minutes"),
                     end=old["end"][:11] + end.isoformat("minutes"))
        self.fake.put_period(moved)
        self.fake.update_period(old["id"], status="CANCELLED", relatedPeriod=new_id,
                                substitutionText="verlegt in die 8. Stunde")
        return f"moved period {old['id']}"

    def _revert_one(self, day: date, rng: random.Random) -> str | None:
        changed = self._periods(day, "CHANGED") + self._periods(day, "CANCELLED")
        changed = [p for p in changed if "relatedPeriod" not in p]
        if not changed:
            return None
        period = rng.choice(changed)
        regular = {k: [dict(r, status="REGULAR") for r in period[k] if r["status"] != "ADDED"]
                   for k in ("teachers", "rooms")}
        self.fake.update_period(period["id"], status="REGULAR", substitutionText="", **regular)
        return f"period {period['id']} back to regular"

    def _delete_extra(self, day: date, rng: random.Random) -> str | None:
        extras = [p for p in self._periods(day, "ADDITIONAL") if "relatedPeriod" not in p]
        if not extras:
            return None
        period = rng.choice(extras)
        self.fake.delete_period(period["id"])
        return f"deleted extra period {period['id']}"


def _ids(names: Any) -> dict[int, str]:
    return dict(enumerate(names, start=1))
