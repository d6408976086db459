"""The MyTimetable (Eveoh) API v0 source against its fake over real HTTP, through the real engine:
events matched by content, plain changes marked against the copy, the shown window only,
messages, politeness counted at the fake, errors, and a university room's day on its board."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote

import pytest

from signage import create_app
from signage.demo.server import Fault
from signage.domain.rows import change_rows
from signage.sources.base import SourceAuthError, SourceError, SourceUnavailable
from signage.sources.http import make_session
from signage.sources.mytimetable import AUTH_HINT, MyTimetableSource, next_school_day
from signage.sources.mytimetable_parse import EventParser, parse_messages, plain_text, stable_id
from signage.sources.options import check_mytimetable as check_settings
from signage.store import MemoryStore
from signage.sync.engine import SyncEngine
from tests.conftest import BELLS, MONDAY, NAMES, SCHEDULE, TZ, cycle, rows
from tests.fakes.mytimetable_server import FakeMyTimetable

TUESDAY, WEDNESDAY = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
FRIDAY = MONDAY + timedelta(days=4)
WRONG_TOKEN = "wrong-token-4711"
LISTINGS, TIMETABLES = 2, 6  # location + studentset; 3 rooms + 3 classes
MARKERS = ("cancelled", "canceled", "geannuleerd", "vervallen", "vervalt")


def stage(fake: FakeMyTimetable, days: list[date]) -> None:
    """Class c is taught by teacher c in room c, four units a day; units 1-2 and 3-4 are one
    course each (a double period)."""
    for offset, day in enumerate(days):
        for cls in (1, 2, 3):
            for unit in range(4):
                subject = 1 + unit // 2
                fake.add_lesson(1000 * (offset + 1) + 10 * cls + unit, day, *BELLS[unit],
                                cls=cls, teacher=cls, room=cls, subject=subject,
                                course=100 * cls + subject)


@pytest.fixture
def mtt(clock):
    """A fake MyTimetable with Monday to Wednesday staged (the source asks for Mon-Tue)."""
    server = FakeMyTimetable(TZ, clock=clock)
    for category, names in NAMES.items():
        server.add_names(category, names)
    stage(server, [MONDAY, TUESDAY, WEDNESDAY])
    server.start()
    yield server
    server.stop()


def make_source(fake: FakeMyTimetable, session, **settings: str) -> MyTimetableSource:
    return MyTimetableSource.from_settings(
        {"MYTIMETABLE_URL": fake.url, "MYTIMETABLE_TOKEN": fake.token, **settings}, TZ, session)


@pytest.fixture
def source(mtt, session) -> MyTimetableSource:
    return make_source(mtt, session)


@pytest.fixture
def engine(source, store) -> SyncEngine:
    return SyncEngine(source, store, TZ, days_ahead=7, schedule=SCHEDULE)


@pytest.fixture
def synced(engine, mtt, clock) -> SyncEngine:
    """The engine after its full load, two minutes later, with the fake's record cleared."""
    assert engine.run_cycle(clock()).outcome == "full"
    mtt.requests.clear()
    clock.advance(minutes=2)
    return engine




def endpoints(fake: FakeMyTimetable) -> dict[str, int]:
    return {e: fake.count(e) for e in ("timetabletypes", "timetables", "events", "messages")}


# --- full load, window, politeness --------------------------------------------------------------
def test_full_load_copies_the_shown_window_in_school_local_time(synced, mtt):
    snapshot = synced.store.snapshot()
    assert (snapshot.window_start, snapshot.window_end) == (MONDAY, TUESDAY)
    assert len(snapshot.periods) == 2 * 3 * 4  # Wednesday is not asked for
    assert {c: sorted(t.values()) for c, t in snapshot.names.items()} == {
        c: sorted(t.values()) for c, t in NAMES.items()} | {"subjects": ["D", "M"]}  # used ones
    first = min(snapshot.periods.values(), key=lambda p: (p.start, p.ref_list("classes")[0].id
                                                          != stable_id("5a")))
    assert (first.start, first.end) == (datetime(2026, 11, 23, 8, 0), datetime(2026, 11, 23, 8, 45))
    assert {c: [snapshot.name_of(c, r.id) for r in refs] for c, refs in first.refs.items()} == {
        "classes": ["5a"], "teachers": ["MÜL"], "rooms": ["R101"], "subjects": ["M"]}
    assert rows(synced) == [] and rows(synced, TUESDAY) == []  # the first load is the plan


def test_a_full_load_lists_each_type_once_then_asks_each_timetable_for_the_window(engine, mtt,
                                                                                  clock):
    assert engine.run_cycle(clock()).outcome == "full"
    assert endpoints(mtt) == {"timetabletypes": 0, "timetables": LISTINGS, "events": TIMETABLES,
                              "messages": 1}
    assert [r.params for r in mtt.requests if r.endpoint == "timetables"] == [
        {"type": ["location"]}, {"type": ["studentset"]}]
    assert set(mtt.ranges()) == {("2026-11-23", "2026-11-25")}  # endDate: "till 0:00"
    assert all(r.gzip and r.status == 200 for r in mtt.requests)
    assert all(mtt.token not in str(r.params) for r in mtt.requests)


def test_a_quiet_cycle_costs_one_request_per_timetable_plus_messages(synced, mtt, clock):
    version = synced.store.version()
    assert [cycle(synced, clock) for _ in range(3)] == ["delta"] * 3
    assert endpoints(mtt) == {"timetabletypes": 0, "timetables": 0, "events": 3 * TIMETABLES,
                              "messages": 3}
    assert synced.store.version() == version


def test_the_source_asks_for_json_itself_and_takes_a_base_url_with_the_api_path(mtt, session):
    del session.headers["Accept"]  # the fake answers 406 without application/json
    source = MyTimetableSource(f"{mtt.url}/api/v0/", mtt.token, TZ, session)
    assert len(source.fetch_window(MONDAY, TUESDAY).periods) == 24
    assert {r.status for r in mtt.requests} == {200}


@pytest.mark.parametrize(
    ("today", "last"),
    [(MONDAY, TUESDAY), (MONDAY + timedelta(days=3), FRIDAY),
     (FRIDAY, FRIDAY + timedelta(days=3)), (FRIDAY + timedelta(days=1), FRIDAY + timedelta(days=3)),
     (FRIDAY + timedelta(days=2), FRIDAY + timedelta(days=3))],
    ids=["Monday: Tuesday", "Thursday: Friday", "Friday: Monday", "Saturday: Monday",
         "Sunday: Monday"],
)
def test_the_window_ends_on_the_next_school_day(source, today, last):
    assert source.last_day(today) == next_school_day(today) == last


def test_on_friday_the_fake_is_asked_for_friday_to_monday_only(mtt, engine, clock):
    next_monday = FRIDAY + timedelta(days=3)
    stage(mtt, [FRIDAY, next_monday, next_monday + timedelta(days=1)])
    clock.set_local(datetime.combine(FRIDAY, time(9, 0)))
    assert engine.run_cycle(clock()).outcome == "full"
    assert set(mtt.ranges()) == {("2026-11-27", "2026-12-01")}
    snapshot = engine.store.snapshot()
    assert (snapshot.window_start, snapshot.window_end) == (FRIDAY, next_monday)
    assert sorted({p.day for p in snapshot.periods.values()}) == [FRIDAY, next_monday]


def test_the_window_rolls_at_midnight_and_the_nightly_reload_keeps_the_plan(synced, mtt, clock):
    mtt.substitute(2011, teacher=3)
    clock.set_local(datetime.combine(TUESDAY, time(0, 30)))
    assert synced.run_cycle(clock()).outcome == "delta"
    snapshot = synced.store.snapshot()
    assert (snapshot.window_start, snapshot.window_end) == (TUESDAY, WEDNESDAY)
    assert sorted({p.day for p in snapshot.periods.values()}) == [TUESDAY, WEDNESDAY]
    expected = [("08:50", "09:35", ("5a",), ("SCH",), ("MÜL",), ("R101",), (), ("substitution",))]
    assert rows(synced, TUESDAY) == expected and rows(synced, WEDNESDAY) == []
    assert mtt.ranges() == [("2026-11-25", "2026-11-26")] * TIMETABLES + [
        ("2026-11-24", "2026-11-26")] * TIMETABLES  # the gained day, then the window
    assert endpoints(mtt) == {"timetabletypes": 0, "timetables": LISTINGS,
                              "events": 2 * TIMETABLES, "messages": 2}
    clock.set_local(datetime.combine(TUESDAY, time(3, 1)))
    assert synced.run_cycle(clock()).outcome == "full"
    assert rows(synced, TUESDAY) == expected  # the plan lives in the copy


# --- changes ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.substitute(1011, teacher=2),
         [("08:50", "09:35", ("5a",), ("BEC",), ("MÜL",), ("R101",), (), ("substitution",))]),
        (lambda f: f.change_room(1010, room=3),
         [("08:00", "08:45", ("5a",), ("MÜL",), (), ("Bio1",), ("R101",), ("room_change",))]),
        (lambda f: (f.substitute(1011, teacher=2), f.change_room(1011, room=3)),
         [("08:50", "09:35", ("5a",), ("BEC",), ("MÜL",), ("Bio1",), ("R101",),
           ("substitution", "room_change"))]),
        (lambda f: (f.cancel(1022), f.cancel(1023)),
         [("09:55", "11:30", ("5b",), ("BEC",), (), ("R102",), (), ("cancelled",))]),
        (lambda f: (f.mark_cancelled(1022, "Vervalt wegens ziekte"),
                    f.mark_cancelled(1023, "Vervalt wegens ziekte")),
         [("09:55", "11:30", ("5b",), ("BEC",), (), ("R102",), (), ("cancelled",))]),
        (lambda f: f.add_tag(1030, "CANCELLED-event", "Cancelled"),
         [("08:00", "08:45", ("10a",), ("SCH",), (), ("Bio1",), (), ("cancelled",))]),
        (lambda f: f.add_extra(5001, MONDAY, *BELLS[4], cls=1, teacher=3, room=2, subject=2),
         [("11:50", "12:35", ("5a",), ("SCH",), (), ("R102",), (), ("additional",))]),
    ],
    ids=["substitute lecturer", "room change", "substitute lecturer in another room",
         "cancelled by disappearing: double period, one row", "cancelled by a note",
         "cancelled by a tag key", "extra event"],
)
def test_upstream_changes_become_change_rows(synced, mtt, clock, change, expected):
    change(mtt)
    assert cycle(synced, clock) == "delta"
    assert rows(synced) == expected


def test_a_cancellation_note_is_the_rows_text(synced, mtt, clock):
    mtt.mark_cancelled(1010, "Geannuleerd: docent ziek")
    assert cycle(synced, clock) == "delta"
    [row] = change_rows(synced.store.snapshot(), MONDAY)
    assert (row.kinds, row.text) == (("cancelled",), "Geannuleerd: docent ziek")


def test_custom_markers_replace_the_default_ones(mtt, session, store, clock):
    engine = SyncEngine(make_source(mtt, session, MYTIMETABLE_CANCELLED_MARKERS="Uitval, entfällt"),
                        store, TZ, 7, SCHEDULE)
    assert engine.run_cycle(clock()).outcome == "full"
    mtt.mark_cancelled(1010, "UITVAL")
    mtt.mark_cancelled(1020, "Vervalt")  # a default marker, not configured here: a new note
    mtt.add_tag(1030, "Entfällt")
    assert cycle(engine, clock) == "delta"
    assert [(r.classes, r.end, r.kinds) for r in change_rows(store.snapshot(), MONDAY)] == [
        (("5a",), "08:45", ("cancelled",)), (("10a",), "08:45", ("cancelled",)),
        (("5b",), "09:35", ("changed",))]  # the note joins the double period's row


def test_an_exam_type_makes_an_exam_row(synced, mtt, clock):
    mtt.update(1012, activityTypeName="Tentamen", eventType={"id": "exam", "description": "Exam"})
    assert cycle(synced, clock) == "delta"
    period = next(p for p in synced.store.snapshot().periods.values()
                  if p.start == datetime(2026, 11, 23, 9, 55) and p.type == "EXAM")
    assert period.exam == "Tentamen"
    assert [r.kinds for r in change_rows(synced.store.snapshot(), MONDAY)] == [("exam",)]


def test_a_moved_event_is_cancelled_where_it_was_and_extra_where_it_is(synced, mtt, clock):
    event = mtt.events[1010]
    mtt.update(1010, startDate=event["startDate"] + 4 * 3600_000,
               endDate=event["endDate"] + 4 * 3600_000)
    assert cycle(synced, clock) == "delta"
    assert [(r.start, r.classes, r.kinds) for r in change_rows(synced.store.snapshot(), MONDAY)
            ] == [("08:00", ("5a",), ("cancelled",)), ("12:00", ("5a",), ("additional",))]


# --- identity by content ------------------------------------------------------------------------
def test_an_event_listed_by_its_room_and_its_class_is_one_period(source, mtt):
    batch = source.fetch_window(MONDAY, TUESDAY)
    assert mtt.count("events") == TIMETABLES  # every event came twice
    assert len(batch.periods) == len({p.id for p in batch.periods}) == 24


def test_a_reordered_answer_changes_nothing(engine, mtt, clock):
    mtt.update(1010, staffMembers=["SCH", "MÜL"], studentSets=["5a", "5b"],
               locations=[mtt.events[1020]["locations"][0], mtt.events[1010]["locations"][0]])
    assert engine.run_cycle(clock()).outcome == "full"
    version = engine.store.version()
    mtt.reverse_order = True  # events, and every list in them, back to front
    assert cycle(engine, clock) == "delta"
    assert engine.store.version() == version and rows(engine) == []
    [period] = [p for p in engine.store.snapshot().periods.values()
                if len(p.ref_list("teachers")) == 2]
    assert [engine.store.snapshot().name_of("teachers", r.id)
            for r in period.ref_list("teachers")] == ["MÜL", "SCH"]  # in name order


def test_list_order_inside_an_event_does_not_matter():
    event = {"startDate": 1795417200000, "endDate": 1795419900000, "moduleCode": "M",
             "staffMembers": ["SCH", "MÜL"], "studentSets": ["5b", "5a"],
             "locations": [{"name": "R102"}, {"name": "R101"}]}
    backwards = {k: v[::-1] if isinstance(v, list) else v for k, v in event.items()}
    one, other = EventParser(TZ, MARKERS), EventParser(TZ, MARKERS)
    one.add([event], "a")
    other.add([backwards], "a")
    assert one.periods == other.periods


def test_differing_listings_of_one_event_are_united():
    event = {"startDate": 1795417200000, "endDate": 1795419900000, "moduleCode": "M",
             "studentSets": ["5a"], "staffMembers": ["MÜL"], "locations": [{"name": "R101"}]}
    parser = EventParser(TZ, MARKERS)
    parser.add([dict(event, notes="Bring a laptop")], "2026!location!R101")
    parser.add([dict(event, staffMembers=["BEC"], tags=[{"key": "cancelled"}])],
               "2026!studentset!5a")
    [period] = parser.periods.values()
    assert (period.status, period.text) == ("CANCELLED", "Bring a laptop")
    assert [parser.names["teachers"][r.id] for r in period.ref_list("teachers")] == ["BEC", "MÜL"]


def test_ids_are_stable_across_processes_and_name_order():
    assert stable_id("Tsjechische letterkunde 2", "TLK", 1, 2, ["a", "b"]) == 0xFF8FB2CCDA4A
    assert stable_id("5a") != stable_id("5b") and stable_id("5a") < 2**48


def test_adjacent_events_of_one_activity_merge_as_a_double_period(synced, mtt, clock):
    periods = synced.store.snapshot().periods.values()
    lessons = {p.start.time(): p.lesson_id for p in periods
               if p.day == MONDAY and synced.store.snapshot().name_of(
                   "classes", p.ref_list("classes")[0].id) == "5a"}
    assert lessons[BELLS[0][0]] == lessons[BELLS[1][0]] != lessons[BELLS[2][0]]
    mtt.substitute(1010, teacher=3)
    mtt.substitute(1011, teacher=3)
    assert cycle(synced, clock) == "delta"
    assert rows(synced) == [
        ("08:00", "09:35", ("5a",), ("SCH",), ("MÜL",), ("R101",), (), ("substitution",))]


def test_unknown_fields_are_ignored(mtt):
    event = mtt.events[1010]
    assert "futureField" in event and "department" in event
    known = {k: event[k] for k in ("activityDescription", "moduleCode", "startDate", "endDate",
                                   "studentSets", "staffMembers", "locations", "notes", "tags")}
    with_extras, without = EventParser(TZ, MARKERS), EventParser(TZ, MARKERS)
    with_extras.add([event], "a")
    without.add([known], "b")
    assert with_extras.periods == without.periods


@pytest.mark.parametrize(
    ("millis", "local"),
    [(1795417200000, datetime(2026, 11, 23, 8, 0)), (1780293600000, datetime(2026, 6, 1, 8, 0)),
     (1774747800000, datetime(2026, 3, 29, 3, 30))],
    ids=["winter", "summer", "DST change day"],
)
def test_event_times_are_utc_milliseconds_and_become_school_local(millis, local):
    parser = EventParser(TZ, MARKERS)
    parser.add([{"startDate": millis, "endDate": millis + 2_700_000}], "t")
    assert [p.start for p in parser.periods.values()] == [local]


# --- messages -----------------------------------------------------------------------------------
def test_active_messages_feed_the_boards_ticker(mtt, engine, clock):
    now = clock()
    mtt.add_message("Library closed", "The *library* is closed [today](https://x.example).")
    mtt.add_message("Draft", draft=True)
    mtt.add_message("Expired", expires=now - timedelta(minutes=1))
    mtt.add_message("Not yet", published=now + timedelta(hours=1))
    mtt.add_message("Exams week", "# Long\n" + "word " * 40, important=True,
                    published=now - timedelta(days=3), expires=now + timedelta(days=3))
    assert engine.run_cycle(now).outcome == "full"
    assert engine.store.snapshot().messages == (
        "Exams week", "Library closed: The library is closed today.")


@pytest.mark.parametrize("status", [401, 403, 404])
def test_without_the_messages_endpoint_there_are_none_and_no_error(clock, session, status):
    fake = FakeMyTimetable(TZ, clock=clock, messages_status=status)
    for category, names in NAMES.items():
        fake.add_names(category, names)
    stage(fake, [MONDAY])
    fake.start()
    try:
        source = make_source(fake, session)
        assert source.fetch_window(MONDAY, TUESDAY).messages == ()
        assert source.fetch_changes(MONDAY, TUESDAY, clock()).batch.messages is None
        assert fake.count("messages") == 1  # not asked again until the next full load
        source.fetch_window(MONDAY, TUESDAY)
        assert fake.count("messages") == 2
    finally:
        fake.stop()


@pytest.mark.parametrize(
    "fault",
    [Fault("messages", status=500), Fault("messages", status=200, body=b"{not json"),
     Fault("messages", status=200, body=b'{"messages": {}}')],
    ids=["500", "malformed JSON", "wrong shape"],
)
def test_broken_messages_keep_the_ticker_and_do_not_fail_the_cycle(synced, mtt, clock, fault,
                                                                    caplog):
    mtt.add_message("Library closed")
    assert cycle(synced, clock) == "delta"
    mtt.substitute(1011, teacher=2)
    mtt.inject(fault)
    assert cycle(synced, clock) == "delta"
    assert synced.store.snapshot().messages == ("Library closed",)
    assert [row[-1] for row in rows(synced)] == [("substitution",)]
    assert "messages skipped this cycle" in caplog.text


def test_messages_parse_title_and_short_plain_body():
    now = datetime(2026, 11, 23, 8, tzinfo=UTC)
    published = int(now.timestamp() * 1000) - 1
    payload = [{"title": "Fire drill", "body": "**Fire drill**", "publicationDate": published},
               {"title": "", "body": "- Room A closed", "publicationDate": published}]
    assert parse_messages(payload, now) == ("Fire drill", "Room A closed")
    assert plain_text("## Header\n![logo](x.png) see [here](https://x)") == "Header logo see here"


# --- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("token", "fault", "message"),
    [(WRONG_TOKEN, None, "GET /timetables?type=location: HTTP 401, the API token was refused"),
     (None, Fault("events", status=403), "HTTP 403, the API token was refused")],
    ids=["wrong token: 401", "revoked token: 403 on a timetable"],
)
def test_a_refused_token_is_an_auth_error_naming_the_setting_not_the_token(mtt, session, token,
                                                                           fault, message):
    if fault is not None:
        mtt.inject(fault)
    source = MyTimetableSource(mtt.url, token or mtt.token, TZ, session)
    with pytest.raises(SourceAuthError, match=re.escape(message)) as info:
        source.fetch_window(MONDAY, TUESDAY)
    assert info.value.hint == AUTH_HINT == "check SIGNAGE_MYTIMETABLE_TOKEN"
    assert mtt.token not in str(info.value) and WRONG_TOKEN not in str(info.value)


def test_refused_tokens_pause_the_sync_and_never_reach_a_log_line(mtt, session, clock, caplog):
    caplog.set_level(logging.DEBUG)
    store = MemoryStore()
    engine = SyncEngine(MyTimetableSource(mtt.url, WRONG_TOKEN, TZ, session), store, TZ, 7,
                        SCHEDULE, auth_failure_limit=3, auth_pause_s=3600)
    assert [cycle(engine, clock) for _ in range(4)] == ["failed"] * 3 + ["paused"]
    assert AUTH_HINT in store.status().last_error
    assert len(mtt.requests) == 3  # the pause asks nothing
    assert WRONG_TOKEN not in caplog.text + store.status().last_error


def test_the_token_is_in_no_log_line_error_or_url(synced, mtt, clock, caplog):
    caplog.set_level(logging.DEBUG)
    mtt.inject(Fault("events", status=500))
    assert cycle(synced, clock) == "failed"
    mtt.substitute(1011, teacher=2)
    assert cycle(synced, clock) == "delta"
    assert mtt.token not in caplog.text + str(synced.store.status())
    assert all(mtt.token not in str(r.params) for r in mtt.requests)


@pytest.mark.slow
def test_a_retry_after_on_429_is_honoured(source, mtt):
    mtt.inject(Fault("events", status=429, headers={"Retry-After": "1"}))
    assert len(source.fetch_window(MONDAY, TUESDAY).periods) == 24
    first, second = [r for r in mtt.requests if r.endpoint == "events"][:2]
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.9


@pytest.mark.parametrize("endpoint", ["events", "messages"])
def test_a_long_retry_after_backs_the_engine_off_that_long(synced, mtt, clock, endpoint):
    mtt.inject(Fault(endpoint, status=429, headers={"Retry-After": "600"}))
    assert cycle(synced, clock) == "failed"
    assert synced.store.status().not_before == clock() + timedelta(seconds=600)


def test_a_500_is_unavailable_without_retrying(source, mtt):
    mtt.inject(Fault("events", status=500))
    with pytest.raises(SourceUnavailable, match=r"^GET /timetables/2026!location!\w+: HTTP 500$"):
        source.fetch_window(MONDAY, TUESDAY)
    assert mtt.count("events") == 1


def test_a_hang_past_the_read_timeout_is_unavailable(mtt):
    session = make_session(connect_timeout_s=1, read_timeout_s=0.3, retries=0)
    source = make_source(mtt, session)
    mtt.inject(Fault("events", status=200, delay_s=1.0))
    try:
        with pytest.raises(SourceUnavailable, match="timed out"):
            source.fetch_window(MONDAY, TUESDAY)
    finally:
        session.close()


def test_a_timetable_gone_since_the_listing_fails_the_cycle_and_is_listed_again(synced, mtt,
                                                                               clock):
    del mtt.names["rooms"][3]  # Bio1's timetable answers 404 now
    assert cycle(synced, clock) == "failed"
    assert "HTTP 404" in synced.store.status().last_error
    assert cycle(synced, clock) == "delta"
    assert mtt.count("timetables") == LISTINGS and rows(synced) == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault("events", status=200, body=b"{not json"), "answer is not valid JSON"),
        (Fault("events", status=200, truncate=True), "GET /timetables/2026!location!"),
        (Fault("timetables", status=200, body=b"[]"),
         "timetables of type location: answer is not an object with a 'timetable' list"),
        (Fault("timetables", status=200, body=b'{"timetable": [{"description": "R1"}]}'),
         "an entry has no 'value'"),
        (Fault("events", status=200, body=b'{"events": []}'), "not a list of events"),
        (Fault("events", status=200, body=b"[1]"), "event 1 is not an object"),
        (Fault("events", status=200, body=b'[{"endDate": 1}]'), "event 1: startDate is missing"),
        (Fault("events", status=200, body=b'[{"startDate": "2026-11-23", "endDate": 1}]'),
         "startDate is not a time in Unix milliseconds"),
        (Fault("events", status=200, body=b'[{"startDate": 2, "endDate": 1}]'),
         "ends before it starts"),
        (Fault("events", status=200, body=b'[{"startDate": 1, "endDate": 2, "staffMembers": "X"}]'),
         "staffMembers is not a list"),
        (Fault("events", status=200,
               body=b'[{"startDate": 1, "endDate": 2, "locations": [{"name": 7}]}]'),
         "locations holds a int, not a name"),
        (Fault("events", status=200, body=b'[{"startDate": 1e300, "endDate": 1e300}]'),
         "startDate is not a time in Unix milliseconds"),
    ],
    ids=["malformed JSON", "truncated gzip", "listing not an object", "listing without keys",
         "events not a list", "event not an object", "event without start", "ISO start",
         "ends before start", "staff not a list", "location name not a string",
         "time out of range"],
)
def test_unusable_answers_are_one_source_error(source, mtt, fault, message):
    mtt.inject(fault)
    with pytest.raises(SourceError, match=re.escape(message)):
        source.fetch_window(MONDAY, TUESDAY)


@pytest.fixture
def elsewhere(clock):
    """Another fake on another loopback port: where a redirect would lead."""
    server = FakeMyTimetable(TZ, clock=clock).start()
    yield server
    server.stop()


@pytest.mark.parametrize(("endpoint", "status"),
                         [("timetables", 302), ("events", 307), ("messages", 301)])
def test_a_redirect_is_an_error_and_is_not_followed(source, mtt, elsewhere, endpoint, status):
    location = f"{elsewhere.url}/api/v0/timetables/x?apiToken=carried-along"
    mtt.inject(Fault(endpoint, status=status, headers={"Location": location}, body=b"[]"))
    with pytest.raises(SourceError) as info:
        source.fetch_window(MONDAY, TUESDAY)
    host = elsewhere.url.removeprefix("http://")
    assert f"HTTP {status} redirect to {host} not followed" in str(info.value)
    assert "carried-along" not in str(info.value)
    assert not isinstance(info.value, SourceUnavailable)
    assert list(elsewhere.requests) == []


# --- settings -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "problems"),
    [
        ({}, []),
        ({"MYTIMETABLE_TYPES": "zone, Location,zone", "MYTIMETABLE_CANCELLED_MARKERS": "uitval"},
         []),
        ({"MYTIMETABLE_TYPES": "rooms,location"},
         ["SIGNAGE_MYTIMETABLE_TYPES: expected comma-separated timetable types among location, "
          "zone, studentset, studentsetgroup, module, modulegroup, modulepos, pos, posss, staff, "
          "student, user, tag, got 'rooms,location'"]),
        ({"MYTIMETABLE_TYPES": " , "}, ["SIGNAGE_MYTIMETABLE_TYPES: expected"]),
        ({"MYTIMETABLE_CANCELLED_MARKERS": "x,vervalt"},
         ["SIGNAGE_MYTIMETABLE_CANCELLED_MARKERS: expected comma-separated words of at least 3 "
          "characters (e.g. cancelled,canceled,geannuleerd), got 'x,vervalt'"]),
        ({"MYTIMETABLE_TYPES": "", "MYTIMETABLE_CANCELLED_MARKERS": ","},
         ["SIGNAGE_MYTIMETABLE_TYPES: expected",
          "SIGNAGE_MYTIMETABLE_CANCELLED_MARKERS: expected"]),
    ],
    ids=["defaults", "valid", "unknown type", "empty type list", "too short a marker",
         "both empty"],
)
def test_check_settings_names_each_malformed_optional_setting(settings, problems):
    found = check_settings({"MYTIMETABLE_TOKEN": "secret-token-123", **settings})
    assert len(found) == len(problems)
    assert all(line.startswith(expected) for line, expected in zip(found, problems, strict=True))
    assert not any("secret-token-123" in line for line in found)


def test_configured_types_are_listed(mtt, session):
    source = make_source(mtt, session, MYTIMETABLE_TYPES="studentset")
    assert len(source.fetch_window(MONDAY, TUESDAY).periods) == 24
    assert endpoints(mtt) == {"timetabletypes": 0, "timetables": 1, "events": 3, "messages": 1}


# --- a university room's day on its board -------------------------------------------------------
UNIVERSITY = {
    "classes": {1: "BSc Informatica 1", 2: "MSc AI 1"},
    "teachers": {1: "dr. E.R.G. Metz", 2: "prof. A. Jansen", 3: "dr. B. de Vries"},
    "rooms": {1: "Bungehuis K.04", 2: "Science Park C1.112"},
    "subjects": {1: "INF101", 2: "AI201", 3: "STAT110"},
}


def test_a_university_room_day_on_the_room_board(clock, session, tmp_path):
    fake = FakeMyTimetable(TZ, clock=clock)
    for category, names in UNIVERSITY.items():
        fake.add_names(category, names)
    fake.add_lesson(1, MONDAY, time(9, 0), time(10, 45), cls=1, teacher=1, room=1, subject=1)
    fake.add_lesson(2, MONDAY, time(11, 0), time(12, 45), cls=2, teacher=2, room=1, subject=2)
    fake.add_lesson(3, MONDAY, time(13, 30), time(15, 15), cls=1, teacher=3, room=1, subject=3)
    fake.start()
    try:
        engine = SyncEngine(make_source(fake, session), MemoryStore(), TZ, 7, SCHEDULE)
        assert engine.run_cycle(clock()).outcome == "full"
        fake.mark_cancelled(2, "Geannuleerd: docent ziek")
        fake.change_room(3, room=2)
        fake.add_message("Science Park: lifts out of order")
        assert cycle(engine, clock) == "delta"
    finally:
        fake.stop()
    app = create_app({"DEFAULT_PROFILE": "staff", "LANGUAGE": "en",
                      "STATE_FILE": str(tmp_path / "s.json")}, store=engine.store, clock=clock)
    client = app.test_client()
    page = client.get(f"/board/room/{quote('Bungehuis K.04')}?date={MONDAY}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    board = [re.sub(r"\s+", " ", row) for row in re.findall(r'<div class="row.*?\n</div>', html,
                                                             re.DOTALL)]
    assert len(board) == 3, board
    lecture, cancelled, moved = board
    assert "regular" in lecture and "09:00–10:45" in lecture and "INF101" in lecture
    assert "dr. E.R.G. Metz" in lecture
    assert "kind-cancelled" in cancelled and "Geannuleerd: docent ziek" in cancelled
    assert "MSc AI 1" in cancelled
    assert "kind-room_change" in moved and "<del>Bungehuis K.04</del>" in moved
    assert "Science Park C1.112" in moved
    assert "Science Park: lifts out of order" in html
    into = client.get(f"/board/room/{quote('Science Park C1.112')}?date={MONDAY}")
    assert "STAT110" in into.get_data(as_text=True)


def test_requests_are_counted_under_one_label_for_every_timetable(source, session):
    session.take_counts()
    source.fetch_window(MONDAY, MONDAY + timedelta(days=1))
    counts = session.take_counts()
    assert counts["timetables/{key} 200"] == 6  # three rooms and three classes
    assert all("%" not in label and "!" not in label for label in counts), counts


def test_messages_for_staff_only_never_reach_the_ticker(mtt, engine, clock):
    mtt.add_message("Everyone: fire drill at 10:00")
    mtt.add_message("Students: enrol by Friday", roles=("ROLE_STUDENT",))
    mtt.add_message("Staff: exam board meets in K.04", roles=("ROLE_STAFF",))
    mtt.add_message("Students and staff: lifts out of order", roles=("ROLE_STAFF", "ROLE_STUDENT"))
    assert engine.run_cycle(clock()).outcome == "full"
    assert engine.store.snapshot().messages == (
        "Everyone: fire drill at 10:00", "Students: enrol by Friday",
        "Students and staff: lifts out of order")


def test_messages_withdrawn_from_the_token_leave_the_ticker(mtt, engine, clock):
    mtt.add_message("Library closed")
    assert engine.run_cycle(clock()).outcome == "full"
    assert engine.store.snapshot().messages == ("Library closed",)
    mtt.messages_status = 403  # the token lost the messages scope
    clock.set_local(datetime.combine(TUESDAY, time(3, 30)))  # the nightly reload asks again
    assert engine.run_cycle(clock()).outcome == "full"
    assert engine.store.snapshot().messages == ()


def test_a_window_emptied_upstream_is_refused_once_then_stays_confirmed(mtt, engine, clock):
    assert engine.run_cycle(clock()).outcome == "full"
    for key in list(mtt.events):
        mtt.cancel(key)
    outcomes = [cycle(engine, clock) for _ in range(4)]
    assert outcomes == ["failed", "delta", "delta", "delta"]  # no fail/succeed flapping after
    statuses = {p.status for p in engine.store.snapshot().periods.values()}
    assert statuses == {"CANCELLED"} and engine.store.status().last_error is None


def test_a_large_institution_is_told_what_a_cycle_costs(clock, session, caplog):
    fake = FakeMyTimetable(TZ, clock=clock)
    fake.add_names("rooms", {i: f"Room {i}" for i in range(1, 121)})
    fake.start()
    try:
        with caplog.at_level(logging.WARNING, logger="signage.sources.mytimetable"):
            make_source(fake, session, MYTIMETABLE_TYPES="location").fetch_window(MONDAY,
                                                                                  TUESDAY)
    finally:
        fake.stop()
    assert "120 timetables cost 121 requests every cycle" in caplog.text
    assert "SIGNAGE_MYTIMETABLE_TYPES=zone" in caplog.text
