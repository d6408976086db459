"""Parsing v3 answers: the real shape, and garbage that must become one SourceError."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signage.model import Ref
from signage.sources.base import SourceError
from signage.sources.untis_parse import parse_deleted, parse_timetable
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
        answer(dict(PERIOD, classes=[{"id": 1, "status": "GONE"}])),
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
         "refs not a list", "ref without id", "unknown ref status", "ref status a list",
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
