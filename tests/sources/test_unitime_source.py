"""The UniTime source against its fake over real HTTP, through the real engine: meetings as plain
periods, cancellations asked for, the same-slot room-change rule, term and room discovery,
politeness counted at the fake, errors, and secrets kept out of every message and log line."""

from __future__ import annotations

import json
import logging
import traceback
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from signage import create_app
from signage.demo.server import Fault
from signage.domain.model import Ref
from signage.sources import unitime
from signage.sources.base import SourceAuthError, SourceError, SourceUnavailable
from signage.sources.http import make_session
from signage.sources.options import check_unitime as check_settings
from signage.sources.unitime import AUTH_HINT, UnitimeSource
from signage.sources.unitime_parse import (
    choose_term,
    name_id,
    parse_events,
    parse_terms,
    to_periods,
)
from signage.store import MemoryStore
from signage.sync.engine import SyncEngine
from tests.conftest import BELLS, MONDAY, NAMES, SCHEDULE, TZ, cycle, rows
from tests.fakes.unitime_server import FakeUnitime, _session

TUESDAY, WEDNESDAY = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
WEEKS = (-1, 0, 1)  # the window's week and one either side: the context of the same-slot rule


def pid(offset: int, cls: int, unit: int, week: int = 0) -> int:
    """Return the meeting id of a lesson: 1010 is Monday, class 1, unit 1 of this week."""
    return 1000 * (offset + 1) + 10 * cls + unit + (0 if week == 0 else 10_000 * (week + 2))


@pytest.fixture
def uni(clock):
    """A fake UniTime term: Monday to Wednesday of three weeks, four meetings a day for three
    classes; class c is taught by teacher c in room c, units 1-2 and 3-4 are one event each."""
    server = FakeUnitime(TZ, clock=clock)
    for category, names in NAMES.items():
        server.add_names(category, names)
    for week in WEEKS:
        for offset in range(3):
            for cls in (1, 2, 3):
                for unit in range(4):
                    subject = 1 + unit // 2
                    server.add_lesson(pid(offset, cls, unit, week),
                                      MONDAY + timedelta(days=offset, weeks=week), *BELLS[unit],
                                      cls=cls, teacher=cls, room=cls, subject=subject,
                                      course=100 * cls + subject)
    server.start()
    yield server
    server.stop()


def make_source(uni: FakeUnitime, session, **kwargs) -> UnitimeSource:
    kwargs.setdefault("user", uni.user)
    kwargs.setdefault("password", uni.password)
    return UnitimeSource(uni.url, TZ, session, **kwargs)


@pytest.fixture
def source(uni, session) -> UnitimeSource:
    return make_source(uni, session)


@pytest.fixture
def engine(source, store) -> SyncEngine:
    return SyncEngine(source, store, TZ, days_ahead=2, schedule=SCHEDULE)


@pytest.fixture
def synced(engine, uni, clock) -> SyncEngine:
    """The engine after its full load, two minutes later, with the fake's record cleared."""
    assert engine.run_cycle(clock()).outcome == "full"
    uni.requests.clear()
    clock.advance(minutes=2)
    return engine




def events_params(uni: FakeUnitime) -> list[dict]:
    return [r.params for r in uni.requests if r.endpoint == "events"]


# --- full load and changes ----------------------------------------------------------------------
def test_full_load_copies_the_window_s_meetings_and_names_in_school_local_time(synced, uni):
    snapshot = synced.store.snapshot()
    assert sorted(snapshot.periods) == sorted(pid(o, c, u) for o in range(3) for c in (1, 2, 3)
                                              for u in range(4))
    assert snapshot.school == "Fal2026"
    assert {c: set(snapshot.names[c].values()) for c in NAMES} == {
        **{c: set(n.values()) for c, n in NAMES.items()}, "subjects": {"M", "D"}}  # those used
    assert snapshot.names["rooms"] == NAMES["rooms"]  # rooms keep UniTime's ids
    first = snapshot.periods[1010]
    assert (first.start, first.end) == (datetime(2026, 11, 23, 8, 0), datetime(2026, 11, 23, 8, 45))
    assert (first.lesson_id, first.type, first.status) == (101, "NORMAL_TEACHING_PERIOD", "REGULAR")
    assert {c: [snapshot.name_of(c, r.id) for r in refs] for c, refs in first.refs.items()} == {
        "classes": ["5a"], "teachers": ["MÜL"], "rooms": ["R101"], "subjects": ["M"]}
    assert rows(synced) == []  # the first load is the plan


def test_every_request_asks_for_gzip_and_carries_basic_auth_not_a_parameter(synced, uni, clock):
    cycle(synced, clock)
    assert uni.requests and all(r.gzip and r.status == 200 for r in uni.requests)
    assert set(uni.auth) == {"basic"}
    assert all(uni.password not in str(r.params) for r in uni.requests)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.substitute(1011, teacher=2),  # the event's instructor: both its meetings
         [("08:00", "09:35", ("5a",), ("BEC",), ("MÜL",), ("R101",), (), ("substitution",))]),
        (lambda f: f.change_room(1010, room=3),
         [("08:00", "08:45", ("5a",), ("MÜL",), (), ("Bio1",), ("R101",), ("room_change",))]),
        (lambda f: (f.cancel(1022), f.cancel(1023)),
         [("09:55", "11:30", ("5b",), ("BEC",), (), ("R102",), (), ("cancelled",))]),
        (lambda f: f.add_extra(5001, MONDAY, *BELLS[4], cls=1, teacher=3, room=2, subject=2),
         [("11:50", "12:35", ("5a",), ("SCH",), (), ("R102",), (), ("additional",))]),
        (lambda f: f.delete(1012), []),
    ],
    ids=["substitute instructor", "room change", "cancelled double period: one row",
         "extra meeting", "deleted meeting: gone, not cancelled"],
)
def test_upstream_changes_become_change_rows(synced, uni, clock, change, expected):
    change(uni)
    assert cycle(synced, clock) == "delta"
    assert rows(synced) == expected
    assert (1012 in synced.store.snapshot().periods) == (expected != [])


def test_a_room_change_shows_on_the_first_load_by_the_same_slot_rule(engine, uni, clock):
    uni.change_room(1010, room=3)  # last and next week's Monday 08:00 stay in R101
    assert engine.run_cycle(clock()).outcome == "full"
    assert rows(engine) == [
        ("08:00", "08:45", ("5a",), ("MÜL",), (), ("Bio1",), ("R101",), ("room_change",))]
    assert cycle(engine, clock) == "delta" and rows(engine)[0][-1] == ("room_change",)


def test_cancelled_meetings_are_asked_for_with_the_mode_chip(engine, uni, clock):
    uni.cancel(1020)
    assert engine.run_cycle(clock()).outcome == "full"
    assert rows(engine) == [
        ("08:00", "08:45", ("5b",), ("BEC",), (), ("R102",), (), ("cancelled",))]
    modes = [p.get("e:mode") for p in events_params(uni)]
    assert modes == [None, ["Cancelled"]]  # the fake, like UniTime, lists them only then


@pytest.mark.parametrize(
    ("status", "kept"),
    [("Pending", True), ("Approved", True), ("Rejected", False), ("Deleted", False)],
)
def test_pending_meetings_are_shown_rejected_and_deleted_ones_leave(synced, uni, clock, status,
                                                                   kept):
    uni.set_meeting(1010, status=status)
    assert cycle(synced, clock) == "delta"
    assert (1010 in synced.store.snapshot().periods) == kept
    assert rows(synced) == []  # never shown as cancelled


def test_an_exam_is_an_exam_row(synced, uni, clock):
    uni.add_lesson(7001, TUESDAY, *BELLS[4], cls=3, teacher=1, room=3, subject=3,
                   event_type="FinalExam")
    assert cycle(synced, clock) == "delta"
    period = synced.store.snapshot().periods[7001]
    assert (period.type, period.exam, period.status) == ("EXAM", "FinalExam", "ADDITIONAL")
    assert rows(synced, TUESDAY)[0][-1] == ("additional", "exam")


# --- term and rooms -----------------------------------------------------------------------------
def test_the_term_is_the_session_covering_today(uni, session, clock):
    uni.sessions = [_session("Spr2026", "demo", date(2026, 1, 11), date(2026, 5, 7)),
                    _session("Fal2026", "demo", date(2026, 8, 24), date(2026, 12, 18))]
    batch = make_source(uni, session).fetch_window(MONDAY, WEDNESDAY)
    assert batch.school == "Fal2026" and len(batch.periods) == 36
    assert uni.count("roles") == 1
    assert {r.params["term"][0] for r in uni.requests if r.endpoint != "roles"} == {"Fal2026"}


def test_a_configured_term_asks_no_roles(uni, session):
    batch = make_source(uni, session, term="Fal2026").fetch_window(MONDAY, WEDNESDAY)
    assert batch.school == "Fal2026" and uni.count("roles") == 0


@pytest.mark.parametrize(
    ("sessions", "message"),
    [
        ([("Spr2026", "demo", date(2026, 1, 11), date(2026, 5, 7))],
         "no academic session in api/roles covers 2026-11-23; set SIGNAGE_UNITIME_TERM"),
        ([("Fal2026main", "main", date(2026, 8, 24), date(2026, 12, 18)),
          ("Fal2026north", "north", date(2026, 8, 24), date(2026, 12, 18))],
         r"several academic sessions cover 2026-11-23 \(Fal2026main, Fal2026north\)"),
    ],
    ids=["none covers today", "two campuses cover today"],
)
def test_no_single_session_covering_today_is_a_clear_error(uni, session, sessions, message):
    uni.sessions = [_session(*s) for s in sessions]
    with pytest.raises(SourceError, match=message):
        make_source(uni, session).fetch_window(MONDAY, WEDNESDAY)
    assert uni.count("events") == 0


def test_all_rooms_come_from_api_rooms_and_one_request_covers_them(uni, session):
    uni.add_names("rooms", {8023: "EDUC 101"})  # no meetings: its board exists all the same
    batch = make_source(uni, session).fetch_window(MONDAY, WEDNESDAY)
    assert batch.names["rooms"] == {**NAMES["rooms"], 8023: "EDUC 101"}
    assert uni.count("rooms") == 1
    assert [p.get("e:room") for p in events_params(uni)] == [None, None]


def test_configured_rooms_are_asked_by_id_and_only_they_come_back(uni, session):
    batch = make_source(uni, session, rooms=["r101", " Bio1 "]).fetch_window(MONDAY, WEDNESDAY)
    assert [p["e:room"] for p in events_params(uni)] == [["1", "3"], ["1", "3"]]
    assert {r.id for p in batch.periods for r in p.refs["rooms"]} == {1, 3}
    assert batch.names["rooms"] == {1: "R101", 3: "Bio1"}


def test_an_unknown_configured_room_is_a_clear_error(uni, session):
    with pytest.raises(SourceError, match="SIGNAGE_UNITIME_ROOMS names rooms that term Fal2026 "
                                          "does not have: R999"):
        make_source(uni, session, rooms=["R101", "R999"]).fetch_window(MONDAY, WEDNESDAY)


def test_events_seen_from_several_room_requests_merge_by_meeting(uni, session, monkeypatch):
    monkeypatch.setattr(unitime, "MAX_ROOMS_PER_REQUEST", 1)
    uni.change_room(1010, room=2)  # its event now has meetings in R101 and R102
    source = make_source(uni, session, rooms=["R101", "R102", "Bio1"])
    batch = source.fetch_window(MONDAY, WEDNESDAY)
    assert uni.count("events") == 6  # three rooms, one per request, two modes each
    assert sorted(p.id for p in batch.periods) == sorted({p.id for p in batch.periods})
    assert len(batch.periods) == 36
    moved = next(p for p in batch.periods if p.id == 1010)
    assert [(r.id, r.status) for r in moved.refs["rooms"]] == [(1, "REMOVED"), (2, "ADDED")]


# --- politeness ---------------------------------------------------------------------------------
def test_the_first_load_asks_roles_rooms_and_events_once_each(engine, uni, clock):
    assert engine.run_cycle(clock()).outcome == "full"
    assert [r.endpoint for r in uni.requests] == ["roles", "rooms", "events", "events"]


def test_a_quiet_cycle_costs_two_event_requests_and_leaves_the_store_alone(synced, uni, clock):
    version = synced.store.version()
    assert [cycle(synced, clock) for _ in range(3)] == ["delta"] * 3
    assert [r.endpoint for r in uni.requests] == ["events"] * 6
    assert synced.store.version() == version  # the unchanged upstream wrote nothing


def test_a_new_day_and_the_nightly_reload_ask_roles_and_rooms_again(synced, uni, clock):
    clock.set_local(datetime.combine(TUESDAY, time(0, 30)))  # the window rolls
    assert synced.run_cycle(clock()).outcome == "delta"
    assert [r.endpoint for r in uni.requests] == ["roles", "rooms", "events", "events",
                                                  "events", "events"]
    uni.requests.clear()
    clock.set_local(datetime.combine(TUESDAY, time(3, 30)))  # the nightly full reload
    assert synced.run_cycle(clock()).outcome == "full"
    assert [r.endpoint for r in uni.requests] == ["roles", "rooms", "events", "events"]


def test_a_full_load_asks_a_week_either_side_and_quiet_cycles_the_window_alone(engine, uni,
                                                                               clock):
    engine.run_cycle(clock())
    assert [(p["e:from"], p["e:to"]) for p in events_params(uni)] == [
        (["11/16/2026"], ["12/02/2026"])] * 2
    uni.requests.clear()
    cycle(engine, clock)
    assert [(p["e:from"], p["e:to"]) for p in events_params(uni)] == [
        (["11/23/2026"], ["11/25/2026"])] * 2


# --- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("auth", ["basic", "token"])
def test_refused_credentials_are_an_auth_error_naming_the_settings(uni, session, auth):
    kwargs = ({"password": "wrong-password-4711"} if auth == "basic"
              else {"user": None, "password": None, "token": "wrong-token-4711"})
    with pytest.raises(SourceAuthError) as info:
        make_source(uni, session, **kwargs).fetch_window(MONDAY, WEDNESDAY)
    assert str(info.value) == "GET /UniTime/api/roles: HTTP 401, the credentials were refused"
    assert info.value.hint == AUTH_HINT == (
        "check SIGNAGE_UNITIME_USER and SIGNAGE_UNITIME_PASSWORD (or SIGNAGE_UNITIME_TOKEN)")
    assert len(uni.requests) == 1


def test_a_missing_permission_is_an_auth_error(uni, session):
    uni.inject(Fault("rooms", status=403))
    with pytest.raises(SourceAuthError, match="HTTP 403, refused .*Api Retrieve"):
        make_source(uni, session).fetch_window(MONDAY, WEDNESDAY)


def test_refused_credentials_pause_the_sync_after_the_limit(uni, session, clock):
    store = MemoryStore()
    engine = SyncEngine(make_source(uni, session, password="wrong"), store, TZ, 2, SCHEDULE,
                        auth_failure_limit=3, auth_pause_s=3600)
    assert [cycle(engine, clock) for _ in range(4)] == ["failed"] * 3 + ["paused"]
    assert AUTH_HINT in store.status().last_error
    assert len(uni.requests) == 3  # the pause asks nothing


@pytest.mark.slow
def test_a_retry_after_on_429_is_honoured(source, uni):
    uni.inject(Fault("events", status=429, headers={"Retry-After": "1"}))
    assert len(source.fetch_window(MONDAY, WEDNESDAY).periods) == 36
    first, second = [r for r in uni.requests if r.endpoint == "events"][:2]
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.9


def test_a_long_retry_after_backs_the_engine_off_that_long(synced, uni, clock):
    uni.inject(Fault("events", status=429, headers={"Retry-After": "600"}))
    assert cycle(synced, clock) == "failed"
    assert synced.store.status().not_before == clock() + timedelta(seconds=600)
    assert uni.count("events") == 1


def test_a_500_is_unavailable_and_keeps_the_copy(synced, uni, clock):
    version = synced.store.version()
    uni.cancel(1010)
    uni.inject(Fault("events", status=500))
    with pytest.raises(SourceUnavailable, match=r"^GET /UniTime/api/events: HTTP 500$"):
        synced.source.fetch_changes(MONDAY, WEDNESDAY, clock())
    uni.inject(Fault("events", status=500))
    assert cycle(synced, clock) == "failed" and synced.store.version() == version


def test_a_hang_past_the_read_timeout_is_unavailable(uni):
    session = make_session(connect_timeout_s=1, read_timeout_s=0.3, retries=0)
    uni.inject(Fault("roles", status=200, delay_s=0.8))
    try:
        with pytest.raises(SourceUnavailable, match=r"^GET /UniTime/api/roles: timed out$"):
            make_source(uni, session).fetch_window(MONDAY, WEDNESDAY)
    finally:
        session.close()


def _meeting_field(**fields):
    def apply(fake: FakeUnitime) -> None:
        fake.inject(Fault("events", status=200, body=_answer_with(fake, **fields)))
    return apply


def _answer_with(fake: FakeUnitime, **fields) -> bytes:
    answer = fake._events({"term": ["Fal2026"], "type": ["ROOM"]})
    answer[0]["meetings"][0].update(fields)
    return json.dumps(answer).encode()


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (Fault("events", status=200, body=b"{not json"), "GET /UniTime/api/events: answer is not"),
        (Fault("events", status=200, truncate=True), "GET /UniTime/api/events"),
        (Fault("roles", status=200, body=b'{"sessions": []}'), "roles answer is dict, not a list"),
        (Fault("rooms", status=200, body=b'[{"name": "R1"}]'),
         "rooms answer holds a room without a uniqueId"),
        (Fault("events", status=200, body=b'[{"eventId": 1, "eventType": "Class"}]'),
         "event 1 has no eventName"),
        (Fault("events", status=200, body=b"[1, 2]"), "events answer holds an entry that is no"),
        (_meeting_field(meetingId="x"), "events answer holds a meeting without a meetingId"),
        (_meeting_field(startTime=None, meetingDate=None),
         "has neither startTime/stopTime nor meetingDate and slots"),
        (_meeting_field(stopTime=0), "ends before it starts"),
        (_meeting_field(location={"resourceId": 1}), "location has no resourceName"),
        (Fault("events", status=404), "HTTP 404; is SIGNAGE_UNITIME_URL the UniTime base"),
    ],
    ids=["malformed JSON", "truncated gzip", "roles of the wrong shape", "room without id",
         "event without name", "events that are no objects", "meeting without id",
         "meeting without times", "meeting ending before it starts",
         "location without name", "wrong base URL"],
)
def test_unusable_answers_are_one_source_error(source, uni, breakage, message):
    if isinstance(breakage, Fault):
        uni.inject(breakage)
    else:
        breakage(uni)
    with pytest.raises(SourceError, match=message):
        source.fetch_window(MONDAY, WEDNESDAY)


@pytest.fixture
def elsewhere(clock):
    """Another fake on another loopback port: where a redirect would lead."""
    server = FakeUnitime(TZ, clock=clock).start()
    yield server
    server.stop()


@pytest.mark.parametrize(("endpoint", "status"), [("roles", 302), ("events", 307)])
def test_a_redirect_is_an_error_and_is_not_followed(uni, session, elsewhere, endpoint, status):
    location = f"{elsewhere.url}/api/{endpoint}?token={uni.token}"
    uni.inject(Fault(endpoint, status=status, headers={"Location": location}, body=b"[]"))
    with pytest.raises(SourceError) as info:
        make_source(uni, session, user=None, password=None, token=uni.token).fetch_window(
            MONDAY, WEDNESDAY)
    host = elsewhere.url.removeprefix("http://").removesuffix("/UniTime")
    assert f"HTTP {status} redirect to {host} not followed" in str(info.value)
    assert uni.token not in str(info.value)
    assert not isinstance(info.value, SourceUnavailable)
    assert list(elsewhere.requests) == []


# --- secrets ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_token_travels_as_the_parameter_and_never_reaches_a_log_or_an_error(uni, clock,
                                                                                caplog):
    caplog.set_level(logging.DEBUG)
    session = make_session(connect_timeout_s=1, read_timeout_s=0.3, retries=1,
                           backoff_factor_s=0.01)
    texts = []
    try:
        engine = SyncEngine(make_source(uni, session, user=None, password=None, token=uni.token),
                            MemoryStore(), TZ, 2, SCHEDULE)
        uni.inject(Fault("events", status=200, delay_s=0.6))  # urllib3 retries, logging the URL
        assert engine.run_cycle(clock()).outcome == "full"
        assert set(uni.auth) == {"token"}
        faults = [{"status": 500}, {"status": 200, "body": b"{"}, {"status": 401},
                  {"status": 200, "delay_s": 0.8, "times": 2}]  # a hang, retried once
        for fault in faults:
            uni.inject(Fault("events", **fault))
            with pytest.raises(SourceError) as info:
                engine.source.fetch_changes(MONDAY, WEDNESDAY, clock())
            texts.append("".join(traceback.format_exception(info.value)))
            uni.inject(Fault("events", **fault))
            assert cycle(engine, clock) == "failed"
            texts.append(engine.store.status().last_error)
    finally:
        session.close()
    assert uni.token not in caplog.text
    assert "Retrying" in caplog.text and "token=(hidden)" in caplog.text  # the leak path ran
    assert not [t for t in texts if uni.token in t]
    assert "timed out" in texts[-1]


def test_the_password_never_reaches_a_log_or_an_error(uni, session, clock, caplog):
    caplog.set_level(logging.DEBUG)
    engine = SyncEngine(make_source(uni, session, password="wrong-" + uni.password),
                        MemoryStore(), TZ, 2, SCHEDULE)
    assert engine.run_cycle(clock()).outcome == "failed"
    assert uni.password not in caplog.text + engine.store.status().last_error


# --- settings -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "problems"),
    [
        ({"UNITIME_USER": "api", "UNITIME_PASSWORD": "s3cret"}, []),
        ({"UNITIME_TOKEN": "t0ken"}, []),
        ({}, ["SIGNAGE_UNITIME_USER: required with SIGNAGE_UNITIME_PASSWORD when "
              "SIGNAGE_SOURCE=unitime, unless SIGNAGE_UNITIME_TOKEN is set"]),
        ({"UNITIME_USER": "api"},
         ["SIGNAGE_UNITIME_PASSWORD: required when SIGNAGE_UNITIME_USER is set"]),
        ({"UNITIME_PASSWORD": "s3cret", "UNITIME_TOKEN": "t0ken"},
         ["SIGNAGE_UNITIME_USER: required when SIGNAGE_UNITIME_PASSWORD is set"]),
        ({"UNITIME_TOKEN": "t0ken", "UNITIME_ROOMS": " , "},
         ["SIGNAGE_UNITIME_ROOMS: expected comma-separated room names (e.g. 'EDUC 101,EDUC 102'),"
          " or unset for every room"]),
    ],
    ids=["user and password", "token", "neither", "user without password",
         "password without user", "rooms without a name"],
)
def test_check_settings_names_the_problem_never_the_secret(settings, problems):
    found = check_settings(settings)
    assert found == problems
    assert not [p for p in found if "s3cret" in p or "t0ken" in p]


def test_from_settings_reads_every_setting(uni, session):
    source = UnitimeSource.from_settings(
        {**uni.settings(basic=False), "UNITIME_TERM": "Fal2026",
         "UNITIME_ROOMS": "R101, R101 ,Bio1"}, TZ, session)
    batch = source.fetch_window(MONDAY, WEDNESDAY)
    assert set(uni.auth) == {"token"} and uni.count("roles") == 0
    assert batch.names["rooms"] == {1: "R101", 3: "Bio1"}
    assert (batch.plain, batch.vanished_cancelled) == (True, False)


# --- a university day on the room board ---------------------------------------------------------
def test_a_university_room_day_on_the_room_board(clock, session, tmp_path):
    campus = FakeUnitime(TZ, clock=clock)
    campus.add_names("rooms", {8023: "EDUC 101", 8024: "EDUC 102"})
    campus.add_names("classes", {1: "PHYS 101 Lec 1", 2: "BIOL 101 Lec 2", 3: "CHEM 110 Lec 1"})
    campus.add_names("subjects", {1: "PHYS 101", 2: "BIOL 101", 3: "CHEM 110"})
    campus.add_names("teachers", {1: "Newman, George", 2: "Doe, Joe", 3: "Root, Abraham"})
    slots = {1: (time(8, 0), time(8, 50)), 2: (time(9, 0), time(9, 50)),
             3: (time(10, 0), time(10, 50))}
    for week in WEEKS:
        for lecture, (start, end) in slots.items():
            campus.add_lesson(100 * lecture + week, MONDAY + timedelta(weeks=week), start, end,
                              cls=lecture, teacher=lecture, room=8023, subject=lecture,
                              course=lecture)
    campus.cancel(200)  # BIOL this Monday
    campus.change_room(300, room=8024)  # CHEM this Monday, in the room next door
    campus.start()
    try:
        engine = SyncEngine(make_source(campus, session, rooms=["EDUC 101", "EDUC 102"]),
                            MemoryStore(), TZ, 2, SCHEDULE)
        assert engine.run_cycle(clock()).outcome == "full"
    finally:
        campus.stop()
    app = create_app({"DEFAULT_PROFILE": "staff", "STATE_FILE": str(tmp_path / "s.json")},
                     store=engine.store, clock=clock)
    client = app.test_client()
    page = client.get(f"/board/room/EDUC%20101?date={MONDAY}&lang=en").get_data(as_text=True)
    board = page[page.index('<div class="content">'):]
    shown = [part.split("</div>")[0] for part in board.split('<div class="row ')[1:]]
    assert len(shown) == 3
    lecture, cancelled, moved = shown
    assert lecture.startswith("regular") and "PHYS 101 Lec 1" in lecture and "EDUC 101" in lecture
    assert cancelled.startswith("kind-cancelled") and "BIOL 101 Lec 2" in cancelled
    assert moved.startswith("kind-room_change") and "<del>EDUC 101</del>" in moved
    assert "EDUC 102" in moved and "CHEM 110 Lec 1" in moved
    next_door = client.get(f"/board/room/EDUC%20102?date={MONDAY}&lang=en").get_data(as_text=True)
    assert "CHEM 110 Lec 1" in next_door and "kind-room_change" in next_door


def test_the_fake_reads_date_chips_as_unitime_does(uni):
    assert uni._chip_date("11/23/2026") == MONDAY
    assert uni._chip_date(str(MONDAY.timetuple().tm_yday)) == MONDAY
    assert uni._chip_date("2026-11-23") is None  # unreadable: UniTime ignores the chip


# --- parsing, table-driven ----------------------------------------------------------------------
PRAGUE = ZoneInfo("Europe/Prague")  # the reference's demo server: 13:30 local is 11:30 UTC
REFERENCE_MEETING = {  # the reference's example meeting, trimmed
    "location": {"resourceType": "ROOM", "resourceId": 8023, "resourceName": "EDUC 101"},
    "meetingId": 234561, "meetingDate": "2010-08-24T00:00:00Z", "startSlot": 162,
    "endSlot": 174, "startOffset": 0, "endOffset": -10, "approvalStatus": "Approved",
    "startTime": 1282649400000, "stopTime": 1282652400000,
}


WEEK_MS = 7 * 24 * 3600 * 1000


def event(*meetings: dict, **fields) -> dict:
    return {"eventId": 234534, "eventName": "PHYS 101 Lec 2", "eventType": "Class",
            "courseNames": ["PHYS 101"], "contact": {"formattedName": "Root, A"},
            "meetings": list(meetings), **fields}


def periods_of(*events: dict) -> tuple[list, dict]:
    """Return the periods and names of events answered by the reference's server in 2010."""
    return to_periods(parse_events(list(events), PRAGUE), date(2010, 1, 1), date(2010, 12, 31))


def weekly(week: int, room: int, status: str = "Approved") -> dict:
    """Return the reference's meeting `week` weeks later (meeting id `week`) in room `room`."""
    return dict(REFERENCE_MEETING, meetingId=week, approvalStatus=status,
                location={"resourceId": room, "resourceName": f"R{room}"},
                startTime=REFERENCE_MEETING["startTime"] + week * WEEK_MS,
                stopTime=REFERENCE_MEETING["stopTime"] + week * WEEK_MS)


@pytest.mark.parametrize("times", ["epoch", "slots"], ids=["startTime/stopTime", "slots"])
def test_the_reference_s_meeting_is_13_30_to_14_20_school_local(times):
    meeting = dict(REFERENCE_MEETING)
    if times == "slots":
        del meeting["startTime"], meeting["stopTime"]
    (period,), names = periods_of(event(meeting))
    assert (period.start, period.end) == (datetime(2010, 8, 24, 13, 30),
                                          datetime(2010, 8, 24, 14, 20))
    assert (period.id, period.lesson_id) == (234561, 234534)
    assert {t: list(n.values()) for t, n in names.items()} == {
        "classes": ["PHYS 101 Lec 2"], "subjects": ["PHYS 101"], "rooms": ["EDUC 101"]}
    assert "teachers" not in period.refs  # the contact booked the room; no instructor listed


def test_a_dst_change_day_keeps_school_local_times():
    start = datetime(2026, 3, 29, 8, 0, tzinfo=TZ)  # Berlin moved to summer time at 02:00
    meeting = dict(REFERENCE_MEETING, startTime=int(start.timestamp() * 1000),
                   stopTime=int((start + timedelta(minutes=90)).timestamp() * 1000))
    (found,) = parse_events([event(meeting)], TZ)
    assert (found.start, found.end) == (datetime(2026, 3, 29, 8, 0), datetime(2026, 3, 29, 9, 30))


@pytest.mark.parametrize(
    ("event_type", "kind", "exam"),
    [("Class", "NORMAL_TEACHING_PERIOD", None), ("Course", "NORMAL_TEACHING_PERIOD", None),
     ("FinalExam", "EXAM", "FinalExam"), ("MidtermExam", "EXAM", "MidtermExam"),
     ("Special", "EVENT", None), ("Unavailable", "EVENT", None)],
)
def test_event_types_map_to_period_types(event_type, kind, exam):
    (period,), _ = periods_of(event(REFERENCE_MEETING, eventType=event_type))
    assert (period.type, period.exam) == (kind, exam)


@pytest.mark.parametrize(
    ("status", "expected"),
    [("Approved", "REGULAR"), ("Pending", "REGULAR"), (None, "REGULAR"),
     ("Cancelled", "CANCELLED"), ("Rejected", None), ("Deleted", None)],
    ids=["approved", "pending: shown as if approved", "no status", "cancelled", "rejected",
         "deleted"],
)
def test_approval_statuses(status, expected):
    meeting = {k: v for k, v in REFERENCE_MEETING.items() if k != "approvalStatus"}
    if status is not None:
        meeting["approvalStatus"] = status
    periods, _ = periods_of(event(meeting))
    assert [p.status for p in periods] == ([expected] if expected else [])


def test_instructors_are_the_teachers_in_a_stable_order():
    people = [{"firstName": "Joe", "lastName": "Doe"}, {"formattedName": "Newman, George"}]
    periods = [periods_of(event(REFERENCE_MEETING, instructors=order))
               for order in (people, people[::-1])]
    assert periods[0] == periods[1]  # UniTime's order may vary: the copy must not
    (period,), names = periods[0]
    assert sorted(names["teachers"][r.id] for r in period.refs["teachers"]) == [
        "Doe, Joe", "Newman, George"]


@pytest.mark.parametrize(
    ("rooms", "planned"),
    [([1, 3, 1], {1: None, 2: 1, 3: None}), ([1, 3], {1: None, 2: None}),
     ([3, 3, 1], {1: None, 2: None, 3: 3}), ([1, 3, 3, 1, 1], {2: 1, 3: 1})],
    ids=["moved this week", "two weeks, two rooms: a tie says nothing",
         "moved for good: the new room is the plan", "moved twice"],
)
def test_the_same_slot_rule(rooms, planned):
    periods, _ = periods_of(event(*(weekly(w, room) for w, room in enumerate(rooms, start=1))))
    found = {p.id: next((r.id for r in p.refs["rooms"] if r.status == "REMOVED"), None)
             for p in periods}
    assert {pid: found[pid] for pid in planned} == planned
    assert all(p.status == ("CHANGED" if found[p.id] else "REGULAR") for p in periods)


def test_a_cancelled_meeting_elsewhere_is_cancelled_not_moved():
    periods, _ = periods_of(event(weekly(1, 1), weekly(2, 3, "Cancelled"), weekly(3, 1)))
    moved = next(p for p in periods if p.id == 2)
    assert (moved.status, moved.refs["rooms"]) == ("CANCELLED", (Ref(3),))


@pytest.mark.parametrize(
    ("day", "chosen"),
    [(date(2026, 11, 23), "Fal2026"), (date(2026, 12, 22), "Fal2026"),
     (date(2027, 1, 5), "Spr2027"), (date(2026, 8, 1), "Fal2026")],
    ids=["in term", "winter break, nearer the autumn", "winter break, nearer the spring",
         "before the autumn term, within its event dates"],
)
def test_the_term_covering_a_day(day, chosen):
    terms = parse_terms([_session("Fal2026", "demo", date(2026, 8, 24), date(2026, 12, 18)),
                         _session("Spr2027", "demo", date(2027, 1, 11), date(2027, 5, 7))])
    assert choose_term(terms, day).reference == chosen


def test_names_without_ids_get_the_same_id_in_every_process():
    assert name_id("5a") == 24417900565995 and name_id("PHYS 101") == 208961243114262
