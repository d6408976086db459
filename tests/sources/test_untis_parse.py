"""Parsing v3 answers: the real shape, and garbage that must become one SourceError."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import pytest

from signage.domain.model import Ref
from signage.sources.base import SourceError
from signage.sources.untis_parse import combine_pages, page_limit, parse_deleted, parse_timetable
from tests.conftest import TZ

PERIOD = {"id": 1, "lessonId": 7, "start": "2026-11-23T08:00", "end": "2026-11-23T08:45",
          "type": "EXAM", "status": "CHANGED", "substitutionText": "Raum 2",
          "relatedPeriod": {"id": 9}, "exam": {"id": 3, "name": "KA"}, "somethingNew": [1],
          "classes": [{"id": 1, "status": "REGULAR"}],
          "studentGroups": [{"id": 4, "status": "ADDED"}]}


def answer(*periods: object, **top: object) -> dict:
    return {"headerData": {"created": "2026-11-23T09:00:00", "school": {"name": "S"}},
            "masterData": {"classes": [{"id": 1, "externKey": "5A", "displayName": "5a"}],
                           "studentGroups": [{"id": 4, "displayName": "5a_Gr1"}]},
            "timetableData": {"periods": list(periods)}, **top}


def test_the_real_shape_is_read_and_unknown_fields_ignored():
    batch = parse_timetable(answer(PERIOD), TZ)
    (p,) = batch.periods
    assert (p.id, p.lesson_id, p.type, p.status, p.text) == (1, 7, "EXAM", "CHANGED", "Raum 2")
    assert (p.related_period, p.exam) == (9, "3")
    assert p.ref_list("studentgroups") == (Ref(4, "ADDED"),)
    assert batch.names["studentgroups"] == {4: "5a_Gr1"} and batch.names["classes"] == {1: "5a"}
    assert batch.server_time == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_times_with_an_offset_become_school_local():
    p = parse_timetable(answer(dict(PERIOD, start="2026-11-23T07:00:00Z")), TZ).periods[0]
    assert p.start == datetime(2026, 11, 23, 8, 0)


def test_no_periods_is_a_valid_empty_answer():
    assert parse_timetable(answer(), TZ).periods == []


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"timetableData": {}},
        {"timetableData": {"periods": None}},
        answer("x"),
        answer({"start": "2026-11-23T08:00", "end": "2026-11-23T08:45"}),
        answer(dict(PERIOD, id=True)),
        answer(dict(PERIOD, start="morning")),
        answer(dict(PERIOD, start=None)),
        answer(dict(PERIOD, end="2026-11-23T07:00")),
        answer(dict(PERIOD, classes={"id": 1})),
        answer(dict(PERIOD, classes=[{"status": "REGULAR"}])),
        answer(dict(PERIOD, classes=[{"id": 1, "status": ["REGULAR"]}])),
        answer(dict(PERIOD, start="0001-01-01T00:30:00+05:00")),
        answer(dict(PERIOD, end="9999-12-31T23:59:00-05:00")),
        answer(headerData={"created": "0001-01-01T00:00:00"}),
        answer(headerData=[]),
        answer(masterData=[]),
        answer(masterData={"classes": {"id": 1}}),
        answer(masterData={"classes": [{"displayName": "5a"}]}),
    ],
    ids=["a list", "no periods key", "periods null", "period not an object", "period without id",
         "boolean id", "start not a time", "start missing", "ends before it starts",
         "refs not a list", "ref without id", "ref status a list",
         "offset before year 1", "offset after year 9999", "created at year 1",
         "headerData a list", "masterData a list", "master entries not a list",
         "master entry without id"],
)
def test_garbage_is_one_source_error(payload):
    with pytest.raises(SourceError):
        parse_timetable(payload, TZ)


@pytest.mark.parametrize(
    ("payload", "ids"),
    [([1, 2], {1, 2}), ([{"id": 3}], {3}), ({"periods": [4]}, {4}), ([], set())],
    ids=["ids", "objects", "wrapped", "none"],
)
def test_deleted_periods_are_read(payload, ids):
    assert parse_deleted(payload) == ids


@pytest.mark.parametrize("payload", [None, {"x": 1}, ["1"], [True], [{"id": None}], "1,2"])
def test_deleted_periods_garbage_is_one_source_error(payload):
    with pytest.raises(SourceError):
        parse_deleted(payload)


@pytest.mark.parametrize(
    ("payload", "ids"),
    [({"deletedPeriods": [5, 6]}, {5, 6}), ({"ids": [7]}, {7}),
     ({"deletedPeriods": [{"id": 8}]}, {8}), ({"count": 1, "removed": [9]}, {9}),
     ({"deletedPeriods": []}, set())],
    ids=["deletedPeriods", "ids", "wrapped objects", "the only list of another object",
         "wrapped, none"],
)
def test_deleted_periods_are_read_in_each_wrapper(payload, ids):
    assert parse_deleted(payload) == ids


@pytest.mark.parametrize("payload", [{"a": [1], "b": [2]}, {"ids": "1,2"}, {"periods": [None]}],
                         ids=["two lists", "no list", "a list of nothing"])
def test_an_unclear_deleted_periods_wrapper_is_one_source_error(payload):
    with pytest.raises(SourceError):
        parse_deleted(payload)


def test_absent_or_null_optional_parts_are_empty():
    bare = {"id": 2, "start": "2026-11-23T08:00", "end": "2026-11-23T08:45", "exam": None,
            "classes": None, "teachers": None, "rooms": [], "unitOfDay": None,
            "timegridId": None}
    payload = answer(bare, masterData={"classes": None, "teachers": None})
    payload["timetableData"]["timeGrids"] = None
    (p,) = parse_timetable(payload, TZ).periods
    assert (p.refs, p.exam, p.unit) == ({"rooms": ()}, None, None)


def grid(grid_id, first_unit=1, day=1):
    """A time grid of one day: units from `first_unit`, at 08:00, 08:50 and 09:55."""
    times = [(800, 845), (850, 935), (955, 1040)]
    return {"id": grid_id, "timeGridSlots": [
        {"day": day, "unitOfDay": first_unit + n, "start": s, "end": e, "name": ""}
        for n, (s, e) in enumerate(times)]}


def second_unit(**fields):
    return {**PERIOD, "start": "2026-11-23T08:50", "end": "2026-11-23T09:35", **fields}


@pytest.mark.parametrize(
    ("period", "grids", "unit"),
    [
        (second_unit(unitOfDay=7), None, 7),
        (second_unit(unitOfDay=7), [grid(1)], 7),
        (second_unit(), [grid(1)], 2),
        (second_unit(timegridId=2), [grid(1), grid(2, first_unit=0)], 1),
        (second_unit(), [grid(1), grid(2, first_unit=0)], None),
        (second_unit(), [grid(1, day=2)], None),
        (second_unit(start="2026-11-23T09:00"), [grid(1)], 2),
        (second_unit(), None, None),
        (second_unit(unitOfDay="2"), None, None),
        (second_unit(), [{"id": 1, "timeGridSlots": [{"day": 1, "start": "x"}]}], None),
        (second_unit(), "grid", None),
        (second_unit(), [grid(1), {"id": 3}, None, "x"], 2),
    ],
    ids=["unitOfDay", "unitOfDay before the grid", "the grid's slot", "the period's grid",
         "several grids, none named", "no slot that weekday", "a slot it overlaps",
         "no grid", "unitOfDay not a number", "unusable slot skipped",
         "timeGrids not a list", "unusable grids skipped"],
)
def test_a_periods_unit_comes_from_unit_of_day_else_its_time_grid(period, grids, unit):
    payload = answer(period)
    if grids is not None:
        payload["timetableData"]["timeGrids"] = grids
    assert parse_timetable(payload, TZ).periods[0].unit == unit


def test_unknown_enumeration_values_keep_the_period_and_are_logged_once(caplog):
    new_type, new_status, new_ref = (f"NEW_{word}_{uuid.uuid4().hex[:6]}"
                                     for word in ("TYPE", "STATUS", "REF"))
    weird = dict(PERIOD, type=new_type, status=new_status,
                 teachers=[{"id": 1, "status": new_ref}])
    with caplog.at_level(logging.WARNING, logger="signage.sources.untis_parse"):
        for _ in range(2):
            periods = parse_timetable(answer(weird, dict(weird, id=2)), TZ).periods
    assert [(p.type, p.status, p.ref_list("teachers")) for p in periods] == [
        (new_type, new_status, (Ref(1, new_ref),))] * 2
    for value in (new_type, new_status, new_ref):
        assert sum(value in r.getMessage() for r in caplog.records) == 1


def test_known_enumeration_values_are_not_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="signage.sources.untis_parse"):
        parse_timetable(answer(PERIOD, dict(PERIOD, id=2, type="MEETING", status="CANCELLED")),
                        TZ)
    assert caplog.records == []


@pytest.mark.parametrize(
    ("header", "limit"),
    [({"filter": {"limit": 50, "offset": 0}}, 50), ({"filter": {"limit": 0}}, 0),
     ({"filter": None}, 0), ({}, 0), ({"filter": {"limit": True}}, 0),
     ({"filter": {"limit": "50"}}, 0)],
    ids=["imposed", "none", "filter null", "no filter", "a boolean", "a text"],
)
def test_the_imposed_page_size_is_read_from_the_header_filter(header, limit):
    assert page_limit(answer(headerData=header)) == limit


def test_pages_combine_into_one_batch_with_the_earliest_clock():
    first = parse_timetable(answer(PERIOD), TZ)
    later = answer(dict(PERIOD, id=2), headerData={"created": "2026-11-23T09:01:00"})
    later["masterData"] = {"teachers": [{"id": 1, "displayName": "MÜL"}]}
    combined = combine_pages([first, parse_timetable(later, TZ)])
    assert [p.id for p in combined.periods] == [1, 2]
    assert combined.names["classes"] == {1: "5a"} and combined.names["teachers"] == {1: "MÜL"}
    assert (combined.school, combined.server_time) == ("S", first.server_time)
