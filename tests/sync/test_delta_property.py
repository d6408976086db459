"""Delta sync as a property: whatever the planners do upstream, and whenever the cycles run, the
delta-kept copy equals what a full reload of the same upstream at the same moment holds.

Every example drives a fake WebUntis v3 school over real HTTP with 1,000 operations (create,
substitute, room change, status, note, move in time or day, a moved lesson as cancelled plus
extra, delete, re-create, double-period edits, exams, edits outside the window) while the real
`UntisSource` + `SyncEngine` + `MemoryStore` run cycles at random points between them (the
scheduler's ticks, idle pacing at night, the window roll at midnight, the nightly full reload).
Some operations land *during* a cycle: between the engine's timetable call and its
deleted-periods call (`HookedUntis` applies them when it answers the cursor's timetable call).
After every cycle that no operation overlapped, a fresh engine and store do one full load at
the same instant, and both copies must hold exactly the same periods.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from signage.demo.server import FakeUntis
from signage.sources.http import make_session
from signage.sources.untis import UntisSource
from signage.store import MemoryStore
from signage.sync.engine import SyncEngine
from tests.conftest import BELLS, MONDAY, SCHEDULE, TZ, Clock, period

pytestmark = pytest.mark.slow

DAYS_AHEAD = 3
OPERATIONS = 1000
CLASSES, TEACHERS, ROOMS, SUBJECTS = (1, 2, 3), (1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3)
NAMES = {
    "classes": {1: "5a", 2: "5b", 3: "10a"},
    "teachers": {1: "MÜL", 2: "BEC", 3: "SCH", 4: "NEU"},
    "rooms": {1: "R101", 2: "R102", 3: "Bio1", 4: "Aula"},
    "subjects": {1: "M", 2: "D", 3: "Bio"},
}
# Where a run starts (school-local): a school morning, the afternoon into idle pacing, the
# evening across the midnight roll, the night across the nightly full reload (03:00).
STARTS = [
    datetime.combine(MONDAY, time(7, 30)),
    datetime.combine(MONDAY, time(15, 30)),
    datetime.combine(MONDAY, time(22, 45)),
    datetime.combine(MONDAY + timedelta(days=1), time(1, 40)),
]
FIRST_DAY, LAST_DAY = MONDAY - timedelta(days=1), MONDAY + timedelta(days=7)
UPSTREAM_DAYS = [FIRST_DAY + timedelta(days=d) for d in range((LAST_DAY - FIRST_DAY).days + 1)]


class HookedUntis(FakeUntis):
    """The fake v3 server, plus operations that land while a delta cycle runs: they are applied
    right after the cursor's timetable answer is built, before the deleted-periods call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.during_cycle: list[Callable[[], None]] = []

    def answer(self, method: str, path: str, query: dict, headers: dict, form: dict) -> tuple:
        result = super().answer(method, path, query, headers, form)
        if result[3] == "timetable" and result[0] == 200 and "dateLastModifiedAfter" in query:
            pending, self.during_cycle = self.during_cycle, []
            for operation in pending:
                operation()
        return result


@dataclass
class School:
    """The upstream and what the test remembers about it (for re-creations and messages)."""

    fake: HookedUntis
    clock: Clock
    graveyard: dict[int, dict[str, Any]] = field(default_factory=dict)  # deleted: last content
    history: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    done: int = 0  # operations applied

    def today(self) -> date:
        return self.clock().astimezone(TZ).date()

    def log(self, pid: int, what: str) -> None:
        local = self.clock().astimezone(TZ).strftime("%a %H:%M:%S")
        self.history[pid].append(f"#{self.done} {local} {what}")

    def pick(self, arg: int) -> dict[str, Any] | None:
        ids = sorted(self.fake.periods)
        return dict(self.fake.periods[ids[arg % len(ids)]]) if ids else None

    def put(self, p: dict[str, Any], what: str) -> None:
        self.fake.put_period(p)
        self.graveyard.pop(p["id"], None)
        self.log(p["id"], what)

    def delete(self, pid: int, what: str) -> None:
        self.graveyard[pid] = dict(self.fake.periods[pid])
        self.fake.delete_period(pid)
        self.log(pid, what)


def _slot(day: date, unit: int) -> dict[str, str]:
    start, end = BELLS[unit]
    return {"start": datetime.combine(day, start).isoformat(timespec="minutes"),
            "end": datetime.combine(day, end).isoformat(timespec="minutes")}


def _where(p: dict[str, Any]) -> tuple[date, int]:
    start = datetime.fromisoformat(p["start"])
    return start.date(), next(u for u, (b, _) in enumerate(BELLS) if b == start.time())


def _planned(refs: list[dict[str, Any]]) -> list[int]:
    return [r["id"] for r in refs if r["status"] != "ADDED"]


def _replace(refs: list[dict[str, Any]], new: int) -> list[dict[str, Any]]:
    """Return references with `new` in place of the planned one (REMOVED + ADDED), or the plan
    again when `new` is the planned one (the substitution taken back)."""
    planned = _planned(refs)
    if new in planned:
        return [{"id": i, "status": "REGULAR"} for i in planned]
    return [*({"id": i, "status": "REMOVED"} for i in planned), {"id": new, "status": "ADDED"}]


def _changed_status(p: dict[str, Any]) -> str:
    touched = any(r["status"] != "REGULAR" for key in ("teachers", "rooms") for r in p[key])
    if p["status"] in ("ADDITIONAL", "CANCELLED"):
        return p["status"]
    return "CHANGED" if touched or p.get("substitutionText") else "REGULAR"


# --- operations: (school, arg) -> None; `arg` picks the period and the values ------------------

def op_create(school: School, arg: int) -> None:
    day = UPSTREAM_DAYS[arg % len(UPSTREAM_DAYS)]
    unit, cls = (arg >> 4) % len(BELLS), CLASSES[(arg >> 7) % 3]
    p = period(school.fake.new_id(), day, unit, cls=cls, teacher=TEACHERS[(arg >> 9) % 4],
               room=ROOMS[(arg >> 11) % 4], subject=SUBJECTS[(arg >> 13) % 3])
    if arg >> 15 & 1:
        p.update(status="ADDITIONAL", type="ADDITIONAL_PERIOD")
    school.put(p, f"created on {day} unit {unit + 1}")


def op_substitute(school: School, arg: int) -> None:
    p = school.pick(arg)
    if p is not None:
        p["teachers"] = _replace(p["teachers"], TEACHERS[(arg >> 8) % 4])
        p["status"] = _changed_status(p)
        school.put(p, f"teachers {p['teachers']}")


def op_room(school: School, arg: int) -> None:
    p = school.pick(arg)
    if p is not None:
        p["rooms"] = _replace(p["rooms"], ROOMS[(arg >> 8) % 4])
        p["status"] = _changed_status(p)
        school.put(p, f"rooms {p['rooms']}")


def op_status(school: School, arg: int) -> None:
    p = school.pick(arg)
    if p is not None:
        p["status"] = ("CANCELLED", "REGULAR", "CHANGED", "ADDITIONAL")[(arg >> 8) % 4]
        school.put(p, f"status {p['status']}")


def op_note(school: School, arg: int) -> None:
    p = school.pick(arg)
    if p is not None:
        p["substitutionText"] = ("", "Buch mitbringen", "Aufgaben in Moodle")[(arg >> 8) % 3]
        p["status"] = _changed_status(p)
        school.put(p, f"note {p['substitutionText']!r}")


def op_move(school: School, arg: int) -> None:
    """Shift a period to another unit of its day, or to a day from tomorrow to the window's
    end (a time change); a period from outside the window moves into it."""
    p = school.pick(arg)
    if p is None:
        return
    today = school.today()
    offset = (arg >> 8) % (DAYS_AHEAD + 1)
    day = today + timedelta(days=offset) if offset else _where(p)[0]
    unit = (arg >> 11) % len(BELLS)
    p.update(_slot(day, unit), status="CHANGED" if p["status"] == "REGULAR" else p["status"])
    school.put(p, f"moved to {day} unit {unit + 1}")


def op_relocate(school: School, arg: int) -> None:
    """A moved lesson as WebUntis shows it: the old slot cancelled, an extra one elsewhere,
    linked both ways by relatedPeriod."""
    p = school.pick(arg)
    if p is None:
        return
    day = UPSTREAM_DAYS[(arg >> 8) % len(UPSTREAM_DAYS)]
    unit = (arg >> 12) % len(BELLS)
    new = dict(p, **_slot(day, unit), id=school.fake.new_id(), status="ADDITIONAL",
               relatedPeriod=p["id"], substitutionText="verlegt")
    school.put(dict(p, status="CANCELLED", relatedPeriod=new["id"]),
               f"cancelled, moved to {new['id']}")
    school.put(new, f"moved here from {p['id']} ({day} unit {unit + 1})")


def op_delete(school: School, arg: int) -> None:
    p = school.pick(arg)
    if p is not None:
        school.delete(p["id"], "deleted")


def op_recreate(school: School, arg: int) -> None:
    """Put a deleted period back under a new id (the planner deleted it by mistake)."""
    if not school.graveyard:
        return op_create(school, arg)
    ids = sorted(school.graveyard)
    old = school.graveyard[ids[arg % len(ids)]]
    school.put(dict(old, id=school.fake.new_id()), f"re-created from {old['id']}")


def op_double(school: School, arg: int) -> None:
    """Change both halves of a lesson on a day at once (a double period)."""
    p = school.pick(arg)
    if p is None:
        return
    day = _where(p)[0]
    halves = [dict(q) for q in school.fake.periods.values()
              if q.get("lessonId") == p.get("lessonId") and _where(q)[0] == day]
    change = (arg >> 8) % 4
    for q in sorted(halves, key=lambda q: q["id"]):
        if change == 0:
            q["status"] = "CANCELLED"
        elif change == 1:
            q["teachers"] = _replace(q["teachers"], TEACHERS[(arg >> 10) % 4])
        elif change == 2:
            q["rooms"] = _replace(q["rooms"], ROOMS[(arg >> 10) % 4])
        else:
            q.update(status="REGULAR", substitutionText="",
                     teachers=[{"id": i, "status": "REGULAR"} for i in _planned(q["teachers"])],
                     rooms=[{"id": i, "status": "REGULAR"} for i in _planned(q["rooms"])])
        q["status"] = _changed_status(q) if change else q["status"]
        school.put(q, f"double period edit {change} with {[h['id'] for h in halves]}")


def op_exam(school: School, arg: int) -> None:
    p = school.pick(arg)
    if p is not None:
        if arg >> 8 & 1:
            p.update(type="EXAM", exam={"id": 1 + (arg >> 9) % 3})
        else:
            p.update(type="NORMAL_TEACHING_PERIOD", exam=None)
        school.put(p, f"exam {p.get('exam')}")


def op_outside(school: School, arg: int) -> None:
    """Change a period on a day outside the window (yesterday, or past its end)."""
    today = school.today()
    outside = [q for pid, q in sorted(school.fake.periods.items())
               if not today <= _where(q)[0] <= today + timedelta(days=DAYS_AHEAD)]
    if not outside:
        return op_create(school, arg)
    p = dict(outside[arg % len(outside)])
    if arg >> 8 & 1:
        p["teachers"] = _replace(p["teachers"], TEACHERS[(arg >> 9) % 4])
        p["status"] = _changed_status(p)
        school.put(p, "changed outside the window")
    else:
        school.delete(p["id"], "deleted outside the window")


def op_touch(school: School, arg: int) -> None:
    """Save a period unchanged (WebUntis stamps it modified anyway)."""
    p = school.pick(arg)
    if p is not None:
        school.put(p, "saved unchanged")


def op_move_anywhere(school: School, arg: int) -> None:
    """Move a period to any day the upstream holds, in or out of the window."""
    p = school.pick(arg)
    if p is None:
        return
    day, unit = UPSTREAM_DAYS[(arg >> 8) % len(UPSTREAM_DAYS)], (arg >> 12) % len(BELLS)
    p.update(_slot(day, unit), status="CHANGED" if p["status"] == "REGULAR" else p["status"])
    school.put(p, f"moved to {day} unit {unit + 1}")


def op_recreate_same_id(school: School, arg: int) -> None:
    """Put a deleted period back under its own id (an undo upstream)."""
    if school.graveyard:
        ids = sorted(school.graveyard)
        school.put(dict(school.graveyard[ids[arg % len(ids)]]), "re-created under its own id")


OPERATIONS_BY_KIND: list[Callable[[School, int], None]] = [
    op_move_anywhere, op_recreate_same_id,
    op_status, op_substitute, op_room, op_note, op_create, op_delete, op_move, op_relocate,
    op_double, op_recreate, op_exam, op_outside, op_touch,
]


# --- the run --------------------------------------------------------------------------------

def build_school(clock: Clock) -> School:
    fake = HookedUntis(TZ, clock=clock, school="Delta-Schule")
    for category, names in NAMES.items():
        fake.add_names(category, names)
    for day in UPSTREAM_DAYS:
        for cls in CLASSES:
            for unit in range(4):
                pid = day.toordinal() % 1000 * 100 + 10 * cls + unit
                fake.put_period(period(pid, day, unit, cls=cls, teacher=cls, room=cls,
                                       subject=1 + unit // 2))
    fake.backdate(list(fake.periods), clock() - timedelta(days=1))
    return School(fake.start(), clock)


def make_engine(source: UntisSource) -> SyncEngine:
    return SyncEngine(source, MemoryStore(), TZ, DAYS_AHEAD, SCHEDULE)


def assert_same_as_full_reload(school: School, engine: SyncEngine, reference: UntisSource,
                               label: str) -> None:
    """Compare the delta-kept copy with a fresh engine's full load at the same instant."""
    fresh = make_engine(reference)
    result = fresh.run_cycle(school.clock(), force=True)
    assert result.outcome == "full", result
    mine, theirs = engine.store.snapshot(), fresh.store.snapshot()
    assert (mine.window_start, mine.window_end) == (theirs.window_start, theirs.window_end), label
    differing = sorted(pid for pid in mine.periods.keys() | theirs.periods.keys()
                       if mine.periods.get(pid) != theirs.periods.get(pid))
    report = [f"{label}: {len(differing)} periods differ from a full reload"]
    for pid in differing[:4]:
        report += [f"  period {pid}", f"    delta copy:  {mine.periods.get(pid)}",
                   f"    full reload: {theirs.periods.get(pid)}",
                   *(f"    {line}" for line in school.history[pid][-6:])]
    assert not differing, "\n".join(report)
    for p in mine.periods.values():  # every reference still has its name
        for category, refs in p.refs.items():
            for ref in refs:
                assert mine.name_of(category, ref.id) == theirs.name_of(category, ref.id), (
                    label, p.id, category, ref)


def advance_s(arg: int) -> float:
    """Return how long after the previous operation one happens (0 to 24.5 s)."""
    return (arg >> 16) % 50 / 2


operations = st.lists(st.tuples(st.integers(0, len(OPERATIONS_BY_KIND) - 1),
                                st.integers(0, 2**24 - 1)),
                      min_size=OPERATIONS, max_size=OPERATIONS)
# A tick before operation `position`; `during` operations from there land during its cycle.
ticks = st.lists(st.tuples(st.integers(0, OPERATIONS), st.integers(0, 3)),
                 min_size=80, max_size=300)


@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.large_base_example])
@given(start=st.sampled_from(STARTS), operations=operations, ticks=ticks)
def test_delta_cycles_keep_the_same_copy_as_a_full_reload(start, operations, ticks):
    clock = Clock(start)
    school = build_school(clock)
    session = make_session(connect_timeout_s=2, read_timeout_s=5, backoff_factor_s=0.01)
    try:
        client_id, secret = school.fake.credentials
        source = UntisSource(school.fake.url, school.fake.tenant, client_id, secret, TZ, session)
        reference = UntisSource(school.fake.url, school.fake.tenant, client_id, secret, TZ,
                                session)
        engine = make_engine(source)
        assert engine.run_cycle(clock()).outcome == "full"
        compared = run(school, engine, reference, operations, sorted(ticks))
        event(f"starts {start:%a %H:%M}")
        event(f"compared after {min(compared // 25 * 25, 100)}+ cycles")
        clock.advance(seconds=30)
        result = engine.run_cycle(clock(), force=True)
        assert result.outcome in ("delta", "full"), result
        assert_same_as_full_reload(school, engine, reference, "at the end")
    finally:
        session.close()
        school.fake.stop()


def run(school: School, engine: SyncEngine, reference: UntisSource,
        operations: list[tuple[int, int]], ticks: list[tuple[int, int]]) -> None:
    """Apply the operations in order, running a cycle at each tick (some with operations that
    land during it), and compare with a full reload after every cycle nothing overlapped."""
    index, compared = 0, 0

    def apply(kind: int, arg: int, during: bool = False) -> Callable[[], None]:
        def operation() -> None:
            if during:  # milliseconds to seconds pass between the cycle's two calls
                school.clock.advance(seconds=advance_s(arg) / 10)
            OPERATIONS_BY_KIND[kind](school, arg)
            school.done += 1
        return operation

    for position, during in [*ticks, (len(operations), 0)]:
        while index < min(position, len(operations)):
            kind, arg = operations[index]
            school.clock.advance(seconds=advance_s(arg))
            apply(kind, arg)()
            index += 1
        if position >= len(operations):
            break
        overlapping = [apply(*op, during=True) for op in operations[index:index + during]]
        index += len(overlapping)
        school.fake.during_cycle = overlapping
        result = engine.run_cycle(school.clock())
        leftover, school.fake.during_cycle = school.fake.during_cycle, []
        for operation in leftover:  # the cycle made no delta call (skipped, or a full load)
            operation()
        assert result.outcome in ("delta", "full", "skipped"), result
        if result.outcome != "skipped" and not overlapping:
            compared += 1
            assert_same_as_full_reload(school, engine, reference,
                                       f"after operation {school.done}")
    return compared
