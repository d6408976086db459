"""Lesson numbers from the JSON-RPC upstream's time grid (`getTimegridUnits`), through the fake
over real HTTP and the real engine: the grid's numbers, not counted start times; a refusal or an
unusable grid still syncs and counts; the grid is asked once per full load."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

import pytest

from signage.domain.rows import change_rows, day_rows
from signage.sources.jsonrpc import JsonRpcSource
from signage.sources.jsonrpc_grid import parse_timegrid, unit_of
from signage.sync.engine import SyncEngine
from tests.conftest import BELLS, MONDAY, NAMES, SCHEDULE, TZ, cycle
from tests.fakes.jsonrpc_server import FakeJsonRpc

TUESDAY = MONDAY + timedelta(days=1)
GRID_LOGGER = "signage.sources.jsonrpc_grid"


@pytest.fixture
def rpc(clock):
    """Monday: the first unit is free for the whole school, class 5a has units 2-4 (a double
    period in 3-4); Tuesday: a full day from unit 1. The fake serves BELLS as its grid."""
    server = FakeJsonRpc(TZ, school="Testschule", clock=clock)
    server.timegrid = BELLS
    for category, names in NAMES.items():
        server.add_names(category, names)
    for offset, units in ((0, range(1, 4)), (1, range(4))):
        for unit in units:
            server.add_lesson(1000 + 100 * offset + unit, MONDAY + timedelta(days=offset),
                              *BELLS[unit], cls=1, teacher=1, room=1, subject=1 + unit // 2,
                              lesson=101 + unit // 2)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def engine(rpc, session, store) -> SyncEngine:
    user, password = rpc.credentials
    source = JsonRpcSource(rpc.url, rpc.school, user, password, TZ, session)
    return SyncEngine(source, store, TZ, days_ahead=2, schedule=SCHEDULE)


def units(engine: SyncEngine, day=MONDAY) -> dict[str, tuple[int, int] | None]:
    return {r.start: r.units for r in day_rows(engine.store.snapshot(), day)}


def serve(rpc: FakeJsonRpc, method: str, result) -> None:
    """Make the fake answer `method` with `result` (still echoing the request id)."""
    original = rpc.answer

    def answer(verb, path, query, raw, session):
        status, headers, body, call = original(verb, path, query, raw, session)
        if call.method == method and isinstance(body, dict) and "result" in body:
            body = {**body, "result": result}
        return status, headers, body, call

    rpc.answer = answer


# --- the upstream's numbers -------------------------------------------------------------------
def test_a_day_whose_first_unit_is_free_starts_at_unit_2(rpc, engine, clock):
    assert engine.run_cycle(clock()).outcome == "full"
    # Counting the day's start times would call the 8:50 lesson "1".
    assert units(engine) == {"08:50": (2, 2), "09:55": (3, 4)}
    assert units(engine, TUESDAY) == {"08:00": (1, 2), "09:55": (3, 4)}
    assert rpc.count("getTimegridUnits") == 1


def test_change_rows_of_a_delta_keep_the_grids_numbers(rpc, engine, clock):
    engine.run_cycle(clock())
    rpc.cancel(1002)
    rpc.cancel(1003)
    rpc.substitute(1001, 2)
    assert cycle(engine, clock) == "delta"
    rows = change_rows(engine.store.snapshot(), MONDAY)
    assert [(r.start, r.units, r.kinds) for r in rows] == [
        ("08:50", (2, 2), ("substitution",)), ("09:55", (3, 4), ("cancelled",))]
    assert [r.unit_label for r in rows] == ["2", "3-4"]
    assert rpc.count("getTimegridUnits") == 1  # the delta numbered with the kept grid


def test_a_period_off_the_bells_takes_the_unit_its_start_falls_in(rpc, engine, clock):
    rpc.add_extra(1999, MONDAY, time(9, 0), time(9, 30), cls=2, teacher=2, room=2, subject=3)
    rpc.add_extra(1998, MONDAY, time(7, 0), time(7, 45), cls=3, teacher=3, room=3, subject=3)
    engine.run_cycle(clock())
    periods = engine.store.snapshot().periods
    assert (periods[1999].unit, periods[1998].unit, periods[1001].unit) == (2, None, 2)


# --- asked once per full load -----------------------------------------------------------------
def test_the_grid_is_asked_once_per_full_load_not_per_delta(rpc, engine, clock):
    assert engine.run_cycle(clock()).outcome == "full"
    rpc.cancel(1001)
    assert cycle(engine, clock) == "delta"  # the import time moved: the window is fetched
    assert cycle(engine, clock) == "delta"  # quiet
    assert rpc.count("getTimetable") == 2 * len(NAMES["classes"])  # full load and one delta
    assert rpc.count("getTimegridUnits") == 1
    rpc.timegrid = [(start, end) for start, end in BELLS[1:]]  # the school moved its bells
    clock.set_local(datetime.combine(TUESDAY, time(7, 0)))  # past the nightly full reload
    assert engine.run_cycle(clock()).outcome == "full"
    assert rpc.count("getTimegridUnits") == 2
    assert units(engine, TUESDAY)["09:55"] == (2, 3)  # the new grid, read again


# --- refused or unusable: counted, logged once ---------------------------------------------------
@pytest.mark.parametrize(
    ("refuse", "logged"),
    [(lambda f: setattr(f, "timegrid_refused", True), "refused (error -8509: no right"),
     (lambda f: f.fail("getTimegridUnits", -32601, "Method not found", times=9), "-32601"),
     (lambda f: f.fail("getTimegridUnits", -7777, "whatever", times=9), "-7777")],
    ids=["no right (-8509)", "method not found", "an unknown error"],
)
def test_a_refused_grid_still_syncs_and_counts_logged_once(rpc, engine, clock, caplog, refuse,
                                                          logged):
    caplog.set_level(logging.INFO, logger=GRID_LOGGER)
    refuse(rpc)
    assert engine.run_cycle(clock()).outcome == "full"
    assert units(engine) == {"08:50": (1, 1), "09:55": (2, 3)}  # counted
    rpc.cancel(1001)
    assert cycle(engine, clock) == "delta"
    assert rpc.count("getTimegridUnits") == 1  # not asked again until the next full load
    clock.set_local(datetime.combine(TUESDAY, time(7, 0)))
    assert engine.run_cycle(clock()).outcome == "full"
    assert rpc.count("getTimegridUnits") == 2
    grid_lines = [r.getMessage() for r in caplog.records if r.name == GRID_LOGGER]
    assert len(grid_lines) == 1, grid_lines  # once per source, not per full load
    assert logged in grid_lines[0] and "counted" in grid_lines[0]
    assert engine.store.status().last_error is None


@pytest.mark.parametrize(
    "result",
    [{"day": 2, "timeUnits": []}, None, [{"day": 9, "timeUnits": []}],
     [{"day": 2, "timeUnits": {"1": 800}}],
     [{"day": 2, "timeUnits": [{"name": "1", "startTime": "08:00", "endTime": 845}]}],
     [{"day": 2, "timeUnits": [{"name": "1", "startTime": 875, "endTime": 945}]}],
     [{"day": 2, "timeUnits": [{"name": "1", "startTime": 900, "endTime": 845}]}],
     [{"day": 2, "timeUnits": []}, {"day": 2, "timeUnits": []}]],
    ids=["an object", "null", "day 9", "units not a list", "time as text", "minute 75",
         "ends before it starts", "a day twice"],
)
def test_an_unusable_grid_still_syncs_and_counts(rpc, engine, clock, caplog, result):
    caplog.set_level(logging.INFO, logger=GRID_LOGGER)
    serve(rpc, "getTimegridUnits", result)
    assert engine.run_cycle(clock()).outcome == "full"
    assert units(engine) == {"08:50": (1, 1), "09:55": (2, 3)}
    assert "getTimegridUnits answered unusably" in caplog.text


def test_a_school_without_a_grid_counts_without_a_warning(rpc, engine, clock, caplog):
    rpc.timegrid = None  # answered []
    assert engine.run_cycle(clock()).outcome == "full"
    assert units(engine) == {"08:50": (1, 1), "09:55": (2, 3)}
    assert not [r for r in caplog.records if r.name == GRID_LOGGER]


def test_a_lost_session_on_the_grid_call_logs_in_again_and_numbers(rpc, engine, clock):
    rpc.fail("getTimegridUnits", -8520)
    assert engine.run_cycle(clock()).outcome == "full"
    assert rpc.count("getTimegridUnits") == 2 and rpc.count("authenticate") == 2
    assert units(engine)["08:50"] == (2, 2)


# --- the grid read on its own ---------------------------------------------------------------------
MONDAY_GRID = [{"day": 2, "timeUnits": [
    {"name": "2", "startTime": 850, "endTime": 935},  # listed out of order: numbered by start
    {"name": "1", "startTime": 800, "endTime": 845},
    {"name": "3", "startTime": 955, "endTime": 1040}]}]


@pytest.mark.parametrize(
    ("start", "expected"),
    [(datetime(2026, 11, 23, 8, 0), 1), (datetime(2026, 11, 23, 8, 50), 2),
     (datetime(2026, 11, 23, 9, 0), 2), (datetime(2026, 11, 23, 8, 45), None),
     (datetime(2026, 11, 23, 7, 0), None), (datetime(2026, 11, 23, 13, 0), None),
     (datetime(2026, 11, 24, 8, 50), None), (datetime(2026, 11, 22, 8, 50), None)],
    ids=["first bell", "second bell", "inside unit 2", "in the break", "before the grid",
         "after the grid", "Tuesday has no units", "Sunday (day 1) has no units"],
)
def test_a_start_is_numbered_by_its_weekdays_units(start, expected):
    assert unit_of(parse_timegrid(MONDAY_GRID), start) == expected
