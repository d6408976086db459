"""UniTime day-one readiness: our requests are the documented calls with the parameters UniTime
reads; the fake refuses what UniTime refuses (and no more); an approval status or event type the
reference does not list keeps its meeting, shown as a change; optional lists may be null or
missing. All through the fake over real HTTP."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import requests

from signage.domain.rows import change_rows
from signage.sources.unitime import UnitimeSource
from signage.sync.engine import SyncEngine
from tests.conftest import BELLS, MONDAY, NAMES, SCHEDULE, TZ, cycle
from tests.fakes.unitime_server import FakeUnitime

TERM_PARAMS = {"term"}
EVENT_PARAMS = {"term", "type", "e:from", "e:to", "e:mode", "e:room"}


@pytest.fixture
def uni(clock):
    """Monday and Tuesday: four meetings of class 1 a day (teacher 1, room 1), two events."""
    server = FakeUnitime(TZ, clock=clock)
    for category, names in NAMES.items():
        server.add_names(category, names)
    for offset in range(2):
        for unit in range(4):
            server.add_lesson(1010 + 100 * offset + unit, MONDAY + timedelta(days=offset),
                              *BELLS[unit], cls=1, teacher=1, room=1, subject=1 + unit // 2,
                              course=101 + unit // 2)
    server.start()
    yield server
    server.stop()


def engine_for(uni: FakeUnitime, session, store, **settings: str) -> SyncEngine:
    source = UnitimeSource.from_settings({**uni.settings(), **settings}, TZ, session)
    return SyncEngine(source, store, TZ, days_ahead=2, schedule=SCHEDULE)


@pytest.fixture
def engine(uni, session, store) -> SyncEngine:
    return engine_for(uni, session, store)


def kinds(engine: SyncEngine) -> dict[str, tuple[str, ...]]:
    return {r.start: r.kinds for r in change_rows(engine.store.snapshot(), MONDAY)}


def get(uni: FakeUnitime, endpoint: str, basic: bool = True, **params: str) -> requests.Response:
    auth = (uni.user, uni.password) if basic else None
    return requests.get(f"{uni.url}/api/{endpoint}", params=params, auth=auth, timeout=5)


# --- 2. our requests, as documented ---------------------------------------------------------------
@pytest.mark.parametrize("settings", [{}, {"UNITIME_ROOMS": "R101,Bio1"}],
                         ids=["every room", "configured rooms"])
def test_our_requests_are_the_documented_calls_with_readable_parameters(uni, session, store,
                                                                         clock, settings):
    engine = engine_for(uni, session, store, **settings)
    assert engine.run_cycle(clock()).outcome == "full"
    uni.cancel(1011)
    assert cycle(engine, clock) == "delta"
    assert {r.method for r in uni.requests} == {"GET"}
    assert {r.status for r in uni.requests} == {200}
    assert uni.ignored == []  # not one parameter or chip value UniTime would not read
    by_endpoint = {r.endpoint: set(r.params) for r in uni.requests}
    assert by_endpoint["roles"] == set()
    assert by_endpoint["rooms"] == TERM_PARAMS
    assert set().union(*(set(r.params) for r in uni.requests if r.endpoint == "events")) == (
        EVENT_PARAMS if settings else EVENT_PARAMS - {"e:room"})
    assert all(r.params["type"] == ["ROOM"] for r in uni.requests if r.endpoint == "events")


def test_the_token_travels_as_the_documented_parameter(uni, session, store, clock):
    engine = engine_for(uni, session, store, UNITIME_USER="", UNITIME_PASSWORD="",
                        UNITIME_TOKEN=uni.token)
    assert engine.run_cycle(clock()).outcome == "full"
    assert set(uni.auth) == {"token"} and uni.ignored == []


@pytest.mark.parametrize(
    ("endpoint", "params", "status"),
    [("rooms", {}, 400), ("rooms", {"term": "Spr2031"}, 400),
     ("events", {"term": "Fal2026"}, 400), ("events", {"term": "Fal2026", "type": "BUILDING"}, 400),
     ("events", {"term": "Fal2026", "type": "ROOM", "e:room": "R101"}, 400),
     ("events", {"type": "ROOM"}, 400)],
    ids=["rooms without a term", "an unknown term", "events without a type",
         "a type not served", "a room chip that is no id", "events without a term"],
)
def test_the_fake_refuses_what_unitime_refuses_with_400(uni, endpoint, params, status):
    assert get(uni, endpoint, **params).status_code == status


@pytest.mark.parametrize("auth", ["none", "wrong token", "the password as token"])
def test_the_fake_refuses_a_call_without_valid_credentials_with_401(uni, auth):
    params = {"none": {}, "wrong token": {"token": "nope"},
              "the password as token": {"token": uni.password}}[auth]
    assert get(uni, "roles", basic=False, **params).status_code == 401


def test_the_fake_ignores_an_unread_chip_as_unitime_does_and_records_it(uni):
    answer = get(uni, "events", term="Fal2026", type="ROOM", **{"e:from": "2026-11-23",
                                                                 "e:frm": "11/23/2026"})
    assert answer.status_code == 200  # every meeting: no bound
    assert sum(len(e["meetings"]) for e in answer.json()) == 8
    assert sorted(uni.ignored) == ["events: e:frm", "events: e:from=2026-11-23 (unreadable date)"]


# --- 3. tolerance where the reference is silent -------------------------------------------------
@pytest.mark.parametrize(
    ("status", "logged"),
    [("Inquired", "unknown approvalStatus 'Inquired'"), ("approved", "'approved'")],
    ids=["a new status", "another spelling"],
)
def test_an_unknown_approval_status_keeps_the_meeting_as_a_change_logged_once(
        uni, engine, clock, caplog, status, logged):
    caplog.set_level(logging.INFO, logger="signage.sources.unitime_parse")
    assert engine.run_cycle(clock()).outcome == "full"
    for pid in (1011, 1013, 1111):
        uni.set_meeting(pid, status=status)
    assert cycle(engine, clock) == "delta"
    uni.cancel(1010)
    assert cycle(engine, clock) == "delta"
    assert kinds(engine) == {"08:00": ("cancelled",), "08:50": ("changed",),
                             "10:45": ("changed",)}
    assert 1111 in engine.store.snapshot().periods
    assert sum(f"'{status}'" in r.getMessage() for r in caplog.records) == 1, caplog.text
    assert logged in caplog.text


def test_an_unknown_event_type_keeps_the_meeting_as_a_change_logged_once(uni, engine, clock,
                                                                        caplog):
    caplog.set_level(logging.INFO, logger="signage.sources.unitime_parse")
    uni.add_lesson(1014, MONDAY, *BELLS[4], cls=1, teacher=2, room=2, subject=3, course=103,
                   event_type="Workshop")
    uni.add_lesson(1114, MONDAY + timedelta(days=1), *BELLS[4], cls=1, teacher=2, room=2,
                   subject=3, course=103, event_type="Workshop")
    assert engine.run_cycle(clock()).outcome == "full"
    assert cycle(engine, clock) == "delta"
    period = engine.store.snapshot().periods[1014]
    assert (period.type, period.status) == ("EVENT", "CHANGED")
    assert kinds(engine) == {"11:50": ("changed",)}
    assert sum("'Workshop'" in r.getMessage() for r in caplog.records) == 1, caplog.text


@pytest.mark.parametrize("event_type", ["Special", "Unavailabile", "Unavailable"])
def test_documented_event_types_are_events_not_changes(uni, engine, clock, event_type):
    uni.add_lesson(1014, MONDAY, *BELLS[4], cls=1, teacher=2, room=2, subject=3,
                   event_type=event_type)
    assert engine.run_cycle(clock()).outcome == "full"
    assert engine.store.snapshot().periods[1014].status == "REGULAR"


@pytest.mark.parametrize("value", [None, ...], ids=["null", "omitted"])
@pytest.mark.parametrize("field", ["instructors", "courseNames", "meetings"])
def test_an_event_without_an_optional_list_keeps_the_cycle_going(uni, engine, clock, field,
                                                                  value):
    engine.run_cycle(clock())
    uni.set_event(102, **{field: value})  # the second event: Monday's units 3-4
    assert cycle(engine, clock) == "delta"
    assert 1010 in engine.store.snapshot().periods
    assert (1012 in engine.store.snapshot().periods) == (field != "meetings")


@pytest.mark.parametrize("value", [None, ...], ids=["null", "omitted"])
def test_a_meeting_without_a_location_keeps_the_cycle_going(uni, engine, clock, value):
    engine.run_cycle(clock())
    uni.set_meeting(1012, wire={"location": value})
    assert cycle(engine, clock) == "delta"
    assert 1012 in engine.store.snapshot().periods
