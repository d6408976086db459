"""The sync engine over real HTTP against the fake WebUntis v3 server, with a frozen clock."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from signage.demo.server import Fault
from signage.sync.engine import CURSOR_OVERLAP_S, SyncEngine
from signage.sync.schedule import MAX_BACKOFF_S, backoff_s
from tests.conftest import MONDAY, SCHEDULE, TZ, period

TUESDAY = MONDAY + timedelta(days=1)
THURSDAY = MONDAY + timedelta(days=3)


def test_first_cycle_loads_the_whole_window(engine, store, fake, clock):
    result = engine.run_cycle(clock())
    assert result.outcome == "full" and result.version == 1
    snapshot = store.snapshot()
    assert (snapshot.window_start, snapshot.window_end) == (MONDAY, MONDAY + timedelta(days=2))
    assert len(snapshot.periods) == 36
    status = store.status()
    assert status.last_success == clock() and status.last_error is None
    assert status.cursor == clock() - timedelta(seconds=CURSOR_OVERLAP_S)
    assert fake.count("deleted") == 0


def test_a_delta_applies_changed_periods(engine, store, fake, clock):
    engine.run_cycle(clock())
    clock.advance(minutes=2)
    fake.update_period(1010, status="CANCELLED", substitutionText="entfällt")
    result = engine.run_cycle(clock())
    assert result.outcome == "delta" and result.upserts == 1 and result.version == 2
    changed = store.snapshot().periods[1010]
    assert (changed.status, changed.text) == ("CANCELLED", "entfällt")
    timetable = [r for r in fake.requests if r.endpoint == "timetable"][-1]
    deleted = [r for r in fake.requests if r.endpoint == "deleted"][-1]
    previous = clock() - timedelta(minutes=2, seconds=CURSOR_OVERLAP_S)
    cursor = previous.strftime("%Y-%m-%dT%H:%M:%S")
    assert timetable.params["dateLastModifiedAfter"] == [cursor]
    assert deleted.params["dateLastModifiedAfter"] == [cursor]


def test_a_delta_without_changes_keeps_the_version(engine, store, fake, clock):
    engine.run_cycle(clock())
    clock.advance(minutes=5)
    result = engine.run_cycle(clock())
    assert (result.outcome, result.upserts, result.version) == ("delta", 0, 1)
    assert store.status().cursor == clock() - timedelta(seconds=CURSOR_OVERLAP_S)


def test_deleted_periods_leave_the_snapshot(engine, store, fake, clock):
    engine.run_cycle(clock())
    clock.advance(minutes=2)
    fake.delete_period(1011)
    result = engine.run_cycle(clock())
    assert result.deletions == 1
    assert 1011 not in store.snapshot().periods


def test_a_new_period_arrives_with_its_names(engine, store, fake, clock):
    engine.run_cycle(clock())
    clock.advance(minutes=2)
    fake.add_names("teachers", {9: "NEU"})
    fake.put_period(period(5000, MONDAY, 4, teacher=9, status="ADDITIONAL", lesson=None))
    engine.run_cycle(clock())
    snapshot = store.snapshot()
    assert snapshot.periods[5000].status == "ADDITIONAL"
    assert snapshot.name_of("teachers", 9) == "NEU"


def test_a_failed_deletion_call_applies_nothing_and_keeps_the_cursor(engine, store, fake, clock):
    engine.run_cycle(clock())
    before_version, before = store.current()
    cursor = store.status().cursor
    clock.advance(minutes=2)
    fake.update_period(1010, status="CANCELLED")
    fake.delete_period(1011)
    fake.inject(Fault("deleted", status=500))
    result = engine.run_cycle(clock())
    assert result.outcome == "failed" and "HTTP 500" in result.error
    assert store.current() == (before_version, before)  # not even the timetable half
    status = store.status()
    assert status.cursor == cursor and status.failures == 1 and "HTTP 500" in status.last_error
    assert status.last_success != clock()
    clock.advance(minutes=1)
    result = engine.run_cycle(clock())
    assert result.outcome == "delta"
    snapshot = store.snapshot()
    assert snapshot.periods[1010].status == "CANCELLED" and 1011 not in snapshot.periods
    assert store.status().failures == 0 and store.status().last_error is None


@pytest.mark.parametrize(
    "fault",
    [
        Fault("timetable", status=200, body=b"{broken"),
        Fault("timetable", status=200, body=b'{"timetableData": {"periods": "none"}}'),
        Fault("timetable", status=500),
        Fault("token", status=401),
    ],
    ids=["malformed JSON", "wrong shape", "HTTP 500", "token refused"],
)
def test_a_broken_answer_keeps_the_last_good_snapshot(engine, store, fake, clock, fault):
    engine.run_cycle(clock())
    good = store.current()
    clock.advance(minutes=2)
    fake.update_period(1010, status="CANCELLED")
    fake.expire_tokens()  # so a token fault bites, too
    fake.inject(fault)
    result = engine.run_cycle(clock())
    assert result.outcome == "failed"
    assert store.current() == good
    assert store.status().last_error


def test_failures_back_off_and_recover_by_themselves(engine, store, fake, clock):
    engine.run_cycle(clock())
    fake.inject(Fault("timetable", status=500, times=2))
    assert engine.run_cycle(clock.advance(seconds=60)).outcome == "failed"
    assert engine.run_cycle(clock.advance(seconds=60)).outcome == "failed"
    wait = backoff_s(2, SCHEDULE.refresh_s)
    assert store.status().not_before == clock() + timedelta(seconds=wait)
    assert engine.run_cycle(clock.advance(seconds=60)).outcome == "skipped"
    assert engine.run_cycle(clock.advance(seconds=wait)).outcome == "delta"
    assert store.status().failures == 0


@pytest.mark.parametrize(
    ("evening", "fault"),
    [pytest.param(True, None, id="in the evening, idle polling"),
     pytest.param(False, Fault("timetable", status=500, times=2), id="while backing off")],
)
def test_a_clock_stepped_back_hours_does_not_stop_the_sync(engine, store, fake, clock,
                                                           evening, fault):
    if evening:
        clock.set_local(datetime.combine(MONDAY, time(19, 0)))
    engine.run_cycle(clock())
    if fault is not None:
        fake.inject(fault)
        engine.run_cycle(clock.advance(seconds=60))
        engine.run_cycle(clock.advance(seconds=60))
        assert store.status().not_before > clock()
    clock.advance(hours=-2)  # NTP steps our clock back
    assert engine.run_cycle(clock.advance(seconds=60)).outcome == "delta"
    assert engine.run_cycle(clock.advance(seconds=60 if not evening else 900)).outcome == "delta"


def test_retry_after_sets_the_next_try(engine, store, fake, clock):
    engine.run_cycle(clock())
    fake.inject(Fault("timetable", status=429, headers={"Retry-After": "600"}))
    assert engine.run_cycle(clock.advance(seconds=60)).outcome == "failed"
    assert store.status().not_before == clock() + timedelta(seconds=600)
    assert engine.run_cycle(clock.advance(seconds=300)).outcome == "skipped"
    assert engine.run_cycle(clock.advance(seconds=300)).outcome == "delta"


def test_backoff_doubles_and_is_capped():
    assert backoff_s(1, 60) == 0
    assert backoff_s(2, 60) == 120
    assert backoff_s(3, 60) == 240
    assert backoff_s(30, 60) == MAX_BACKOFF_S
    assert backoff_s(1, 60, retry_after_s=30) == 30


def test_the_cursor_follows_the_upstream_clock_not_ours(engine, store, fake, clock):
    engine.run_cycle(clock())
    fake.clock = lambda: clock() - timedelta(hours=1)  # the upstream runs an hour behind us
    clock.advance(minutes=2)
    engine.run_cycle(clock())
    fake.update_period(1010, status="CANCELLED")  # stamped with the upstream's clock
    clock.advance(minutes=2)
    engine.run_cycle(clock())
    assert store.snapshot().periods[1010].status == "CANCELLED"


def test_the_window_rolls_at_midnight(engine, store, fake, clock):
    clock.set_local(datetime.combine(MONDAY, time(23, 50)))
    engine.run_cycle(clock())
    fake.put_period(period(4010, THURSDAY, 0))  # planned for the day the window gains
    clock.set_local(datetime.combine(TUESDAY, time(0, 6)))  # the next idle-time poll
    assert engine.run_cycle(clock()).outcome == "delta"
    snapshot = store.snapshot()
    assert (snapshot.window_start, snapshot.window_end) == (TUESDAY, THURSDAY)
    assert all(p.day >= TUESDAY for p in snapshot.periods.values())
    assert 4010 in snapshot.periods and 2010 in snapshot.periods
    gained = [r for r in fake.requests if r.endpoint == "timetable"][-2]
    assert (gained.params["start"], gained.params["end"]) == (["2026-11-26T00:00:00"],
                                                          ["2026-11-26T23:59:59"])
    assert "dateLastModifiedAfter" not in gained.params


def test_a_window_that_lost_all_overlap_is_loaded_in_full(engine, store, fake, clock):
    engine.run_cycle(clock())
    clock.advance(days=10)
    assert engine.run_cycle(clock()).outcome == "full"
    assert store.snapshot().window_start == MONDAY + timedelta(days=10)


def test_the_periodic_full_reload_reports_what_the_deltas_missed(source, store, fake, clock,
                                                                caplog):
    engine = SyncEngine(source, store, TZ, 2, replace(SCHEDULE, full_reload_at=time(10, 0)))
    engine.run_cycle(clock())
    with fake.lock:  # vanish without a trace in deleted-periods: only a full load can notice
        del fake.periods[1012]
    clock.advance(minutes=30)
    assert engine.run_cycle(clock()).outcome == "delta"
    assert 1012 in store.snapshot().periods
    clock.advance(minutes=31)
    with caplog.at_level(logging.WARNING, logger="signage.sync.engine"):
        result = engine.run_cycle(clock())
    assert result.outcome == "full" and result.differences == 1
    assert 1012 not in store.snapshot().periods
    assert "1 periods that differed" in caplog.text


def test_outside_school_hours_it_polls_at_the_idle_interval(engine, store, fake, clock):
    clock.set_local(datetime.combine(MONDAY, time(20, 0)))
    assert engine.run_cycle(clock()).outcome == "full"
    assert engine.run_cycle(clock.advance(seconds=120)).outcome == "skipped"
    assert engine.run_cycle(clock.advance(seconds=SCHEDULE.idle_refresh_s)).outcome == "delta"
    assert engine.run_cycle(clock.advance(seconds=1), force=True).outcome == "delta"


def test_in_school_hours_it_polls_every_tick(engine, clock):
    assert engine.run_cycle(clock()).outcome == "full"
    assert engine.run_cycle(clock.advance(seconds=60)).outcome == "delta"


def test_readers_see_the_old_snapshot_or_the_new_one(engine, store, fake, clock):
    engine.run_cycle(clock())
    old = store.snapshot()
    clock.advance(minutes=2)
    fake.update_period(1010, status="CANCELLED")
    engine.run_cycle(clock())
    assert old.periods[1010].status == "REGULAR"  # a reader holding the old one is unaffected
    assert store.snapshot().periods[1010].status == "CANCELLED"


@pytest.mark.parametrize(
    "utc_now",
    [datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)],
    ids=["02:30 summer time", "02:30 again, winter time"],
)
def test_the_cursor_never_runs_ahead_on_the_night_clocks_go_back(source, store, fake, clock,
                                                                  utc_now):
    # Both instants read "2026-10-25T02:30" in Berlin; v3 sends local times without an offset.
    clock.now = utc_now
    engine = SyncEngine(source, store, TZ, 2, SCHEDULE)
    assert engine.run_cycle(clock(), force=True).outcome == "full"
    assert store.status().cursor <= utc_now - timedelta(seconds=CURSOR_OVERLAP_S)
    assert store.snapshot().window_start == utc_now.astimezone(TZ).date()


def test_the_window_follows_the_school_day_across_the_spring_change(engine, store, clock):
    clock.now = datetime(2027, 3, 27, 23, 30, tzinfo=UTC)  # 00:30 on the 28th in Berlin (CET)
    engine.run_cycle(clock(), force=True)
    assert store.snapshot().window_start == date(2027, 3, 28)
    clock.now = datetime(2027, 3, 28, 22, 30, tzinfo=UTC)  # 00:30 on the 29th (CEST)
    engine.run_cycle(clock(), force=True)
    assert store.snapshot().window_start == date(2027, 3, 29)


def test_an_empty_full_reload_does_not_blank_the_boards(source, store, fake, clock):
    engine = SyncEngine(source, store, TZ, 2, replace(SCHEDULE, full_reload_at=time(10, 0)))
    engine.run_cycle(clock())
    good = store.current()
    clock.set_local(datetime.combine(MONDAY, time(10, 1)))
    fake.inject(Fault("timetable", status=200, body=b'{"timetableData": {"periods": []}}'))
    result = engine.run_cycle(clock())
    assert result.outcome == "failed" and "no periods" in result.error
    assert store.current() == good
    clock.advance(minutes=2)
    assert engine.run_cycle(clock()).outcome == "full"  # a good answer: the boards stay full
    assert store.snapshot().periods == good[1].periods


def test_an_empty_window_said_twice_in_a_row_is_taken_as_confirmed(source, store, fake, clock):
    engine = SyncEngine(source, store, TZ, 2, replace(SCHEDULE, full_reload_at=time(10, 0)))
    engine.run_cycle(clock())
    clock.set_local(datetime.combine(MONDAY, time(10, 1)))
    fake.inject(Fault("timetable", status=200, body=b'{"timetableData": {"periods": []}}',
                      times=2))
    assert engine.run_cycle(clock()).outcome == "failed"
    clock.advance(minutes=2)
    assert engine.run_cycle(clock()).outcome == "full"
    assert store.snapshot().periods == {}


def test_an_upstream_clock_running_ahead_does_not_push_the_cursor_ahead(engine, store, fake,
                                                                         clock):
    fake.clock = lambda: clock() + timedelta(days=2000)
    engine.run_cycle(clock())
    assert store.status().cursor == clock() - timedelta(seconds=CURSOR_OVERLAP_S)


def test_upserts_count_only_periods_that_changed(engine, fake, clock):
    engine.run_cycle(clock())
    clock.advance(seconds=30)
    fake.update_period(1010, status="CANCELLED")
    assert engine.run_cycle(clock()).upserts == 1
    clock.advance(seconds=30)  # the overlap sends 1010 again, unchanged
    result = engine.run_cycle(clock())
    assert result.upserts == 0 and result.version == 2
