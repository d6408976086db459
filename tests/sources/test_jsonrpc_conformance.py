"""JSON-RPC day-one readiness: our calls are the documented methods with the documented parameter
names, types and formats; the fake refuses what a WebUntis server refuses (and no more); codes
and lesson types the reference does not list keep their period, shown as a change. All through
the fake over real HTTP."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
import requests

from signage.domain.rows import change_rows
from signage.sources.jsonrpc import JsonRpcSource
from signage.sync.engine import SyncEngine
from tests.conftest import BELLS, MONDAY, NAMES, SCHEDULE, TZ, cycle
from tests.fakes.jsonrpc_server import FakeJsonRpc

DOCUMENTED = {"authenticate", "logout", "getLatestImportTime", "getKlassen", "getTeachers",
              "getRooms", "getSubjects", "getTimegridUnits", "getTimetable"}
INVALID_PARAMS, INVALID_REQUEST = -32602, -32600


@pytest.fixture
def rpc(clock):
    """Monday and Tuesday: four periods of class 1 (teacher 1, room 1) a day, two lessons."""
    server = FakeJsonRpc(TZ, school="Testschule", clock=clock)
    for category, names in NAMES.items():
        server.add_names(category, names)
    for offset in range(2):
        for unit in range(4):
            server.add_lesson(1010 + 100 * offset + unit, MONDAY + timedelta(days=offset),
                              *BELLS[unit], cls=1, teacher=1, room=1, subject=1 + unit // 2,
                              lesson=101 + unit // 2)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def engine(rpc, session, store) -> SyncEngine:
    user, password = rpc.credentials
    source = JsonRpcSource(rpc.url, rpc.school, user, password, TZ, session)
    return SyncEngine(source, store, TZ, days_ahead=2, schedule=SCHEDULE)


def kinds(engine: SyncEngine) -> dict[str, tuple[str, ...]]:
    return {r.start: r.kinds for r in change_rows(engine.store.snapshot(), MONDAY)}


class Client:
    """A bare JSON-RPC client, to send the fake exactly the request a test needs."""

    def __init__(self, rpc: FakeJsonRpc) -> None:
        self.url = f"{rpc.url}/WebUntis/jsonrpc.do?school={rpc.school}"
        user, password = rpc.credentials
        self.session = self.result("authenticate", {"user": user, "password": password,
                                                    "client": "test"})["sessionId"]

    def send(self, method: Any, params: Any, version: Any = "2.0") -> dict[str, Any]:
        body = {"id": "1", "method": method, "params": params, "jsonrpc": version}
        if version is None:
            del body["jsonrpc"]
        cookie = {"Cookie": f"JSESSIONID={self.session}"} if hasattr(self, "session") else {}
        return requests.post(self.url, json=body, headers=cookie, timeout=5).json()

    def result(self, method: str, params: Any) -> Any:
        answer = self.send(method, params)
        assert "error" not in answer, answer
        return answer["result"]

    def error(self, method: Any, params: Any, version: Any = "2.0") -> int:
        return self.send(method, params, version)["error"]["code"]


def options(**changes: Any) -> dict[str, Any]:
    """Return getTimetable's options as our client sends them, with `changes` (None drops)."""
    base = {"element": {"id": 1, "type": 1}, "startDate": 20261123, "endDate": 20261123,
            "showSubstText": True, "showLsNumber": True, "teacherFields": ["id", "name"]}
    merged = {**base, **changes}
    return {"options": {k: v for k, v in merged.items() if v is not None}}


# --- 2. our calls, as documented ------------------------------------------------------------------
def test_our_calls_are_documented_methods_with_documented_parameters(rpc, engine, clock):
    assert engine.run_cycle(clock()).outcome == "full"
    rpc.substitute(1011, 2)
    assert cycle(engine, clock) == "delta"
    assert set(rpc.methods()) == DOCUMENTED
    assert all(c.error is None and c.status == 200 for c in rpc.calls)
    assert rpc.ignored == []  # not one parameter name the server does not know
    for call in rpc.calls:
        if call.method == "getTimetable":
            sent = call.params["options"]
            assert sent["element"] == {"id": sent["element"]["id"], "type": 1}  # a class
            assert sent["element"]["id"] in NAMES["classes"]
            assert {type(sent["startDate"]), type(sent["endDate"])} == {int}  # YYYYMMDD
            assert (sent["startDate"], sent["endDate"]) == (20261123, 20261125)
        elif call.method == "authenticate":
            assert set(call.params) == {"user", "password", "client"}
        else:
            assert call.params == {}


@pytest.mark.parametrize(
    "params",
    [options(startDate="2026-11-23"), options(startDate=2026112), options(endDate=20261131),
     options(startDate=True), options(startDate=20261123.0),
     options(element={"id": "1", "type": 1}),
     options(element={"id": 1, "type": "1"}), options(element={"id": 1, "type": 9}),
     options(element={"id": 1}), options(element=None), options(showSubstText="yes"),
     options(teacherFields="name"), options(teacherFields=["id", "nme"]),
     options(teacherFields=[{"id": 1}]),
     options(element={"id": 1, "type": 1, "keyType": "uuid"}), {"options": [1]},
     {"id": 1, "type": 1, "startDate": "23.11.2026"}, {"id": 1}, [1, 1]],
    ids=["ISO date", "seven digits", "31 November", "a boolean date", "a float date",
         "id as text by id", "type as text", "type 9", "no type", "no element",
         "flag as text", "fields as text", "unknown field", "a field that is no name",
         "unknown keyType",
         "options not an object", "simple form, German date", "simple form without type",
         "params not an object"],
)
def test_the_fake_refuses_wrongly_typed_timetable_parameters_with_32602(rpc, params):
    assert Client(rpc).error("getTimetable", params) == INVALID_PARAMS


@pytest.mark.parametrize(
    "params",
    [options(startDate="20261123", endDate="20261123"), options(startDate=None, endDate=None),
     {"id": 1, "type": 1, "startDate": 20261123, "endDate": 20261123},
     options(element={"id": "5a", "type": 1, "keyType": "name"})],
    ids=["dates as 8-digit text (public JS clients)", "no dates: today",
         "the simple form", "an element by name"],
)
def test_the_fake_takes_every_documented_form(rpc, params):
    periods = Client(rpc).result("getTimetable", params)
    assert [p["id"] for p in periods] == [1010, 1011, 1012, 1013]


def test_the_fake_ignores_an_unknown_option_as_a_server_does_and_records_it(rpc):
    periods = Client(rpc).result("getTimetable", options(showSubstTxt=True))
    assert len(periods) == 4
    assert rpc.ignored == ["getTimetable: options.showSubstTxt"]


@pytest.mark.parametrize(("version", "method"), [("1.0", "getKlassen"), (None, "getKlassen"),
                                                 ("2.0", 7)],
                         ids=["version 1.0", "no version", "method not a name"])
def test_the_fake_refuses_what_is_no_json_rpc_2_request_with_32600(rpc, version, method):
    assert Client(rpc).error(method, {}, version) == INVALID_REQUEST


def test_the_fake_serves_the_time_grid_in_the_documented_shape(rpc):
    rpc.timegrid = BELLS[:2]
    days = Client(rpc).result("getTimegridUnits", {})
    assert [d["day"] for d in days] == [2, 3, 4, 5, 6]  # 1 = Sunday: Monday to Friday
    assert days[0]["timeUnits"] == [{"name": "1", "startTime": 800, "endTime": 845},
                                    {"name": "2", "startTime": 850, "endTime": 935}]
    rpc.timegrid = None
    assert Client(rpc).result("getTimegridUnits", {}) == []
    rpc.timegrid_refused = True
    assert Client(rpc).error("getTimegridUnits", {}) == -8509


@pytest.mark.parametrize("params", [[], [2], "2"], ids=["an empty list", "a list", "text"])
def test_the_fake_refuses_time_grid_params_that_are_no_object_with_32602(rpc, params):
    assert Client(rpc).error("getTimegridUnits", params) == INVALID_PARAMS


def test_the_fake_ignores_a_time_grid_parameter_as_a_server_does_and_records_it(rpc):
    assert Client(rpc).result("getTimegridUnits", {"day": 2}) == []
    assert rpc.ignored == ["getTimegridUnits: day"]


def test_the_fake_refuses_a_password_that_is_no_text(rpc):
    user, _ = rpc.credentials
    answer = requests.post(f"{rpc.url}/WebUntis/jsonrpc.do?school={rpc.school}", timeout=5,
                           json={"id": "1", "method": "authenticate", "jsonrpc": "2.0",
                                 "params": {"user": user, "password": 1234, "client": "x"}})
    assert answer.json()["error"]["code"] == INVALID_PARAMS


# --- 3. tolerance where the reference is silent ---------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "logged"),
    [({"code": "shifted"}, "unknown code 'shifted'"),
     ({"lstype": "xx"}, "unknown lstype 'xx'"),
     ({"code": "shifted", "lstype": "xx"}, "unknown code 'shifted'")],
    ids=["a new code", "a new lesson type", "both"],
)
def test_an_unknown_code_or_lesson_type_keeps_the_period_as_a_change_logged_once(
        rpc, engine, clock, caplog, fields, logged):
    caplog.set_level(logging.INFO, logger="signage.sources.jsonrpc_parse")
    assert engine.run_cycle(clock()).outcome == "full"
    for pid in (1011, 1013, 1111):
        rpc.update(pid, **fields)
    assert cycle(engine, clock) == "delta"
    rpc.cancel(1010)
    assert cycle(engine, clock) == "delta"  # another cycle, the same unknown values
    assert kinds(engine) == {"08:00": ("cancelled",), "08:50": ("changed",),
                             "10:45": ("changed",)}
    assert 1111 in engine.store.snapshot().periods
    for value in fields.values():
        assert sum(f"'{value}'" in r.getMessage() for r in caplog.records) == 1, caplog.text
    assert logged in caplog.text


def test_an_unknown_code_on_a_cancelled_looking_period_is_not_cancelled(rpc, engine, clock):
    engine.run_cycle(clock())
    rpc.update(1012, code="CANCELLED")  # not the documented spelling: shown, flagged
    assert cycle(engine, clock) == "delta"
    assert kinds(engine) == {"09:55": ("changed",)}


@pytest.mark.parametrize("value", [None, "absent", []], ids=["null", "omitted", "empty"])
@pytest.mark.parametrize("key", ["te", "su", "ro"])  # a period without `kl` is in no class's
def test_a_period_without_a_reference_list_keeps_the_cycle_going(rpc, engine, clock, key, value):
    engine.run_cycle(clock())
    period = dict(rpc.periods[1011])
    if value == "absent":
        del period[key]
    else:
        period[key] = value
    rpc.put_period(period)
    assert cycle(engine, clock) == "delta"
    assert 1011 in engine.store.snapshot().periods
