"""MyTimetable day-one readiness: our requests are the documented calls with the documented
parameters and headers; the fake refuses what the reference says MyTimetable refuses (and takes
every form it documents); lists left null or out never fail a cycle. All through the fake over
real HTTP."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import requests

from signage.demo.server import Fault
from signage.sources.mytimetable import MyTimetableSource
from signage.sync.engine import SyncEngine
from tests.conftest import BELLS, MONDAY, NAMES, SCHEDULE, TZ, cycle
from tests.fakes.mytimetable_server import FakeMyTimetable

TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
def mtt(clock):
    """Monday and Tuesday: four events of class 1 a day (teacher 1, room 1)."""
    server = FakeMyTimetable(TZ, clock=clock)
    for category, names in NAMES.items():
        server.add_names(category, names)
    for offset, day in enumerate((MONDAY, TUESDAY)):
        for unit in range(4):
            server.add_lesson(1010 + 100 * offset + unit, day, *BELLS[unit], cls=1, teacher=1,
                              room=1, subject=1 + unit // 2)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def engine(mtt, session, store) -> SyncEngine:
    source = MyTimetableSource(mtt.url, mtt.token, TZ, session)
    return SyncEngine(source, store, TZ, days_ahead=7, schedule=SCHEDULE)


def get(mtt: FakeMyTimetable, path: str, **params: str) -> requests.Response:
    headers = {"apiToken": mtt.token, "Accept": "application/json"}
    return requests.get(f"{mtt.url}/api/v0{path}", params=params, headers=headers, timeout=5)


def events_path(mtt: FakeMyTimetable) -> str:
    return "/timetables/" + mtt.key("studentset", "5a").replace("!", "%21")


# --- 2. our requests, as documented ---------------------------------------------------------------
def test_our_requests_are_the_documented_calls_with_documented_parameters(mtt, engine, clock):
    assert engine.run_cycle(clock()).outcome == "full"
    mtt.substitute(1011, teacher=2)
    assert cycle(engine, clock) == "delta"
    assert {r.method for r in mtt.requests} == {"GET"}
    assert {r.status for r in mtt.requests} == {200}  # apiToken and Accept: JSON on every call
    assert mtt.ignored == []  # not one parameter the API does not document
    params = {r.endpoint: set(r.params) for r in mtt.requests}
    assert params == {"timetables": {"type"}, "events": {"startDate", "endDate"},
                      "messages": set()}
    assert set(mtt.ranges()) == {("2026-11-23", "2026-11-25")}  # ISO dates, endDate "till"


@pytest.mark.parametrize(
    ("path", "params"),
    [("/timetables", {}), ("/timetables", {"types": "location"}),
     ("events", {"startDate": "23.11.2026"}), ("events", {"endDate": "2026-13-01"}),
     ("events", {"startDate": "next monday"})],
    ids=["listing without its required type", "type misnamed", "a German date",
         "month 13", "words other than today/tomorrow"],
)
def test_the_fake_refuses_what_the_reference_does_not_allow_with_400(mtt, path, params):
    answer = get(mtt, events_path(mtt) if path == "events" else path, **params)
    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-11-23", "2026-11-24"), ("today", "tomorrow"), ("2026/11/23", "2026/11/24"),
     ("2026/11/23 00:00", "2026/11/24 00:00"), ("2026-11-23T00:00:00+01:00", "2026-11-24"),
     ("1795388400000", "1795474800000")],
    ids=["ISO dates", "today and tomorrow", "legacy dates", "legacy with times",
         "ISO with time and zone", "Unix milliseconds"],
)
def test_the_fake_takes_every_documented_date_form(mtt, start, end):
    answer = get(mtt, events_path(mtt), startDate=start, endDate=end)
    assert answer.status_code == 200 and len(answer.json()) == 4  # Monday's four


def test_the_fake_ignores_an_unknown_parameter_as_the_api_does_and_records_it(mtt):
    answer = get(mtt, events_path(mtt), startDate="2026-11-23", untilDate="2026-11-24")
    assert answer.status_code == 200 and len(answer.json()) == 8  # no end: every event
    assert mtt.ignored == ["events: untilDate"]


def test_the_fake_refuses_the_token_outside_its_header_with_401(mtt):
    answer = requests.get(f"{mtt.url}/api/v0/timetables", timeout=5,
                          params={"type": "location", "apiToken": mtt.token},
                          headers={"Accept": "application/json"})
    assert answer.status_code == 401


# --- 3. tolerance where the reference is silent ---------------------------------------------------
@pytest.mark.parametrize("value", [None, ...], ids=["null", "omitted"])
@pytest.mark.parametrize("field", ["staffMembers", "locations", "tags", "notes", "eventType",
                                   "moduleCode", "students"])
def test_an_event_without_an_optional_field_keeps_the_cycle_going(mtt, engine, clock, field,
                                                                  value):
    engine.run_cycle(clock())
    mtt.update(1011, **{field: value})
    assert cycle(engine, clock) == "delta"
    assert len([p for p in engine.store.snapshot().periods.values() if p.day == MONDAY]) >= 4


@pytest.mark.parametrize("body", [b'{"timetable": null}', b"{}"], ids=["null", "omitted"])
def test_a_type_listing_without_its_list_is_no_timetables_of_that_type(mtt, engine, clock,
                                                                       caplog, body):
    mtt.inject(Fault("timetables", status=200, body=body))  # the first type: location
    assert engine.run_cycle(clock()).outcome == "full"
    assert len(engine.store.snapshot().periods) == 8  # from the class's timetable
    assert "no timetables of type location" in caplog.text


@pytest.mark.parametrize("body", [b'{"messages": null}', b"{}"], ids=["null", "omitted"])
def test_a_messages_answer_without_its_list_is_no_messages(mtt, engine, clock, caplog, body):
    caplog.set_level(logging.INFO)
    mtt.add_message("Library closed")
    assert engine.run_cycle(clock()).outcome == "full"
    assert engine.store.snapshot().messages == ("Library closed",)
    mtt.inject(Fault("messages", status=200, body=body))
    assert cycle(engine, clock) == "delta"
    assert engine.store.snapshot().messages == ()
    assert "messages skipped" not in caplog.text
