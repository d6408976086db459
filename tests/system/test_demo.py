"""The built-in demo school through the real WebUntis v3 client and sync engine."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from signage.demo.school import CLASSES, MAX_CHANGES, ROOMS, TEACHERS, DemoSchool
from signage.demo.server import FakeUntis
from signage.domain.rows import change_rows
from signage.sources.untis import UntisSource
from signage.store import MemoryStore
from signage.sync.engine import SyncEngine
from tests.conftest import MONDAY, SCHEDULE, TZ


@pytest.fixture
def demo(clock):
    fake = FakeUntis(TZ, clock=clock).start()
    school = DemoSchool(fake)
    yield school
    fake.stop()


@pytest.fixture
def demo_engine(demo, session):
    client_id, secret = demo.fake.credentials
    source = UntisSource(demo.fake.url, demo.fake.tenant, client_id, secret, TZ, session)
    return SyncEngine(source, MemoryStore(), TZ, days_ahead=7, schedule=SCHEDULE)


def test_the_demo_school_has_a_realistic_size():
    assert (len(CLASSES), len(TEACHERS), len(ROOMS)) == (20, 40, 30)
    assert "5a" in CLASSES and "R101" in ROOMS


def test_a_school_week_shows_every_kind_of_change(demo_engine, clock):
    assert demo_engine.run_cycle(clock()).outcome == "full"
    snapshot = demo_engine.store.snapshot()
    weekdays = [MONDAY + timedelta(days=d) for d in range(5)]
    rows = [row for day in weekdays for row in change_rows(snapshot, day)]
    kinds = Counter(kind for row in rows for kind in row.kinds)
    for kind in ("cancelled", "substitution", "room_change", "additional", "exam", "moved"):
        assert kinds[kind] > 0, kinds
    assert len(snapshot.periods) > 500
    assert not any(p.day.weekday() >= 5 for p in snapshot.periods.values())
    double = [r for r in rows if "exam" in r.kinds]
    assert any((r.start, r.end) in {("07:55", "09:30"), ("09:50", "11:25"), ("11:45", "13:20")}
               for r in double), "exams cover a merged double period"


def test_the_planner_keeps_changing_the_plan_and_deltas_follow(demo, demo_engine, clock):
    demo_engine.run_cycle(clock())
    before = change_rows(demo_engine.store.snapshot(), MONDAY)
    upserts = deletions = 0
    for _ in range(60):
        clock.advance(seconds=10)
        demo.step(MONDAY)
        result = demo_engine.run_cycle(clock())
        assert result.outcome == "delta", result
        upserts += result.upserts
        deletions += result.deletions
    assert upserts > 0 and deletions > 0
    assert change_rows(demo_engine.store.snapshot(), MONDAY) != before
    # The delta-kept copy is exactly what a full load would give.
    fresh = SyncEngine(demo_engine.source, MemoryStore(), TZ, 7, SCHEDULE)
    fresh.run_cycle(clock())
    assert fresh.store.snapshot().periods == demo_engine.store.snapshot().periods


def test_the_planner_calms_busy_days_down_again(demo):
    days = [MONDAY + timedelta(days=offset) for offset in range(3)]
    for day in days:
        demo.load_day(day)
    for _ in range(400):
        demo.step(MONDAY)
    for day in days:
        changed = demo._periods(day, "CHANGED") + demo._periods(day, "CANCELLED")
        regular = demo._periods(day, "REGULAR")
        assert len(changed) <= MAX_CHANGES + 2 and len(regular) > 3 * len(changed)
