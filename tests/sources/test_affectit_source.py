"""The Affect IT WebUntis API source against its fake over real HTTP, through the real engine:
timestamp-tree sync, plain lessons marked against the copy, politeness, errors, restarts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

import pytest

from signage.demo.server import Fault
from signage.sources.affectit import AUTH_HINT, MAX_IDS, AffectItSource
from signage.sources.affectit_parse import parse_lesson, parse_objects, parse_sync_list
from signage.sources.base import SourceAuthError, SourceError, SourceUnavailable
from signage.sources.http import make_session
from signage.store import MemoryStore
from signage.sync.engine import SyncEngine
from tests.conftest import BELLS, MONDAY, NAMES, SCHEDULE, TZ, cycle, rows
from tests.fakes.affectit_server import FakeAffectIt

TUESDAY, WEDNESDAY = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
WRONG_KEY = "wrong-key-4711"


@pytest.fixture
def affect(clock):
    """A fake Affect IT school: three days of four lessons for three classes; class c is taught
    by teacher c in room c, units 1-2 and 3-4 are double periods (one course each)."""
    server = FakeAffectIt(TZ, clock=clock)
    for category, names in NAMES.items():
        server.add_names(category, names)
    for offset in range(3):
        for cls in (1, 2, 3):
            for unit in range(4):
                subject = 1 + unit // 2
                server.add_lesson(1000 * (offset + 1) + 10 * cls + unit,
                                  MONDAY + timedelta(days=offset), *BELLS[unit], cls=cls,
                                  teacher=cls, room=cls, subject=subject,
                                  course=100 * cls + subject)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def source(affect, session) -> AffectItSource:
    return AffectItSource(affect.url, affect.api_key, TZ, session)


@pytest.fixture
def engine(source, store) -> SyncEngine:
    return SyncEngine(source, store, TZ, days_ahead=2, schedule=SCHEDULE)


@pytest.fixture
def synced(engine, affect, clock) -> SyncEngine:
    """The engine after its full load, two minutes later, with the fake's record cleared."""
    assert engine.run_cycle(clock()).outcome == "full"
    affect.requests.clear()
    clock.advance(minutes=2)
    return engine




# --- full load and changes ----------------------------------------------------------------------
def test_full_load_copies_every_lesson_and_name_in_school_local_time(synced, affect):
    snapshot = synced.store.snapshot()
    assert len(snapshot.periods) == 36
    assert snapshot.school == affect.school
    assert {c: dict(snapshot.names[c]) for c in NAMES} == NAMES
    first = snapshot.periods[1010]
    assert affect.objects["lessons"][1010]["start"] == "2026-11-23T07:00:00Z"
    assert (first.start, first.end) == (datetime(2026, 11, 23, 8, 0), datetime(2026, 11, 23, 8, 45))
    assert first.lesson_id == 101
    assert {c: [r.id for r in refs] for c, refs in first.refs.items()} == {
        "classes": [1], "teachers": [1], "rooms": [1], "subjects": [1]}
    assert rows(synced) == []  # the first load is the plan


def test_every_request_asks_for_gzip_and_carries_no_key_in_the_url(affect, source):
    source.fetch_window(MONDAY, WEDNESDAY)
    assert affect.requests and all(r.gzip and r.status == 200 for r in affect.requests)
    assert all(affect.api_key not in str(r.params) for r in affect.requests)


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
        (lambda f: f.add_extra(5001, MONDAY, *BELLS[4], cls=1, teacher=3, room=2, subject=2),
         [("11:50", "12:35", ("5a",), ("SCH",), (), ("R102",), (), ("additional",))]),
    ],
    ids=["substitute teacher", "room change", "substitute teacher in another room",
         "cancelled double period: one row", "extra lesson"],
)
def test_upstream_changes_become_change_rows(synced, affect, clock, change, expected):
    change(affect)
    assert cycle(synced, clock) == "delta"
    assert rows(synced) == expected


def test_a_cancelled_lesson_is_reported_as_a_deleted_id(source, affect, clock):
    source.fetch_window(MONDAY, WEDNESDAY)
    affect.cancel(2012)
    changes = source.fetch_changes(MONDAY, WEDNESDAY, clock())
    assert (changes.batch.periods, changes.deleted, changes.complete) == ([], {2012}, False)
    assert changes.batch.plain


def test_an_extra_lesson_dropped_again_leaves_no_row(synced, affect, clock):
    affect.add_extra(5001, MONDAY, *BELLS[4], cls=1, teacher=3, room=2, subject=2)
    assert cycle(synced, clock) == "delta"
    affect.delete(5001)
    assert cycle(synced, clock) == "delta"
    assert rows(synced) == [] and 5001 not in synced.store.snapshot().periods


def test_a_renamed_teacher_fetches_only_the_teacher_category(synced, affect, clock):
    affect.add_names("teachers", {1: "MUE"})
    assert cycle(synced, clock) == "delta"
    assert [(r.endpoint, r.params) for r in affect.requests if r.method == "GET"] == [
        ("GET teachers", {}), ("GET teachers", {"untis_ids": ["1"]})]
    assert affect.count("HEAD school") == 1 and affect.count("HEAD lessons") == 1
    assert synced.store.snapshot().names["teachers"][1] == "MUE"
    assert rows(synced) == []  # a new name is no change of the timetable


def test_a_window_roll_keeps_the_changes_of_the_days_held(synced, affect, clock):
    affect.substitute(2011, teacher=3)
    clock.set_local(datetime.combine(TUESDAY, time(0, 30)))  # after midnight, before the reload
    assert synced.run_cycle(clock()).outcome == "delta"
    assert synced.store.snapshot().window_start == TUESDAY
    assert rows(synced, TUESDAY) == [
        ("08:50", "09:35", ("5a",), ("SCH",), ("MÜL",), ("R101",), (), ("substitution",))]


# --- politeness ---------------------------------------------------------------------------------
def test_an_unchanged_upstream_costs_one_head_per_cycle(synced, affect, clock):
    assert [cycle(synced, clock) for _ in range(3)] == ["delta"] * 3
    assert [(r.method, r.endpoint) for r in affect.requests] == [("HEAD", "HEAD school")] * 3


def test_objects_are_fetched_at_most_100_ids_per_request(synced, affect, clock):
    new = range(10_000, 10_250)
    for pid in new:
        affect.add_lesson(pid, TUESDAY, *BELLS[4], cls=1, teacher=1, room=1, subject=1)
    assert cycle(synced, clock) == "delta"
    chunks = [r.params["untis_ids"][0].split(",") for r in affect.requests
              if r.endpoint == "GET lessons" and "untis_ids" in r.params]
    assert [len(c) for c in chunks] == [MAX_IDS, MAX_IDS, 50]
    assert sorted(int(i) for c in chunks for i in c) == list(new)
    assert len(synced.store.snapshot().periods) == 36 + 250


# --- restarts and lost answers ------------------------------------------------------------------
def test_a_restarted_adapter_fetches_everything_once_and_loses_nothing(synced, affect, clock,
                                                                       session, store):
    affect.substitute(1011, teacher=2)
    affect.cancel(1022)
    affect.cancel(1023)
    restarted = SyncEngine(AffectItSource(affect.url, affect.api_key, TZ, session), store, TZ,
                           days_ahead=2, schedule=SCHEDULE)
    assert cycle(restarted, clock) == "delta"
    assert rows(restarted) == [
        ("08:50", "09:35", ("5a",), ("BEC",), ("MÜL",), ("R101",), (), ("substitution",)),
        ("09:55", "11:30", ("5b",), ("BEC",), (), ("R102",), (), ("cancelled",)),
    ]
    assert len(store.snapshot().periods) == 36  # the cancelled ones stay, as cancelled
    assert affect.count("GET lessons") == 2  # the sync list and one batch of 34 lessons
    affect.requests.clear()
    assert cycle(restarted, clock) == "delta"
    assert [r.endpoint for r in affect.requests] == ["HEAD school"]


def test_changes_are_sent_again_until_the_engine_cursor_moves_on(source, affect, clock):
    source.fetch_window(MONDAY, WEDNESDAY)
    affect.substitute(1011, teacher=2)
    since = clock.advance(minutes=2)
    first = source.fetch_changes(MONDAY, WEDNESDAY, since)
    lost = source.fetch_changes(MONDAY, WEDNESDAY, since)  # the engine could not store `first`
    assert [p.id for p in first.batch.periods] == [p.id for p in lost.batch.periods] == [1011]
    affect.requests.clear()
    stored = source.fetch_changes(MONDAY, WEDNESDAY, clock.advance(minutes=2))
    assert stored.batch.periods == [] and [r.endpoint for r in affect.requests] == ["HEAD school"]


def test_a_failed_cycle_keeps_the_copy_and_the_next_one_catches_up(synced, affect, clock):
    affect.substitute(1011, teacher=2)
    affect.inject(Fault("GET lessons", status=500))
    version = synced.store.version()
    assert cycle(synced, clock) == "failed"
    assert synced.store.version() == version and rows(synced) == []
    assert cycle(synced, clock) == "delta"
    assert [row[-1] for row in rows(synced)] == [("substitution",)]


# --- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "fault", "status"),
    [(WRONG_KEY, None, 401), (None, Fault("school", status=403), 403)],
    ids=["wrong key: 401", "revoked key: 403"],
)
def test_a_refused_key_is_an_auth_error_naming_the_setting_not_the_key(affect, session, key,
                                                                       fault, status):
    if fault is not None:
        affect.inject(fault)
    source = AffectItSource(affect.url, key or affect.api_key, TZ, session)
    with pytest.raises(SourceAuthError) as info:
        source.fetch_window(MONDAY, WEDNESDAY)
    assert str(info.value) == f"HEAD /schools: HTTP {status}, the API key was refused"
    assert info.value.hint == AUTH_HINT == "check SIGNAGE_AFFECTIT_API_KEY"
    assert len(affect.requests) == 1


def test_refused_keys_pause_the_sync_after_the_limit(affect, session, clock, caplog):
    caplog.set_level(logging.DEBUG)
    store = MemoryStore()
    engine = SyncEngine(AffectItSource(affect.url, WRONG_KEY, TZ, session), store, TZ, 2,
                        SCHEDULE, auth_failure_limit=3, auth_pause_s=3600)
    assert [cycle(engine, clock) for _ in range(4)] == ["failed"] * 3 + ["paused"]
    status = store.status()
    assert status.auth_paused_until == clock() - timedelta(minutes=2) + timedelta(hours=1)
    assert AUTH_HINT in status.last_error
    assert len(affect.requests) == 3  # the pause asks nothing
    assert WRONG_KEY not in caplog.text + status.last_error


@pytest.mark.slow
def test_a_retry_after_on_429_is_honoured(source, affect):
    affect.inject(Fault("GET lessons", status=429, headers={"Retry-After": "1"}))
    assert len(source.fetch_window(MONDAY, WEDNESDAY).periods) == 36
    first, second = [r for r in affect.requests if r.endpoint == "GET lessons"][:2]
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.9


def test_a_long_retry_after_backs_the_engine_off_that_long(synced, affect, clock):
    affect.inject(Fault("HEAD school", status=429, headers={"Retry-After": "600"}))
    assert cycle(synced, clock) == "failed"
    assert synced.store.status().not_before == clock() + timedelta(seconds=600)
    assert affect.count("school") == 1


def test_a_500_is_unavailable_without_retrying(source, affect):
    affect.inject(Fault("HEAD school", status=500))
    with pytest.raises(SourceUnavailable, match=r"^HEAD /schools: HTTP 500$"):
        source.fetch_window(MONDAY, WEDNESDAY)
    assert affect.count("school") == 1


def _break_lesson(**fields):
    def apply(fake: FakeAffectIt) -> None:
        fake.objects["lessons"][1010].update(fields)
    return apply


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (Fault("GET lessons", status=200, body=b"{not json"), "GET /lessons: answer is not valid"),
        (Fault("GET teachers", status=200, body=b'{"results": []}'),
         "teachers sync list is dict, not a list"),
        (Fault("GET groups", status=200, body=b'[{"name": "5a", "timestamp": "2026-11-23Z"}]'),
         "groups sync list holds an entry without an untis_id"),
        (Fault("GET subjects", status=200, body=b'[{"untis_id": 1}]'),
         r"subjects 1 has no timestamp \(last_update\) in the sync list"),
        (Fault("GET lessons", status=200, truncate=True), "GET /lessons"),
        (_break_lesson(start="soon"), "lesson 1010 start is not a usable ISO 8601 time"),
        (_break_lesson(end=None), "lesson 1010 end is missing or not a string"),
        (_break_lesson(teachers=[{"id": 1}]), "lesson 1010 teachers is not a list of untis ids"),
    ],
    ids=["malformed JSON", "sync list of the wrong shape", "sync entry without untis_id",
         "sync entry without timestamp", "truncated gzip", "lesson with a bad time",
         "lesson without an end", "lesson with teacher objects"],
)
def test_unusable_answers_are_one_source_error(source, affect, breakage, message):
    if isinstance(breakage, Fault):
        affect.inject(breakage)
    else:
        breakage(affect)
    with pytest.raises(SourceError, match=message):
        source.fetch_window(MONDAY, WEDNESDAY)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"untis_id": 1}, "lessons objects answer is dict, not a list"),
        ([{"name": "5a"}], "lessons objects answer holds an object without an untis_id"),
        ([{"untis_id": True}], "without an untis_id"),
    ],
    ids=["an object, not a list", "object without id", "a boolean is no id"],
)
def test_unusable_object_answers_are_one_source_error(payload, message):
    with pytest.raises(SourceError, match=message):
        parse_objects(payload, "lessons")
    with pytest.raises(SourceError):
        parse_sync_list(payload, "lessons")


@pytest.mark.parametrize(
    ("start", "local"),
    [
        ("2026-11-23T07:00:00Z", datetime(2026, 11, 23, 8, 0)),
        ("2026-06-01T06:00:00+00:00", datetime(2026, 6, 1, 8, 0)),
        ("2026-11-23T07:00:00", datetime(2026, 11, 23, 8, 0)),
        ("2026-03-29T01:30:00Z", datetime(2026, 3, 29, 3, 30)),
        ("2026-11-23T08:00:00+01:00", datetime(2026, 11, 23, 8, 0)),
    ],
    ids=["winter, Z", "summer, +00:00", "no offset: UTC", "DST change day", "another offset"],
)
def test_lesson_times_are_utc_and_become_school_local(start, local):
    period = parse_lesson({"untis_id": 1, "start": start, "end": "2026-12-31T00:00:00Z"}, TZ)
    assert period.start == local


def test_a_hang_past_the_read_timeout_is_unavailable(affect):
    session = make_session(connect_timeout_s=1, read_timeout_s=0.3, retries=0)
    source = AffectItSource(affect.url, affect.api_key, TZ, session)
    affect.inject(Fault("HEAD school", status=200, delay_s=1.0))
    try:
        with pytest.raises(SourceUnavailable, match="timed out"):
            source.fetch_changes(MONDAY, WEDNESDAY, datetime(2026, 11, 23, 7, tzinfo=UTC))
    finally:
        session.close()


@pytest.fixture
def elsewhere(clock):
    """Another fake on another loopback port: where a redirect would lead."""
    server = FakeAffectIt(TZ, clock=clock).start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("endpoint", "status"),
    [("HEAD school", 302), ("HEAD lessons", 307), ("GET teachers", 301), ("GET lessons", 308)],
)
def test_a_redirect_is_an_error_and_is_not_followed(source, affect, elsewhere, endpoint, status):
    location = f"{elsewhere.url}/lessons?api_key=carried-along"
    affect.inject(Fault(endpoint, status=status, headers={"Location": location}, body=b"[]"))
    with pytest.raises(SourceError) as info:
        source.fetch_window(MONDAY, WEDNESDAY)
    host = elsewhere.url.removeprefix("http://").removesuffix("/api")
    assert f"HTTP {status} redirect to {host} not followed" in str(info.value)
    assert "carried-along" not in str(info.value)
    assert not isinstance(info.value, SourceUnavailable)
    assert list(elsewhere.requests) == []


def test_an_empty_complete_answer_cancels_nothing_until_it_is_said_again(synced, affect, store,
                                                                           session, clock):
    held = dict(store.snapshot().periods)
    synced.source = AffectItSource(affect.url, affect.api_key, TZ, session)  # a restart
    affect.inject(Fault("GET lessons", status=200, body=b"[]", times=2))
    assert cycle(synced, clock) == "failed"
    assert "no periods for a window that holds" in store.status().last_error
    assert store.snapshot().periods == held  # not every lesson marked cancelled
    assert cycle(synced, clock) == "delta"  # the same answer again: taken as confirmed
    assert {p.status for p in store.snapshot().periods.values()} == {"CANCELLED"}
