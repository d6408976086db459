"""The WebUntis v3 client against what the spec types and leaves open, over real HTTP.

Each open point (the deleted-periods body, paging, time grids, empty lists, new enumeration
values, a publication in progress) is served by the fake in every shape we accept; typed ones
(`start`/`end` are date-times) the fake checks as strictly as the spec, no more.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests

from signage.demo.server import API, Fault
from signage.demo.untis_v3 import DELETED_SHAPES
from signage.domain.rows import change_rows, day_rows
from signage.sources.base import SourceBusy, SourceError, SourceUnavailable
from signage.store.codec import period_from_json, period_to_json
from tests.conftest import BELLS, MONDAY, cycle, period, rows

WEDNESDAY = MONDAY + timedelta(days=2)
THURSDAY = MONDAY + timedelta(days=3)
UTC_CURSOR = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def calls(fake, endpoint: str = "timetable") -> list:
    return [r for r in fake.requests if r.endpoint == endpoint]


def raw_get(fake, path: str, params: dict[str, str]) -> requests.Response:
    """GET an endpoint of the fake with a fresh token, parameters exactly as given."""
    token = requests.post(f"{fake.url}/WebUntis/api/sso/v3/{fake.tenant}/token",
                          data={"grant_type": "client_credentials"}, auth=fake.credentials,
                          timeout=5).json()["access_token"]
    return requests.get(f"{fake.url}{API}{path}", params=params, timeout=5,
                        headers={"Authorization": f"Bearer {token}"})


# --- start/end are date-times ---------------------------------------------------------------

def test_a_full_load_asks_for_date_times_that_cover_the_last_day_whole(fake, source):
    fake.put_period(period(9001, WEDNESDAY, 0, start=f"{WEDNESDAY}T22:00",
                           end=f"{WEDNESDAY}T23:30", type="EVENT"))
    fake.put_period(period(9002, THURSDAY, 0, start=f"{THURSDAY}T00:15",
                           end=f"{THURSDAY}T01:00", type="EVENT"))
    batch = source.fetch_window(MONDAY, WEDNESDAY)
    ids = {p.id for p in batch.periods}
    assert 9001 in ids and 3033 in ids and 9002 not in ids
    (asked,) = calls(fake)
    assert (asked.params["start"], asked.params["end"]) == (
        ["2026-11-23T00:00:00"], ["2026-11-25T23:59:59"])


def test_a_delta_asks_for_date_times_and_a_utc_cursor(fake, source, clock):
    source.fetch_changes(MONDAY, WEDNESDAY, clock() - timedelta(minutes=2))
    (asked,) = calls(fake)
    assert (asked.params["start"], asked.params["end"]) == (
        ["2026-10-19T00:00:00"], ["2026-12-30T23:59:59"])
    (cursor,) = asked.params["dateLastModifiedAfter"]
    assert UTC_CURSOR.fullmatch(cursor) and cursor == "2026-11-23T07:58:00"
    assert calls(fake, "deleted")[0].params["dateLastModifiedAfter"] == [cursor]


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"start": "2026-11-23", "end": "2026-11-25T23:59:59"}, "start"),
        ({"start": "2026-11-23T00:00:00", "end": "2026-11-25"}, "end"),
        ({"start": "23.11.2026 08:00", "end": "2026-11-25T23:59:59"}, "start"),
        ({"start": "2026-11-23T25:00", "end": "2026-11-25T23:59:59"}, "start"),
        ({"end": "2026-11-25T23:59:59"}, "start"),
        ({"start": "2026-11-25T00:00", "end": "2026-11-23T00:00"}, "end"),
        ({"start": "2026-11-23T00:00", "end": "2026-11-25T00:00",
          "dateLastModifiedAfter": "2026-11-23"}, "dateLastModifiedAfter"),
        ({"start": "2026-11-23T00:00", "end": "2026-11-25T00:00", "limit": "-1"}, "limit"),
    ],
    ids=["start a bare date", "end a bare date", "not ISO 8601", "hour 25", "start missing",
         "end before start", "cursor a bare date", "negative limit"],
)
def test_the_fake_refuses_what_is_not_a_date_time_with_a_v3_validation_error(fake, params,
                                                                              path):
    answer = raw_get(fake, "/timetable", params)
    assert answer.status_code == 400
    body = answer.json()
    assert body["errorCode"] == "VALIDATION_ERROR"
    assert {"errorMessage", "requestId", "traceId"} <= body.keys()
    (error,) = body["validationErrors"]
    assert error.keys() == {"errorKey", "path", "constraintValue", "errorMessage", "index"}
    assert error["path"] == path


def test_the_fake_refuses_deleted_periods_without_a_date_time_cursor(fake):
    for params in ({}, {"dateLastModifiedAfter": "2026-11-23"}):
        answer = raw_get(fake, "/timetable/deleted-periods", params)
        assert answer.status_code == 400
        assert answer.json()["validationErrors"][0]["path"] == "dateLastModifiedAfter"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-11-23T08:30", "2026-11-23T08:49"),
        ("2026-11-23T08:30:00", "2026-11-23T08:49:59"),
        ("2026-11-23T08:30:00.000", "2026-11-23T08:49:59.999999"),
        ("2026-11-23T07:30:00Z", "2026-11-23T07:49:00Z"),
        ("2026-11-23T08:30:00+01:00", "2026-11-23T08:49:00+01:00"),
        ("2026-11-23T02:30:00-05:00", "2026-11-23T02:49:00-05:00"),
    ],
    ids=["minutes", "seconds", "a fraction", "UTC", "an offset", "another offset"],
)
def test_the_fake_takes_every_date_time_form_and_serves_what_overlaps(fake, start, end):
    answer = raw_get(fake, "/timetable", {"start": start, "end": end})
    assert answer.status_code == 200, answer.text
    # The first unit (08:00-08:45) overlaps 08:30-08:49; the second (from 08:50) does not.
    assert sorted(p["id"] for p in answer.json()["timetableData"]["periods"]) == [
        1010, 1020, 1030]


def test_the_fake_takes_a_cursor_with_an_offset(fake):
    answer = raw_get(fake, "/timetable/deleted-periods",
                     {"dateLastModifiedAfter": "2026-11-23T09:00:00+01:00"})
    assert answer.status_code == 200 and answer.json() == []


# --- deleted-periods, whatever the wrapper ---------------------------------------------------

@pytest.mark.parametrize("shape", list(DELETED_SHAPES))
def test_deleted_periods_are_read_in_every_shape(fake, source, engine, store, clock, shape):
    engine.run_cycle(clock())
    fake.deleted_shape = shape
    clock.advance(minutes=2)
    fake.delete_period(1011)
    fake.delete_period(2012)
    assert source.fetch_changes(MONDAY, WEDNESDAY, clock() - timedelta(minutes=3)).deleted == {
        1011, 2012}
    result = engine.run_cycle(clock())
    assert (result.outcome, result.deletions) == ("delta", 2)
    assert not {1011, 2012} & store.snapshot().periods.keys()


# --- optional lists and new enumeration values -----------------------------------------------

@pytest.mark.parametrize("empty", ["null", "omitted"])
def test_absent_or_null_optional_lists_never_fail_a_cycle(fake, engine, store, clock, empty):
    fake.empty_lists = empty
    fake.add_names("departments", {1: "Mathematik"})  # listed, but no period names it
    fake.update_period(1010, teachers=[], rooms=[])
    fake.update_period(1011, subjects=[], exam=None)
    fake.backdate([1010, 1011], clock() - timedelta(days=1))
    assert engine.run_cycle(clock()).outcome == "full"
    answer = raw_get(fake, "/timetable", {"start": f"{MONDAY}T08:00", "end": f"{MONDAY}T09:00"})
    served = answer.json()
    if empty == "null":  # the fake really sends what the test is about
        assert served["masterData"]["departments"] is None
        assert served["timetableData"]["timeGrids"] is None
    else:
        assert "departments" not in served["masterData"]
    clock.advance(minutes=2)
    fake.update_period(1012, teachers=[], status="CHANGED", substitutionText="Stillarbeit")
    assert cycle(engine, clock) == "delta"
    snapshot = store.snapshot()
    assert snapshot.periods[1010].ref_list("teachers") == ()
    assert snapshot.periods[1012].text == "Stillarbeit"
    assert [(r.start, r.kinds) for r in day_rows(snapshot, MONDAY) if "5a" in r.classes] == [
        ("08:00", ()), ("08:50", ()), ("09:55", ("changed",)), ("10:45", ())]


def test_new_enumeration_values_show_as_changed_and_are_logged_once(fake, engine, store, clock,
                                                                   caplog):
    new_type, new_status, new_ref = (f"NEW_{word}_{uuid.uuid4().hex[:6]}"
                                     for word in ("TYPE", "STATUS", "REF"))
    engine.run_cycle(clock())
    clock.advance(minutes=2)
    fake.update_period(1010, type=new_type)
    fake.update_period(1020, type=new_type)
    fake.update_period(1011, status=new_status)
    fake.update_period(1030, teachers=[{"id": 3, "status": new_ref}])
    with caplog.at_level(logging.WARNING):
        assert engine.run_cycle(clock()).outcome == "delta"
        fake.update_period(1020, substitutionText="Exkursion")  # sent again in the next delta
        assert cycle(engine, clock) == "delta"
    found = change_rows(store.snapshot(), MONDAY)
    assert [(r.start, r.classes, r.teachers, r.kinds) for r in found] == [
        ("08:00", ("5a",), ("MÜL",), ("changed",)),
        ("08:00", ("5b",), ("BEC",), ("changed",)),
        ("08:00", ("10a",), ("SCH",), ("changed",)),
        ("08:50", ("5a",), ("MÜL",), ("changed",)),
    ]
    for value in (new_type, new_status, new_ref):
        assert sum(value in r.getMessage() for r in caplog.records) == 1, value


# --- paging -----------------------------------------------------------------------------------

@pytest.mark.parametrize("page", [5, 12, 36, 100])
def test_a_full_load_pages_through_a_page_size_the_upstream_imposes(fake, source, page):
    fake.page_limit = page
    batch = source.fetch_window(MONDAY, WEDNESDAY)
    assert sorted(p.id for p in batch.periods) == sorted(fake.periods)
    offsets = [r.params.get("offset", ["0"])[0] for r in calls(fake)]
    pages = 36 // page + 1 if page <= 36 else 1
    assert offsets == [str(page * n) for n in range(pages)]
    assert all(r.params.get("limit", [str(page)]) == [str(page)] for r in calls(fake))
    assert batch.names["classes"] == {1: "5a", 2: "5b", 3: "10a"}


def test_a_delta_pages_too(fake, engine, store, clock):
    engine.run_cycle(clock())
    fake.page_limit = 3
    clock.advance(minutes=2)
    changed = [1010, 1011, 1020, 2010, 2011, 3010, 3033]
    for pid in changed:
        fake.update_period(pid, status="CANCELLED")
    result = engine.run_cycle(clock())
    assert (result.outcome, result.upserts) == ("delta", 7)
    assert {pid for pid, p in store.snapshot().periods.items() if p.status == "CANCELLED"} == set(
        changed)
    assert [r.params.get("offset", ["0"]) for r in calls(fake)[1:]] == [["0"], ["3"], ["6"]]


def test_without_an_imposed_page_size_a_full_answer_is_one_page(fake, source):
    batch = source.fetch_window(MONDAY, MONDAY)
    assert len(batch.periods) == 12 and len(calls(fake)) == 1


def test_paging_that_does_not_advance_is_an_error(fake, source):
    fake.page_limit = 5
    first = raw_get(fake, "/timetable", {"start": f"{MONDAY}T00:00", "end": f"{MONDAY}T23:59"})
    fake.inject(Fault("timetable", status=200, body=first.content, times=3))  # offset ignored
    with pytest.raises(SourceError, match="repeats periods already received"):
        source.fetch_window(MONDAY, MONDAY)


# --- time grid: the boards' unit numbers ---------------------------------------------------

def late_start(fake, clock):
    """Monday's first unit taken out: counting start times now numbers 08:50 as unit 1."""
    for pid in (1010, 1020, 1030):
        fake.delete_period(pid)
    fake.update_period(1022, status="CANCELLED")
    fake.update_period(1023, status="CANCELLED")
    fake.backdate(list(fake.periods), clock() - timedelta(days=1))


@pytest.mark.parametrize(
    ("grid", "unit_of_day", "labels"),
    [(True, True, ["3-4"]), (True, False, ["3-4"]), (False, False, ["2-3"])],
    ids=["unitOfDay", "time grid only", "no grid: start times counted"],
)
def test_units_follow_the_upstreams_time_grid(fake, engine, store, clock, grid, unit_of_day,
                                              labels):
    late_start(fake, clock)
    fake.time_grid = BELLS if grid else None
    fake.unit_of_day = unit_of_day
    assert engine.run_cycle(clock()).outcome == "full"
    snapshot = store.snapshot()
    assert [r.unit_label for r in day_rows(snapshot, MONDAY) if r.kinds] == labels
    assert snapshot.periods[1011].unit == (2 if grid else None)
    if grid:
        served = raw_get(fake, "/timetable", {"start": f"{MONDAY}T08:50",
                                              "end": f"{MONDAY}T09:00"}).json()
        (slots,) = [g["timeGridSlots"] for g in served["timetableData"]["timeGrids"]]
        assert slots[0] == {"day": 1, "unitOfDay": 1, "start": 800, "end": 845,
                            "name": "1. Stunde"}
        assert all(p["timegridId"] == 1 for p in served["timetableData"]["periods"])
        assert all(("unitOfDay" in p) == unit_of_day for p in served["timetableData"]["periods"])


def test_a_periods_unit_survives_the_stored_format_and_older_data_reads():
    (p,) = [period_from_json({
        "id": 1, "start": "2026-11-23T08:50:00", "end": "2026-11-23T09:35:00", "lesson_id": 1,
        "type": "NORMAL_TEACHING_PERIOD", "status": "REGULAR", "modified": None, "text": "",
        "related_period": None, "exam": None, "refs": {}})]  # as stored before units
    assert p.unit is None and "unit" not in period_to_json(p)
    with_unit = period_from_json(period_to_json(replace(p, unit=2)))
    assert with_unit.unit == 2


# --- a publication in progress --------------------------------------------------------------

def publication(status: int, **fields) -> Fault:
    body = (b'{"errorCode":"TT_ONGOING_TIMETABLE_PUBLICATION","errorMessage":"publishing",'
            b'"requestId":"r1","traceId":"t1"}')
    return Fault("timetable", status=status, body=body, **fields)


@pytest.mark.parametrize(("status", "times"), [(409, 1), (503, 4), (400, 1), (500, 1)])
def test_a_publication_in_progress_is_unavailable_not_an_error(fake, source, status, times):
    fake.inject(publication(status, times=times))  # a 503 is retried three times first
    with pytest.raises(SourceBusy, match="timetable publication in progress"):
        source.fetch_window(MONDAY, MONDAY)


def test_a_publication_in_progress_hands_on_its_retry_after(fake, source):
    fake.inject(publication(409, headers={"Retry-After": "120"}))
    with pytest.raises(SourceUnavailable) as info:
        source.fetch_changes(MONDAY, MONDAY, datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
    assert info.value.retry_after_s == 120


def test_the_engine_keeps_the_snapshot_during_a_publication_and_tries_again(fake, engine, store,
                                                                            clock):
    engine.run_cycle(clock())
    before, version = store.snapshot(), store.version()
    fake.update_period(1010, status="CANCELLED")
    fake.inject(publication(409))
    clock.advance(minutes=2)
    failures = store.status().failures
    busy = engine.run_cycle(clock())
    assert busy.outcome == "busy" and "timetable publication in progress" in busy.error
    assert store.version() == version and store.snapshot().periods == before.periods
    assert store.status().failures == failures and store.status().last_error is None  # no failure
    assert store.status().not_before is None  # the next poll tries again
    assert cycle(engine, clock) == "delta"
    assert ("08:00", "08:45", ("5a",), ("MÜL",), (), ("R101",), (), ("cancelled",)) in rows(
        engine)
