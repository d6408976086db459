"""The WebUntis JSON-RPC source against its fake server over real HTTP, through the real engine."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import pytest
import requests

from signage.demo.server import Fault
from signage.domain.rows import change_rows
from signage.sources.base import SourceAuthError, SourceError, SourceUnavailable
from signage.sources.http import PoliteRetry
from signage.sources.jsonrpc import BLOCKED_RETRY_S, MAX_QUIET_S, JsonRpcSource
from signage.sync.engine import SyncEngine
from tests.conftest import BELLS, MONDAY, NAMES, SCHEDULE, TZ
from tests.fakes.jsonrpc_server import FakeJsonRpc

WEDNESDAY = MONDAY + timedelta(days=2)
QUIET = ["authenticate", "getLatestImportTime", "logout"]
FULL = ["authenticate", "getLatestImportTime", "getKlassen", "getTeachers", "getRooms",
        "getSubjects", "getTimegridUnits", "getTimetable", "getTimetable", "getTimetable", "logout"]
DELTA = [m for m in FULL if m != "getTimegridUnits"]  # the grid of the last full load is kept
SHARED = 9001  # one period of 5a and 5b together


@pytest.fixture
def rpc(clock):
    """A fake JSON-RPC server: three days of four periods for three classes, one shared one."""
    server = FakeJsonRpc(TZ, school="Testschule", clock=clock, lock_after=5)
    server.timegrid = BELLS
    for category, names in NAMES.items():
        server.add_names(category, names)
    for offset in range(3):
        day = MONDAY + timedelta(days=offset)
        for cls in (1, 2, 3):
            for unit in range(4):
                subject = 1 + unit // 2
                server.add_lesson(1000 * (offset + 1) + 10 * cls + unit, day, *BELLS[unit],
                                  cls=cls, teacher=cls, room=cls, subject=subject,
                                  lesson=100 * cls + subject)
    server.add_lesson(SHARED, MONDAY, *BELLS[4], cls=1, teacher=3, room=3, subject=3,
                      kl=[{"id": 1}, {"id": 2}])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def source(rpc, session) -> JsonRpcSource:
    user, password = rpc.credentials
    return JsonRpcSource(rpc.url, rpc.school, user, password, TZ, session)


@pytest.fixture
def engine(source, store) -> SyncEngine:
    return SyncEngine(source, store, TZ, days_ahead=2, schedule=SCHEDULE)


@pytest.fixture
def synced(rpc, engine, clock):
    """The engine after its first (full) cycle; the fake's records start afresh."""
    assert engine.run_cycle(clock()).outcome == "full"
    rpc.calls.clear()
    clock.advance(minutes=2)
    return engine


def calls_of(rpc, method: str) -> list:
    return [c for c in rpc.calls if c.method == method]


# --- full sync ----------------------------------------------------------------------------------
def test_full_sync_loads_every_period_and_the_short_names(rpc, engine, store, clock):
    assert engine.run_cycle(clock()).outcome == "full"
    snapshot = store.snapshot()
    assert len(snapshot.periods) == 37
    assert snapshot.names["teachers"] == {1: "MÜL", 2: "BEC", 3: "SCH"}
    assert snapshot.names["classes"] == {1: "5a", 2: "5b", 3: "10a"}
    assert snapshot.school == "Testschule"
    first = snapshot.periods[1010]
    assert (first.start, first.end) == (datetime(2026, 11, 23, 8, 0), datetime(2026, 11, 23, 8, 45))
    assert (first.lesson_id, first.status, first.type) == (101, "REGULAR", "NORMAL_TEACHING_PERIOD")
    assert rpc.methods() == FULL
    assert change_rows(snapshot, MONDAY) == []


def test_a_period_of_two_classes_is_one_period_with_both(rpc, engine, store, clock):
    engine.run_cycle(clock())
    shared = store.snapshot().periods[SHARED]
    assert [r.id for r in shared.ref_list("classes")] == [1, 2]


def test_timetables_are_asked_per_class_in_the_options_form(rpc, engine, clock):
    engine.run_cycle(clock())
    options = [c.params["options"] for c in calls_of(rpc, "getTimetable")]
    assert [o["element"] for o in options] == [{"id": i, "type": 1} for i in (1, 2, 3)]
    assert {(o["startDate"], o["endDate"]) for o in options} == {(20261123, 20261125)}
    assert all(o["showSubstText"] and o["showLsNumber"] for o in options)
    login = calls_of(rpc, "authenticate")[0]
    assert login.school == "Testschule" and login.params["password"] == "***"


# --- incremental changes ------------------------------------------------------------------------
def _row(row) -> tuple:
    return (row.start, row.end, row.classes, row.teachers, row.original_teachers, row.rooms,
            row.original_rooms, row.kinds, row.text)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.substitute(1011, 2),
         [("08:50", "09:35", ("5a",), ("BEC",), ("MÜL",), ("R101",), (), ("substitution",), "")]),
        (lambda f: f.change_room(1012, 3),
         [("09:55", "10:40", ("5a",), ("MÜL",), (), ("Bio1",), ("R101",), ("room_change",), "")]),
        (lambda f: (f.substitute(1013, 3), f.change_room(1013, 2)),
         [("10:45", "11:30", ("5a",), ("SCH",), ("MÜL",), ("R102",), ("R101",),
           ("substitution", "room_change"), "")]),
        (lambda f: (f.cancel(1022), f.cancel(1023)),
         [("09:55", "11:30", ("5b",), ("BEC",), (), ("R102",), (), ("cancelled",), "")]),
        (lambda f: f.add_extra(1999, MONDAY, *BELLS[4], cls=3, teacher=3, room=3, subject=1),
         [("11:50", "12:35", ("10a",), ("SCH",), (), ("Bio1",), (), ("additional",), "")]),
        (lambda f: f.update(1030, substText="Buch mitbringen"),
         [("08:00", "08:45", ("10a",), ("SCH",), (), ("Bio1",), (), ("changed",),
           "Buch mitbringen")]),
        (lambda f: f.update(1031, lstype="ex"),
         [("08:50", "09:35", ("10a",), ("SCH",), (), ("Bio1",), (), ("exam",), "")]),
        (lambda f: f.substitute(1020, None),
         [("08:00", "08:45", ("5b",), (), ("BEC",), ("R102",), (), ("changed",), "")]),
    ],
    ids=["substitution with the original teacher", "room change",
         "substitution with a room change", "cancelled double period is one row",
         "extra lesson", "a note alone", "exam", "teacher gone without a substitute"],
)
def test_changes_upstream_become_change_rows(rpc, synced, store, clock, change, expected):
    change(rpc)
    assert synced.run_cycle(clock()).outcome == "delta"
    assert [_row(r) for r in change_rows(store.snapshot(), MONDAY)] == expected


def test_a_deleted_period_leaves_the_copy(rpc, synced, store, clock):
    rpc.delete(1011)
    result = synced.run_cycle(clock())
    assert (result.outcome, result.deletions) == ("delta", 1)
    assert 1011 not in store.snapshot().periods and 1010 in store.snapshot().periods


def test_a_window_answered_empty_keeps_the_last_good_copy(rpc, synced, store, clock):
    held = dict(store.snapshot().periods)
    for pid in list(rpc.periods):
        rpc.delete(pid)
    result = synced.run_cycle(clock())
    assert result.outcome == "failed"
    assert f"no periods for a window that holds {len(held)}" in result.error
    assert store.snapshot().periods == held
    assert store.status().last_error == result.error
    clock.advance(minutes=2)
    assert synced.run_cycle(clock()).outcome == "delta"  # said again: taken as confirmed
    assert store.snapshot().periods == {}


def test_a_change_reverted_upstream_is_reverted_on_the_board(rpc, synced, store, clock):
    rpc.substitute(1011, 2)
    synced.run_cycle(clock())
    clock.advance(minutes=2)
    rpc.substitute(1011, 1)
    rpc.update(1011, code=None)
    synced.run_cycle(clock())
    assert change_rows(store.snapshot(), MONDAY) == []


# --- politeness ---------------------------------------------------------------------------------
def test_an_unchanged_upstream_costs_a_login_one_cheap_call_and_a_logout(rpc, synced, clock):
    for _ in range(3):
        result = synced.run_cycle(clock())
        assert (result.outcome, result.upserts, result.deletions) == ("delta", 0, 0)
        clock.advance(minutes=2)
    assert rpc.methods() == QUIET * 3


def test_a_quiet_import_time_still_fetches_the_window_every_half_hour(rpc, session, store,
                                                                      clock):
    user, password = rpc.credentials
    source = JsonRpcSource(rpc.url, rpc.school, user, password, TZ, session,
                           monotonic=lambda: clock().timestamp())
    engine = SyncEngine(source, store, TZ, days_ahead=2, schedule=SCHEDULE)
    engine.run_cycle(clock())
    rpc.calls.clear()
    quiet_cycles = int(MAX_QUIET_S // 120) - 1
    for _ in range(quiet_cycles):
        clock.advance(minutes=2)
        engine.run_cycle(clock())
    assert rpc.methods() == QUIET * quiet_cycles
    rpc.calls.clear()
    clock.advance(minutes=2)
    assert engine.run_cycle(clock()).outcome == "delta"
    assert rpc.methods() == DELTA  # half an hour since the last fetch: fetched anyway


def test_a_moved_import_time_fetches_the_whole_window_once(rpc, synced, clock):
    rpc.cancel(1011)
    synced.run_cycle(clock())
    clock.advance(minutes=2)
    synced.run_cycle(clock())
    assert rpc.methods() == DELTA + QUIET


def test_a_restarted_source_fetches_everything_once(rpc, synced, session, clock):
    user, password = rpc.credentials
    synced.source = JsonRpcSource(rpc.url, rpc.school, user, password, TZ, session)
    synced.run_cycle(clock())
    clock.advance(minutes=2)
    synced.run_cycle(clock())
    assert rpc.methods() == FULL + QUIET  # a fresh source has no grid yet: it asks once


def test_a_fetch_the_engine_did_not_store_is_fetched_again(rpc, source):
    # The engine advances `since` only after it stored a cycle; the same `since` again means
    # the last answer never reached the store.
    first = datetime(2026, 11, 23, 7, 58, tzinfo=TZ)
    assert source.fetch_changes(MONDAY, WEDNESDAY, first).complete
    assert source.fetch_changes(MONDAY, WEDNESDAY, first).complete
    quiet = source.fetch_changes(MONDAY, WEDNESDAY, first + timedelta(minutes=2))
    assert (quiet.complete, list(quiet.batch.periods)) == (False, [])
    assert rpc.count("getTimetable") == 6


def test_a_window_that_grew_is_fetched_whole(rpc, source):
    source.fetch_window(MONDAY, MONDAY)
    source.fetch_changes(MONDAY, WEDNESDAY, datetime(2026, 11, 23, 7, 58, tzinfo=TZ))
    assert rpc.count("getTimetable") == 6


# --- logout and error codes ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "fault",
    [
        Fault("getTimetable", status=500),
        Fault("getTimetable", status=200, body=b"[]"),
        Fault("getKlassen", status=404),
    ],
    ids=["HTTP 500", "garbage", "HTTP 404"],
)
def test_a_failed_cycle_still_logs_out(rpc, engine, clock, fault):
    rpc.inject(fault)
    assert engine.run_cycle(clock()).outcome == "failed"
    assert rpc.count("logout") == 1
    assert rpc.methods()[-1] == "logout"


def test_a_lost_session_logs_in_again_once_and_the_cycle_succeeds(rpc, synced, clock):
    rpc.cancel(1011)
    rpc.fail("getRooms", -8520)
    assert synced.run_cycle(clock()).outcome == "delta"
    methods = rpc.methods()
    assert methods.count("authenticate") == 2 and methods.count("getRooms") == 2
    assert methods[-1] == "logout"
    sessions = {c.session for c in rpc.calls if c.method == "getRooms"}
    assert len(sessions) == 2  # the repeated call carried the new session


def test_a_session_lost_again_after_the_new_login_is_an_error(rpc, source):
    rpc.fail("getKlassen", -8520, times=2)
    with pytest.raises(SourceError, match=r"getKlassen: not logged in \(-8520\)"):
        source.fetch_window(MONDAY, WEDNESDAY)
    assert rpc.count("authenticate") == 2 and rpc.count("getKlassen") == 2


def test_an_expired_session_upstream_is_renewed(rpc, source):
    source.fetch_window(MONDAY, MONDAY)
    rpc.expire_sessions()  # nothing carries over between cycles: each one logs in afresh
    assert len(source.fetch_window(MONDAY, MONDAY).periods) == 13
    assert rpc.count("authenticate") == 2


def test_refused_credentials_pause_the_engine_before_the_account_locks(rpc, session, store,
                                                                       clock):
    user, _ = rpc.credentials
    wrong = JsonRpcSource(rpc.url, rpc.school, user, "wrong-password", TZ, session)
    engine = SyncEngine(wrong, store, TZ, days_ahead=2, schedule=SCHEDULE, auth_failure_limit=3)
    outcomes = []
    for _ in range(6):
        outcomes.append(engine.run_cycle(clock(), force=True).outcome)
        clock.advance(minutes=5)
    assert outcomes == ["failed", "failed", "failed", "paused", "paused", "paused"]
    assert rpc.methods() == ["authenticate"] * 3  # one try per cycle, none while paused
    assert not rpc.blocked
    error = store.status().last_error
    assert "check SIGNAGE_JSONRPC_USER and SIGNAGE_JSONRPC_PASSWORD" in error
    assert "wrong-password" not in error


def test_bad_credentials_are_an_auth_error_naming_the_settings(rpc, session):
    user, _ = rpc.credentials
    wrong = JsonRpcSource(rpc.url, rpc.school, user, "wrong-password", TZ, session)
    with pytest.raises(SourceAuthError, match=r"bad credentials \(-8504\)") as info:
        wrong.fetch_window(MONDAY, MONDAY)
    assert info.value.hint == "check SIGNAGE_JSONRPC_USER and SIGNAGE_JSONRPC_PASSWORD"


def test_a_blocked_account_stops_the_cycle_for_half_an_hour_without_retrying(rpc, engine,
                                                                            store, clock):
    rpc.blocked = True
    result = engine.run_cycle(clock())
    assert result.outcome == "failed" and "temporarily blocked (-8998)" in result.error
    assert rpc.methods() == ["authenticate"]
    assert store.status().not_before == clock() + timedelta(seconds=BLOCKED_RETRY_S)
    assert store.status().auth_failures == 0  # not a refusal of the secret
    assert engine.run_cycle(clock() + timedelta(minutes=10)).outcome == "skipped"


def test_an_unknown_error_code_is_named(rpc, source):
    rpc.fail("getTeachers", -7004, "no allowed date")
    with pytest.raises(SourceError, match="getTeachers: error -7004: no allowed date"):
        source.fetch_window(MONDAY, MONDAY)


# --- transport and garbage ----------------------------------------------------------------------
def test_a_500_is_unavailable_without_retrying(rpc, source):
    rpc.inject(Fault("getTimetable", status=500))
    with pytest.raises(SourceUnavailable, match="getTimetable: HTTP 500"):
        source.fetch_window(MONDAY, MONDAY)
    assert rpc.count("getTimetable") == 1


@pytest.mark.slow
def test_retry_after_on_429_is_honoured(rpc, source):
    rpc.inject(Fault("getLatestImportTime", status=429, headers={"Retry-After": "1"}))
    source.fetch_window(MONDAY, MONDAY)
    first, second = calls_of(rpc, "getLatestImportTime")
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.9


def test_a_long_retry_after_is_handed_to_the_engine(rpc, source):
    wait = PoliteRetry.MAX_RETRY_AFTER_S * 20
    rpc.inject(Fault("authenticate", status=503, headers={"Retry-After": str(int(wait))}))
    with pytest.raises(SourceUnavailable) as info:
        source.fetch_window(MONDAY, MONDAY)
    assert info.value.retry_after_s == wait
    assert rpc.methods() == ["authenticate"]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault("getTimetable", status=200, body=b"{not json"), "getTimetable: .*not valid JSON"),
        (Fault("getKlassen", status=200, body=b"[1, 2]"), "not a JSON-RPC object"),
        (Fault("getLatestImportTime", status=200, body=b'{"jsonrpc": "2.0", "id": "x"}'),
         "id does not match"),
        (Fault("getTimetable", status=200, truncate=True), "getTimetable"),
    ],
    ids=["malformed JSON", "wrong shape", "foreign id", "truncated gzip"],
)
def test_unusable_answers_are_one_source_error(rpc, source, fault, message):
    rpc.inject(fault)
    with pytest.raises(SourceError, match=message):
        source.fetch_window(MONDAY, MONDAY)
    assert rpc.methods()[-1] == "logout"


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ({"date": 20261123, "startTime": 800, "endTime": 845}, "without a numeric id"),
        ({"id": 1, "date": "2026-11-23", "startTime": 800, "endTime": 845}, "not YYYYMMDD"),
        ({"id": 1, "date": 20261123, "startTime": 875, "endTime": 845}, "not an HHMM time"),
        ({"id": 1, "date": 20261123, "startTime": 900, "endTime": 845}, "ends before"),
        ({"id": 1, "date": 20261123, "startTime": 800, "endTime": 845, "te": [{"name": "X"}]},
         "without an id"),
        ({"id": 1, "date": 20261123, "startTime": 800, "endTime": 845, "ro": {"id": 1}},
         "ro is not a list"),
    ],
    ids=["no id", "date as ISO", "minute 75", "ends before it starts", "entry without id",
         "entries not a list"],
)
def test_a_broken_period_is_one_source_error(rpc, source, period, message):
    serve(rpc, "getTimetable", [period])
    with pytest.raises(SourceError, match=message):
        source.fetch_window(MONDAY, MONDAY)


@pytest.mark.parametrize(
    ("method", "result", "message"),
    [
        ("getTimetable", {"periods": []}, "getTimetable answered dict, not a list"),
        ("getTeachers", [{"name": "MÜL"}], "getTeachers answered an entry without an id"),
        ("getLatestImportTime", "yesterday", "getLatestImportTime answered 'yesterday'"),
        ("authenticate", {"session": "x"}, "without a sessionId"),
    ],
    ids=["timetable not a list", "teacher without id", "import time not a number",
         "login without a session id"],
)
def test_a_result_of_the_wrong_shape_is_one_source_error(rpc, source, method, result, message):
    serve(rpc, method, result)
    with pytest.raises(SourceError, match=message):
        source.fetch_window(MONDAY, MONDAY)


def serve(rpc, method: str, result) -> None:
    """Make the fake answer `method` with `result` (still echoing the request id)."""
    original = rpc.answer

    def answer(verb, path, query, raw, session):
        status, headers, body, call = original(verb, path, query, raw, session)
        if call.method == method and isinstance(body, dict) and "result" in body:
            body = {**body, "result": result}
        return status, headers, body, call

    rpc.answer = answer


def test_no_class_at_all_is_an_error_not_an_empty_plan(rpc, source):
    rpc.master["classes"].clear()
    with pytest.raises(SourceError, match="no active class"):
        source.fetch_window(MONDAY, MONDAY)


@pytest.mark.slow
def test_a_hang_past_the_read_timeout_is_unavailable_and_skips_the_logout(rpc, source):
    rpc.inject(Fault("getTimetable", status=200, delay_s=1.5, times=4))  # the try and 3 retries
    with pytest.raises(SourceUnavailable, match="getTimetable: .*timed out"):
        source.fetch_window(MONDAY, MONDAY)
    # An upstream that did not answer would only make a logout wait for another timeout.
    assert rpc.count("logout") == 0


@pytest.fixture
def elsewhere(clock):
    """A second fake on another loopback port: where a redirect would lead."""
    server = FakeJsonRpc(TZ, school="Testschule", clock=clock).start()
    yield server
    server.stop()


@pytest.mark.parametrize("method", ["authenticate", "getTimetable"])
@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_is_an_error_and_is_not_followed(rpc, source, elsewhere, method, status):
    location = f"{elsewhere.url}/WebUntis/jsonrpc.do?school=Testschule"
    rpc.inject(Fault(method, status=status, headers={"Location": location}, body=b"{}"))
    with pytest.raises(SourceError) as info:
        source.fetch_window(MONDAY, MONDAY)
    host = elsewhere.url.removeprefix("http://")
    message = str(info.value)
    assert message.startswith(f"{method}: ")
    assert f"HTTP {status} redirect to {host} not followed" in message
    assert not isinstance(info.value, SourceUnavailable)
    assert list(elsewhere.calls) == []


# --- secrets ------------------------------------------------------------------------------------
def test_password_and_session_ids_reach_no_log_line_and_no_error(rpc, synced, store, session,
                                                                 clock, caplog):
    caplog.set_level(logging.DEBUG)
    _, password = rpc.credentials
    rpc.cancel(1011)
    rpc.fail("getKlassen", -8520)
    synced.run_cycle(clock())
    clock.advance(minutes=2)
    rpc.cancel(1012)
    rpc.fail("getTimetable", -7777, f"login with {password} refused")
    failed = synced.run_cycle(clock())
    sessions = {c.session for c in rpc.calls if c.session}
    assert len(sessions) >= 3
    texts = [caplog.text, failed.error or "", store.status().last_error or ""]
    for secret in (password, *sessions):
        assert not any(secret in text for text in texts), secret
    assert "-7777" in failed.error
    assert not any(c.name == "JSESSIONID" for c in session.cookies)


# --- the wire, as python-webuntis speaks it -------------------------------------------------------
def test_the_fake_speaks_the_wire_format_python_webuntis_expects(rpc):
    url = f"{rpc.url}/WebUntis/jsonrpc.do?school={rpc.school}"
    user, password = rpc.credentials

    def call(method, params, cookie=None):
        request_id = str(datetime.today())
        headers = {"User-Agent": "test", "Content-Type": "application/json"}
        if cookie:
            headers["Cookie"] = f"JSESSIONID={cookie}"
        body = {"id": request_id, "method": method, "params": params, "jsonrpc": "2.0"}
        response = requests.post(url, data=json.dumps(body).encode(), headers=headers,
                                 timeout=5)
        answer = response.json()
        assert response.status_code == 200 and answer["id"] == request_id
        return answer, response

    login, response = call("authenticate", {"user": user, "password": password,
                                            "client": "test"})
    session_id = login["result"]["sessionId"]
    assert response.cookies["JSESSIONID"] == session_id
    klassen, _ = call("getKlassen", {}, session_id)
    assert {"id": 1, "name": "5a", "longName": "5a"}.items() <= klassen["result"][0].items()
    simple, _ = call("getTimetable", {"id": 1, "type": 1, "startDate": 20261123,
                                      "endDate": 20261123}, session_id)
    first = simple["result"][0]
    assert (first["date"], first["startTime"], first["endTime"]) == (20261123, 800, 845)
    assert first["kl"] == [{"id": 1}] and first["lsnumber"] == 101
    by_name, _ = call("getTimetable", {"options": {
        "element": {"id": "MÜL", "type": 2, "keyType": "name"}, "startDate": 20261123,
        "endDate": 20261123, "teacherFields": ["id", "name"]}}, session_id)
    assert by_name["result"][0]["te"] == [{"id": 1, "name": "MÜL"}]
    assert "lsnumber" not in by_name["result"][0]  # not asked for with showLsNumber
    assert call("nope", {}, session_id)[0]["error"]["code"] == -32601
    assert call("logout", {}, session_id)[0]["result"] is None
    assert call("getKlassen", {}, session_id)[0]["error"]["code"] == -8520
    wrong_school = requests.post(url.replace("Testschule", "Other"), timeout=5,
                                 json={"id": "1", "method": "getKlassen", "params": {},
                                       "jsonrpc": "2.0"}).json()
    assert wrong_school["error"]["code"] == -8500


def test_the_fake_locks_an_account_after_repeated_failed_logins(rpc, session):
    user, _ = rpc.credentials
    wrong = JsonRpcSource(rpc.url, rpc.school, user, "wrong", TZ, session)
    for _ in range(rpc.lock_after):
        with pytest.raises(SourceAuthError):
            wrong.fetch_window(MONDAY, MONDAY)
    assert rpc.blocked
    with pytest.raises(SourceError, match="-8998"):
        wrong.fetch_window(MONDAY, MONDAY)
