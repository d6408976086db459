"""Upstream payloads fuzzed into every parser: a clear `SourceError`, or a valid result.

Each parser starts from a realistic answer of its upstream (WebUntis v3 periods and deleted ids,
Affect IT sync lists, objects and lessons, JSON-RPC names and periods, UniTime sessions, rooms
and events, MyTimetable timetables, events and messages, the WebUntis monitor's format and
day list). Then fields anywhere in it are
replaced by wrong types, nulls, huge numbers, non-finite floats, odd times, long strings and
deep nesting (as deep as `json.loads` delivers), or removed. The parser, run as its source runs
it, must either raise `SourceError` or return periods and names the rest of the system can use:
well-typed, start before end, a snapshot that survives the Redis codec, and board rows that
render to JSON. Any other exception would reach the sync loop as an "internal error".
"""

from __future__ import annotations

import json
import math
import reprlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signage.domain.model import CATEGORIES, Period, Snapshot
from signage.domain.rows import change_rows, day_rows
from signage.sources import (
    affectit_parse,
    jsonrpc_parse,
    monitor_parse,
    mytimetable_parse,
    unitime_parse,
    untis_parse,
)
from signage.sources.base import SourceError
from signage.store.codec import snapshot_from_json, snapshot_to_json
from tests.conftest import MONDAY, TZ, period

pytestmark = pytest.mark.slow

WINDOW = (MONDAY, MONDAY + timedelta(days=2))
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SHORT = reprlib.Repr()
SHORT.maxlevel, SHORT.maxstring, SHORT.maxother = 4, 60, 60


def _ms(day: date, hour: int, minute: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).timestamp() * 1000)


def _deep(depth: int, kind: str) -> Any:
    """Return nesting as deep as an upstream can send it (decoded by json, as requests does)."""
    if kind == "list":
        return json.loads("[" * depth + "]" * depth)
    return json.loads('{"a":' * depth + "{}" + "}" * depth)


# --- realistic answers ----------------------------------------------------------------------

def untis_timetable() -> dict[str, Any]:
    return {
        "headerData": {"created": "2026-11-23T08:59:30",
                       "school": {"tenantId": "demo", "name": "Testschule"}},
        "masterData": {
            "classes": [{"id": 1, "externKey": "5a", "displayName": "5a"}],
            "teachers": [{"id": 1, "externKey": "MÜL", "displayName": "MÜL"},
                         {"id": 2, "externKey": "BEC", "displayName": "BEC"}],
            "rooms": [{"id": 1, "externKey": "R101", "displayName": "R101"}],
            "subjects": [{"id": 1, "externKey": "M", "displayName": "M"}],
            "studentGroups": [{"id": 7, "externKey": "5a_M", "displayName": "5a M"}],
        },
        "timetableData": {"periods": [
            dict(period(1, MONDAY, 0), modified="2026-11-22T10:00:00",
                 studentGroups=[{"id": 7, "status": "REGULAR"}]),
            dict(period(2, MONDAY, 1), status="CHANGED", substitutionText="Buch mitbringen",
                 modified="2026-11-23T07:00:00", relatedPeriod={"id": 3}, exam={"id": 4},
                 teachers=[{"id": 1, "status": "REMOVED"}, {"id": 2, "status": "ADDED"}]),
        ]},
    }


def untis_deleted() -> Any:
    return [11, 12, {"id": 13}]


def affectit_sync_list() -> Any:
    return [{"untis_id": 7, "timestamp": "2026-11-23T08:00:00Z"},
            {"untis_id": 8, "timestamp": "2026-11-23T08:01:00+00:00"}]


def affectit_lessons() -> Any:
    return [{"untis_id": 1, "start": "2026-11-23T07:00:00Z", "end": "2026-11-23T07:45:00Z",
             "course": 5, "groups": [1], "teachers": [2, 3], "locations": [4], "subjects": [6],
             "timestamp": "2026-11-22T10:00:00Z", "name": "M", "longname": "Mathematik"},
            {"untis_id": 2, "start": "2026-11-23T08:50:00+01:00",
             "end": "2026-11-23T09:35:00+01:00", "course": None, "groups": [1],
             "teachers": [], "locations": None, "subjects": [6]}]


def affectit_objects() -> Any:
    return [{"untis_id": 1, "name": "5a", "longname": "Klasse 5a"},
            {"untis_id": 2, "name": "", "longname": "Raum 102"}]


def jsonrpc_names() -> Any:
    return [{"id": 1, "name": "5a", "longName": "Klasse 5a", "active": True},
            {"id": 2, "name": "5b", "longName": "Klasse 5b", "active": False}]


def jsonrpc_timetable() -> Any:
    return [
        {"id": 1, "date": 20261123, "startTime": 800, "endTime": 845, "kl": [{"id": 1}],
         "te": [{"id": 2, "orgid": 3, "name": "BEC", "orgname": "MÜL"}],
         "su": [{"id": 4, "name": "M"}], "ro": [{"id": 5, "name": "R101"}],
         "lstype": "ls", "code": "irregular", "substText": "Vertretung", "lsnumber": 99},
        {"id": 2, "date": "20261123", "startTime": 850, "endTime": 935, "kl": [{"id": 1}],
         "te": [{"id": 0, "orgid": 3}], "su": [{"id": 4}], "ro": [], "code": "cancelled",
         "lstype": "ex", "lstext": "Gruppe A"},
    ]


def unitime_roles() -> Any:
    return [{"reference": "Fal2026", "beginDate": "2026-08-24", "endDate": "2026-12-11",
             "eventBeginDate": "2026-07-24", "eventEndDate": "2027-01-10"},
            {"reference": "Spr2027", "beginDate": "2027-01-11", "endDate": "2027-05-07"}]


def unitime_rooms() -> Any:
    return [{"uniqueId": 1, "name": "101", "building": {"abbreviation": "EDUC"}},
            {"uniqueId": 2, "name": "Aula", "label": "Great Hall", "building": None}]


def unitime_events() -> Any:
    by_epoch = {"meetingId": 11, "approvalStatus": "Approved",
                "startTime": _ms(MONDAY, 8), "stopTime": _ms(MONDAY, 8, 50),
                "meetingDate": f"{MONDAY}T00:00:00Z", "startSlot": 96, "endSlot": 106,
                "startOffset": 0, "endOffset": 0,
                "location": {"resourceId": 1, "resourceName": "EDUC 101"}}
    by_slots = {"meetingId": 12, "approvalStatus": "Cancelled",
                "meetingDate": f"{MONDAY + timedelta(days=1)}T00:00:00Z", "startSlot": 96,
                "endSlot": 106, "startOffset": 5, "endOffset": -5,
                "location": {"resourceId": 2, "resourceName": "Great Hall"}}
    return [{"eventId": 1, "eventName": "PHYS 101 Lec 2", "eventType": "Class",
             "courseNames": ["PHYS 101"],
             "instructors": [{"formattedName": "Curie, M"}, {"lastName": "Bohr",
                                                            "firstName": "Niels"}],
             "meetings": [by_epoch, by_slots, dict(by_epoch, meetingId=13,
                                                   startTime=_ms(MONDAY + timedelta(days=7), 8),
                                                   stopTime=_ms(MONDAY + timedelta(days=7), 9),
                                                   location={"resourceId": 3,
                                                             "resourceName": "EDUC 102"})]},
            {"eventId": 2, "eventName": "Final: MATH 1", "eventType": "FinalExam",
             "meetings": [dict(by_epoch, meetingId=21, approvalStatus="Pending")]}]


def mytimetable_timetables() -> Any:
    return {"timetable": [{"value": "#SPLUS1A", "description": "5a"},
                          {"value": "#SPLUS2B"}]}


def mytimetable_events() -> Any:
    return [{"startDate": _ms(MONDAY, 8), "endDate": _ms(MONDAY, 8, 45),
             "activityDescription": "Wiskunde", "moduleCode": "WI1", "activityTypeName":
             "Hoorcollege", "eventType": {"id": "lecture", "description": "Lecture",
                                          "eventTypeGroup": {"id": "G", "description": "G"}},
             "studentSets": ["5a", {"name": "5b"}], "staffMembers": ["Jansen"],
             "locations": [{"name": "R101", "id": "x"}], "tags": [{"key": "t", "name": "t"}],
             "notes": "Vervalt wegens ziekte"},
            {"startDate": _ms(MONDAY, 9), "endDate": _ms(MONDAY, 10),
             "activityDescription": "Toets", "moduleCode": None, "studentSets": ["5a"],
             "activityTypeDescription": "Tentamen", "notes": None}]


def mytimetable_messages() -> Any:
    return {"messages": [
        {"id": 1, "title": "Welkom", "body": "**Let op**: [site](http://x)", "important": True,
         "publicationDate": _ms(MONDAY, 7), "expirationDate": None, "targetRoles": []},
        {"id": 2, "title": "Docenten", "body": "", "publicationDate": _ms(MONDAY, 6),
         "expirationDate": _ms(MONDAY, 20), "targetRoles": ["ROLE_STAFF", "ROLE_STUDENT"]},
    ]}


# --- the parsers, run as their sources run them ---------------------------------------------

Result = tuple[list[Period], dict[str, dict[int, str]]]


def run_untis_timetable(payload: Any) -> Result:
    batch = untis_parse.parse_timetable(payload, TZ)
    assert batch.server_time is None or batch.server_time.tzinfo is not None
    assert isinstance(batch.school, str)
    return list(batch.periods), {c: dict(t) for c, t in batch.names.items()}


def run_untis_deleted(payload: Any) -> Result:
    deleted = untis_parse.parse_deleted(payload)
    assert isinstance(deleted, frozenset) and all(type(i) is int for i in deleted)
    return [], {}


def run_affectit_sync_list(payload: Any) -> Result:
    entries = affectit_parse.parse_sync_list(payload, "teachers")
    assert all(type(i) is int and isinstance(s, str) and s for i, s in entries.items())
    return [], {}


def run_affectit_lessons(payload: Any) -> Result:
    objects = affectit_parse.parse_objects(payload, "lessons")
    names = {"subjects": {i: affectit_parse.name_of(item) for i, item in objects.items()}}
    return [affectit_parse.parse_lesson(raw, TZ) for raw in objects.values()], names


def run_affectit_objects(payload: Any) -> Result:
    objects = affectit_parse.parse_objects(payload, "groups")
    return [], {"classes": {i: affectit_parse.name_of(item) for i, item in objects.items()}}


def run_jsonrpc_names(payload: Any) -> Result:
    names = jsonrpc_parse.parse_names(payload, "getKlassen")
    active = jsonrpc_parse.active_ids(payload, "getKlassen")
    assert all(type(i) is int for i in active) and set(active) <= names.keys()
    return [], {"classes": names}


def run_jsonrpc_timetable(payload: Any) -> Result:
    names: dict[str, dict[int, str]] = {}
    periods: dict[int, Period] = {}
    # A period of two classes comes in both classes' answers: the source merges them.
    for answer in (payload, jsonrpc_timetable()):
        for found in jsonrpc_parse.parse_timetable(answer, names):
            known = periods.get(found.id)
            periods[found.id] = found if known is None else jsonrpc_parse.merge_period(known,
                                                                                      found)
    return list(periods.values()), names


def run_unitime_roles(payload: Any) -> Result:
    terms = unitime_parse.parse_terms(payload)
    assert all(t.begin <= t.end and t.event_begin <= t.begin for t in terms)
    chosen = unitime_parse.choose_term(terms, MONDAY)
    assert chosen in terms
    return [], {}


def run_unitime_rooms(payload: Any) -> Result:
    return [], {"rooms": unitime_parse.parse_rooms(payload)}


def run_unitime_events(payload: Any) -> Result:
    meetings = unitime_parse.parse_events(payload, TZ)
    periods, names = unitime_parse.to_periods(meetings, *WINDOW)
    some, _ = unitime_parse.to_periods(meetings, *WINDOW, rooms={1, 2})  # a room board
    assert {p.id for p in some} <= {p.id for p in periods}
    return periods, names


def run_mytimetable_timetables(payload: Any) -> Result:
    found = mytimetable_parse.parse_timetables(payload, "location")
    assert all(isinstance(t.key, str) and t.key and isinstance(t.description, str)
               for t in found)
    return [], {}


def run_mytimetable_events(payload: Any) -> Result:
    parser = mytimetable_parse.EventParser(TZ, ["cancelled", "vervalt"])
    parser.add(payload, "#SPLUS1A")
    parser.add(mytimetable_events(), "#SPLUS2B")  # the same events listed by another timetable
    return list(parser.periods.values()), parser.names


def run_mytimetable_messages(payload: Any) -> Result:
    lines = mytimetable_parse.parse_messages(payload, NOW)
    assert isinstance(lines, tuple) and all(isinstance(line, str) and line for line in lines)
    return [], {}


def monitor_format() -> dict[str, Any]:
    return {"payload": {"customTitle": "Vertretungen", "groupBy": 1, "mergeBlocks": True,
                        "showHour": True, "showTime": True, "showClass": True,
                        "showSubject": True, "showRoom": True, "showTeacher": True,
                        "showInfo": True, "showSubstText": True, "showTicker": False,
                        "showAbsentElements": [1, 2], "showAffectedElements": [1]}}


def monitor_data() -> dict[str, Any]:
    new = '<span class="substMonitorSubstElem">{}</span>'
    struck = '<span class="cancelStyle">{}</span>'
    return {"payload": {
        "date": 20261123, "nextDate": 20261124, "showingNextDate": False, "weekDay": "Montag",
        "lastUpdate": "23.11.2026 07:41:03", "importInProgress": False,
        "rows": [
            {"data": ["2", "08:50-09:35", "5a, 5b", "M", "R101",
                      f"{new.format('SCH')} ({struck.format('M&Uuml;L')})", "Vertretung", ""],
             "group": "5a", "cellClasses": {}, "cssClasses": ["", "wu-fg-substitution"]},
            {"data": ["3 - 4", "09:55-11:30", "5b", "D", "R102",
                      f"{struck.format('---')} (BEC)", "Entfall", "verlegt auf Freitag"],
             "group": "5b", "cellClasses": {str(i): ["cancelStyle"] for i in (2, 3, 4, 5)},
             "cssClasses": ["", "wu-fg-cancelled"]},
            {"data": ["5", "11:50-12:35", "5b", new.format("D"), new.format("R102"),
                      new.format("BEC"), "Zusatzunterricht", ""],
             "group": None, "cellClasses": {}, "cssClasses": []}],
        "absentElements": [{"elementType": 2, "elementId": 7, "elementName": "M&Uuml;L",
                            "startUnit": None, "endUnit": None, "absences": [
                                {"type": "FROM_TO", "startTime": 850, "endTime": 935,
                                 "isEvent": False, "startUnit": "2", "endUnit": "2"}]}],
        "affectedElements": {"1": ["5a", "5b"]},
        "messageData": {"messages": [{"subject": "Heute", "body": "<b>Wandertag</b>"}]},
        "regularFreeData": None}}


def run_monitor_format(payload: Any) -> Result:
    columns = monitor_parse.columns_of(monitor_parse.unwrap(payload, "format"))
    assert all(c in dict(monitor_parse.COLUMNS) for c in columns)
    return [], {}


def run_monitor_data(payload: Any) -> Result:
    answer = monitor_parse.DayAnswer.of(monitor_parse.unwrap(payload, "data"), "data")
    assert all(isinstance(n, str) and isinstance(u, str)
               for n, u in answer.notice.absent_teachers + answer.notice.absent_classes)
    assert all(isinstance(line, str) and line for line in answer.messages)
    reader = monitor_parse.RowReader(tuple(dict(monitor_parse.COLUMNS)))
    reader.add(answer, "data")
    return list(reader.periods.values()), reader.names


PARSERS: dict[str, tuple[Callable[[], Any], Callable[[Any], Result]]] = {
    "untis timetable": (untis_timetable, run_untis_timetable),
    "untis deleted-periods": (untis_deleted, run_untis_deleted),
    "affectit sync list": (affectit_sync_list, run_affectit_sync_list),
    "affectit lessons": (affectit_lessons, run_affectit_lessons),
    "affectit objects": (affectit_objects, run_affectit_objects),
    "jsonrpc names": (jsonrpc_names, run_jsonrpc_names),
    "jsonrpc timetable": (jsonrpc_timetable, run_jsonrpc_timetable),
    "unitime roles": (unitime_roles, run_unitime_roles),
    "unitime rooms": (unitime_rooms, run_unitime_rooms),
    "unitime events": (unitime_events, run_unitime_events),
    "mytimetable timetables": (mytimetable_timetables, run_mytimetable_timetables),
    "mytimetable events": (mytimetable_events, run_mytimetable_events),
    "mytimetable messages": (mytimetable_messages, run_mytimetable_messages),
    "monitor format": (monitor_format, run_monitor_format),
    "monitor data": (monitor_data, run_monitor_data),
}


# --- what a usable result is ----------------------------------------------------------------

def check_result(periods: list[Period], names: dict[str, dict[int, str]]) -> None:
    """Fail unless the periods and names are well-typed and the rest of the system can use
    them: the Redis codec keeps them, board rows render to JSON."""
    for category, table in names.items():
        assert isinstance(category, str)
        assert all(type(i) is int and isinstance(n, str) for i, n in table.items()), table
    for p in periods:
        assert isinstance(p, Period) and type(p.id) is int
        assert isinstance(p.start, datetime) and isinstance(p.end, datetime)
        assert p.start.tzinfo is None and p.end.tzinfo is None and p.start <= p.end, p
        assert p.lesson_id is None or type(p.lesson_id) is int
        assert p.related_period is None or type(p.related_period) is int
        assert p.modified is None or isinstance(p.modified, datetime)
        assert all(isinstance(v, str) for v in (p.type, p.status, p.text))
        assert p.exam is None or isinstance(p.exam, str)
        for category, refs in p.refs.items():
            assert category in CATEGORIES, category
            # A status of no known value is kept (the board shows the period as changed).
            assert all(type(r.id) is int and isinstance(r.status, str) for r in refs), refs
    # What the engine keeps: the window's periods.
    kept = {p.id: p for p in periods if WINDOW[0] <= p.day <= WINDOW[1]}
    snapshot = Snapshot(*WINDOW, kept, names, school="Fuzz")
    stored = json.loads(json.dumps(snapshot_to_json(snapshot), allow_nan=False))
    assert snapshot_from_json(stored) == snapshot
    for day in sorted({p.day for p in kept.values()}):
        rows = [*change_rows(snapshot, day), *day_rows(snapshot, day)]
        json.dumps([row.to_json() for row in rows], allow_nan=False)


def outcome(name: str, payload: Any) -> str | None:
    """Run a parser; return None when it raised SourceError or returned a usable result,
    else what went wrong."""
    try:
        periods, names = PARSERS[name][1](payload)
    except SourceError as exc:
        message = str(exc)
        if not message.strip() or "Traceback" in message:
            return f"SourceError without a clear message: {message[:200]!r}"
        return None
    except Exception as exc:  # noqa: BLE001 - any other exception is the finding
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    try:
        check_result(periods, names)
    except AssertionError as exc:
        return f"an unusable result: {str(exc)[:300]}"
    return None


# --- mutations ------------------------------------------------------------------------------

Path = tuple[Any, ...]
DELETE = object()  # the key is missing


def paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Yield the path of every value in a JSON document, the root first (not into what a
    mutation nested deeper than any answer is)."""
    yield prefix
    if len(prefix) >= 8:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def mutate(document: Any, path: Path, new: Any) -> Any:
    """Return the document with the value at `path` replaced (or its key removed); copies only
    along the path, so deep values are shared rather than copied."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = dict(document) if isinstance(document, dict) else list(document)
    if not rest and new is DELETE:
        del copy[head]
    else:
        copy[head] = mutate(document[head], rest, new)
    return copy


HUGE = json.loads("9" * 400)  # an integer beyond any float, as json decodes it
SPECIAL: list[Any] = [
    None, True, False, 0, -1, 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63, -(2**63) - 1, 10**15,
    10**30, HUGE, -HUGE, 0.5, -0.0, 1e308, -1e308, math.inf, -math.inf, math.nan, "", " ", "0",
    "-1", "x" * 100_000, "\x00", "🙂", "NaN", "1e999", "2026-02-30", "2026-11-23T25:00:00",
    "9999-12-31T23:59:59", "0001-01-01T00:00:00", "2026-11-23T08:00:00+14:00",
    "2026-11-23T08:00:00-23:59", "2026-11-23", "20261123", "Approved", "REMOVED", [], {},
    [None], [{}], [[]], {"id": None}, {"id": 1}, [1, 2], {"": {}},
    _deep(900, "list"), _deep(900, "dict"), [_deep(600, "list")] * 3,
]
SPECIAL_IDS = [SHORT.repr(v) for v in SPECIAL]


def test_every_field_replaced_by_hand_picked_values_or_removed():
    failures = []
    for name, (baseline, _) in PARSERS.items():
        document = baseline()
        for path in list(paths(document)):
            candidates = [*SPECIAL, *([DELETE] if path else [])]
            for new, label in zip(candidates, [*SPECIAL_IDS, "(removed)"], strict=False):
                problem = outcome(name, mutate(document, path, new))
                if problem:
                    failures.append(f"{name}: {path} = {label}: {problem}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:15])


# Periods (in the window) each realistic answer holds: a broken baseline would make every
# mutation above a SourceError, and the fuzzing would prove nothing.
EXPECTED_PERIODS = {"untis timetable": 2, "affectit lessons": 2, "jsonrpc timetable": 2,
                    "unitime events": 3, "mytimetable events": 2, "monitor data": 3}


def test_the_realistic_answers_parse():
    for name, (baseline, run) in PARSERS.items():
        periods, names = run(baseline())
        check_result(periods, names)
        kept = [p for p in periods if WINDOW[0] <= p.day <= WINDOW[1]]
        assert len(kept) == EXPECTED_PERIODS.get(name, 0), name
        if kept:
            assert names, name
    assert mytimetable_parse.parse_messages(mytimetable_messages(), NOW) == (
        "Welkom: Let op: site", "Docenten")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=1500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(PARSERS)), data=st.data())
def test_generated_mutations_raise_source_error_or_parse(name, data):
    document = PARSERS[name][0]()
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        where = list(paths(document))
        path = data.draw(st.sampled_from(where), label="path")
        new = data.draw(st.one_of(json_values, st.sampled_from(SPECIAL),
                                  st.just(DELETE) if path else st.nothing()), label="value")
        document = mutate(document, path, new)
    problem = outcome(name, document)
    assert problem is None, problem
