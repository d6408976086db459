"""A fake classic WebUntis JSON-RPC server on a loopback port, for tests and scenarios.

It speaks what `signage.sources.jsonrpc` documents, faithfully enough for the unmodified
python-webuntis package: `POST /WebUntis/jsonrpc.do?school=…`, JSON-RPC 2.0 answers echoing the
request id (HTTP 200, errors too), `authenticate` setting the `JSESSIONID` cookie, -8520 without
a live session, -8504 for wrong credentials, -8998 while blocked (told so, or after `lock_after`
failed logins in a row), -8500 for another school, -32601 for an unknown method. `getTimetable`
takes the simple form `{id, type, startDate?, endDate?}` (every field, entries as bare ids) and
the `options` form (`element` with `keyType` id, name or externalkey, `show*` flags, `*Fields`
naming what entries carry); dates default to today. `getTimegridUnits` (no parameters) answers
`[{day, timeUnits: [{name, startTime, endTime}]}]` for Monday (day 2) to Friday (day 6) from
`timegrid` (units 1, 2, … in that order; None, the default: `[]`, no grid), or -8509 while
`timegrid_refused`. getSubstitutions and the rest of the API are not served (the adapter reads
changes off the timetable). Every mutation moves the import
time; periods are sent as stored (a reference list left out or null stays so).

As strict as the protocol, no stricter: no `jsonrpc: "2.0"` or a method that is no name is
-32600; params that are no object, or a documented parameter of the wrong type or format, is
-32602 (dates YYYYMMDD as a number or its 8 digits as text, a real day; element type 1-5, an id
number by id or a name by name/externalkey; flags booleans; `*Fields` lists of id, name,
longname, externalkey; credentials text). A parameter name it does not know is ignored, as a
server does, and recorded in `ignored` (`"getTimetable: options.showSubstTxt"`).
Every call is recorded (the password never), with the bytes of its body and of the answer's
body as sent and the time it took to build the answer; `Fault`s are injected per JSON-RPC method
(HTTP status with Retry-After, hang, malformed or truncated body), JSON-RPC errors with `fail`.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from datetime import time as clock_time
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from signage.demo import served
from signage.demo.served import MAX_RECORDED, Fault
from tests.fakes.jsonrpc_params import (
    ELEMENTS,
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARAMS,
    SHOWN_BY,
    RefusedError,
    day_of,
    timetable_request,
)

PATH = "/WebUntis/jsonrpc.do"
MASTER_METHODS = {"getKlassen": "classes", "getTeachers": "teachers", "getRooms": "rooms",
                  "getSubjects": "subjects"}
METHODS = {"authenticate", "logout", "getLatestImportTime", "getTimetable", "getTimegridUnits",
           *MASTER_METHODS}
WEEKDAYS = range(2, 7)  # getTimegridUnits' days: 1 = Sunday, 2 = Monday … 7 = Saturday
NO_RIGHT = -8509


@dataclass(frozen=True)
class Call:
    """One request the server received."""

    method: str  # the JSON-RPC method ("" when the body was no JSON-RPC request)
    params: Any  # as sent, a password replaced by "***"
    session: str | None  # the JSESSIONID cookie it carried
    school: str | None
    status: int = 200  # the HTTP status sent
    error: int | None = None  # the JSON-RPC error code sent
    at: float = 0.0  # time.monotonic() when it arrived
    request_bytes: int = 0  # the request's body
    response_bytes: int = 0  # the answer's body as sent (gzipped when asked)
    answer_s: float = 0.0  # from arrival until the body was ready to send (the server's work)


class FakeJsonRpc(served.Served):
    """Holds a school's periods and serves them over HTTP like a classic WebUntis server."""

    endpoints = METHODS  # an HTTP fault names the JSON-RPC method it hits

    def __init__(
        self,
        tz: ZoneInfo,
        school: str = "Demo-Gymnasium",
        user: str = "signage",
        password: str = "demo-password",  # noqa: S107 - the fake server's own credentials
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lock_after: int | None = None,
    ) -> None:
        self.tz = tz
        self.school = school
        self.credentials = (user, password)
        self.clock = clock
        self.lock_after = lock_after
        self.blocked = False
        self.timegrid: Sequence[tuple[clock_time, clock_time]] | None = None  # units 1, 2, …
        self.timegrid_refused = False  # getTimegridUnits answers -8509 (no right)
        self.failed_logins = 0
        self.master: dict[str, dict[int, str]] = {category: {} for category in ELEMENTS}
        self.periods: dict[int, dict[str, Any]] = {}
        self.import_ms = 0
        self.calls: deque[Call] = deque(maxlen=MAX_RECORDED)
        self.faults: list[Fault] = []
        self.errors: list[tuple[str, int, str]] = []  # (method, code, message) to answer next
        self.ignored: list[str] = []  # parameter names a server would ignore, as sent
        self.lock = threading.RLock()
        self._sessions: set[str] = set()
        self._touch()

    # --- data -------------------------------------------------------------------------------
    def add_names(self, category: str, names: dict[int, str]) -> None:
        """Add master data `{id: short name}` (category: classes, teachers, rooms, subjects)."""
        with self.lock:
            self.master[category].update(names)
            self._touch()

    def add_lesson(self, pid: int, day: date, start: clock_time, end: clock_time, cls: int,
                   teacher: int, room: int, subject: int, lesson: int | None = None,
                   **fields: Any) -> None:
        """Add a regular period (`fields`: more element fields, e.g. `lstype="ex"`)."""
        period = {"id": pid, "date": int(day.strftime("%Y%m%d")),
                  "startTime": _hhmm(start), "endTime": _hhmm(end),
                  "kl": [{"id": cls}], "te": [{"id": teacher}], "su": [{"id": subject}],
                  "ro": [{"id": room}], "lsnumber": pid if lesson is None else lesson, **fields}
        with self.lock:
            self.periods[pid] = period
            self._touch()

    def put_period(self, period: dict[str, Any]) -> None:
        """Create or replace a period given in the wire shape (`{id, date, startTime, ...}`)."""
        with self.lock:
            self.periods[period["id"]] = dict(period)
            self._touch()

    def add_extra(self, pid: int, day: date, start: clock_time, end: clock_time, cls: int,
                  teacher: int, room: int, subject: int) -> None:
        """Add an extra lesson: code irregular, nobody replaced."""
        self.add_lesson(pid, day, start, end, cls, teacher, room, subject, code="irregular")

    def substitute(self, pid: int, teacher: int | None) -> None:
        """Give a period another teacher (None: nobody); the planned one becomes `orgid`."""
        self._replace(pid, "te", teacher)

    def change_room(self, pid: int, room: int | None) -> None:
        """Move a period to another room; the planned one becomes `orgid`."""
        self._replace(pid, "ro", room)

    def cancel(self, pid: int) -> None:
        """Cancel a period (code cancelled)."""
        self.update(pid, code="cancelled")

    def delete(self, pid: int) -> None:
        """Remove a period from the timetable."""
        with self.lock:
            self.periods.pop(pid)
            self._touch()

    def update(self, pid: int, **fields: Any) -> None:
        """Set element fields of a period (None removes one)."""
        with self.lock:
            period = {**self.periods[pid], **fields}
            self.periods[pid] = {k: v for k, v in period.items() if v is not None}
            self._touch()

    def _replace(self, pid: int, key: str, new: int | None) -> None:
        with self.lock:
            entry = self.periods[pid][key][0]
            planned = entry.get("orgid", entry["id"])
            replaced = {"id": planned} if new == planned else {"id": new or 0, "orgid": planned}
            code = self.periods[pid].get("code") or "irregular"
            self.update(pid, **{key: [replaced, *self.periods[pid][key][1:]]}, code=code)

    def _touch(self) -> None:
        # Strictly increasing, even when a frozen test clock stands still.
        now_ms = int(self.clock().timestamp() * 1000)
        self.import_ms = max(now_ms, self.import_ms + 1)

    # --- faults and records -----------------------------------------------------------------
    def fail(self, method: str, code: int, message: str = "injected", times: int = 1) -> None:
        """Answer the next `times` calls of `method` with a JSON-RPC error."""
        with self.lock:
            self.errors.extend([(method, code, message)] * times)

    def expire_sessions(self) -> None:
        """End every session, as the upstream does after a while (-8520 from then on)."""
        with self.lock:
            self._sessions.clear()

    def count(self, method: str) -> int:
        """Return how many calls of a JSON-RPC method arrived."""
        return sum(1 for c in self.calls if c.method == method)

    def methods(self) -> list[str]:
        """Return the JSON-RPC methods called, in order."""
        return [c.method for c in self.calls]

    # --- HTTP -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Return the base URL (the part before /WebUntis)."""
        return self._origin()

    def start(self, port: int = 0) -> FakeJsonRpc:
        """Serve on 127.0.0.1 (a free port unless given) in a daemon thread."""
        self._serve(_Handler, "fake-jsonrpc", port)
        return self

    # --- answers ----------------------------------------------------------------------------
    def answer(self, verb: str, path: str, query: dict, raw: bytes,
               session: str | None) -> tuple[int, dict, Any, Call]:
        """Return (HTTP status, headers, body, call) for one request."""
        school = (query.get("school") or [None])[0]
        try:
            request = json.loads(raw)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return 200, {}, _error(None, -32700, "parse error"), Call("", None, session, school)
        params = request.get("params")
        params = {} if params is None else params
        method = request.get("method")
        call = Call(method if isinstance(method, str) else "", _redact(params), session, school)
        if verb != "POST" or path != PATH:
            return 404, {}, b"not found", call
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return 200, {}, _error(request.get("id"), INVALID_REQUEST, "invalid request"), \
                replace(call, error=INVALID_REQUEST)
        headers: dict[str, str] = {}
        try:
            headers, result = self._dispatch(call.method, params, session, school)
        except RefusedError as refusal:
            body = _error(request.get("id"), refusal.code, str(refusal))
            return 200, {}, body, replace(call, error=refusal.code)
        return 200, headers, {"jsonrpc": "2.0", "id": request.get("id"), "result": result}, call

    def _dispatch(self, method: str, params: Any, session: str | None,
                  school: str | None) -> tuple[dict, Any]:
        if school != self.school:
            raise RefusedError(-8500, "invalid schoolname")
        queued = next((e for e in self.errors if e[0] == method), None)
        if queued is not None:
            self.errors.remove(queued)
            raise RefusedError(queued[1], queued[2])
        if not isinstance(params, dict):
            raise RefusedError(INVALID_PARAMS, "invalid params: not an object")
        if method in METHODS:
            self._note(f"{method}: ", params, PARAMS.get(method, set()))
        if method == "authenticate":
            return self._authenticate(params)
        if session not in self._sessions:
            raise RefusedError(-8520, "not authenticated")
        if method == "logout":
            self._sessions.discard(session)
            return {}, None
        if method == "getLatestImportTime":
            return {}, self.import_ms
        if method in MASTER_METHODS:
            if not isinstance(params.get("schoolyearId", 0), int):
                raise RefusedError(INVALID_PARAMS, "invalid params: schoolyearId")
            table = self.master[MASTER_METHODS[method]]
            return {}, [{"id": i, "name": n, "longName": n, "foreName": "", "active": True}
                        for i, n in sorted(table.items())]
        if method == "getTimetable":
            return {}, self._timetable(params)
        if method == "getTimegridUnits":
            if self.timegrid_refused:
                raise RefusedError(NO_RIGHT, "no right for getTimegridUnits")
            units = [{"name": str(n), "startTime": _hhmm(start), "endTime": _hhmm(end)}
                     for n, (start, end) in enumerate(self.timegrid or (), start=1)]
            return {}, [{"day": day, "timeUnits": units} for day in WEEKDAYS] if units else []
        raise RefusedError(-32601, "Method not found")

    def _authenticate(self, params: Any) -> tuple[dict, Any]:
        if self.blocked:
            raise RefusedError(-8998, "user temporarily blocked")
        if not all(isinstance(params.get(k, ""), str) for k in PARAMS["authenticate"]):
            raise RefusedError(INVALID_PARAMS, "invalid params: user, password and client are text")
        given = (params.get("user"), params.get("password"))
        if given != self.credentials:
            self.failed_logins += 1
            self.blocked = self.lock_after is not None and self.failed_logins >= self.lock_after
            raise RefusedError(-8504, "bad credentials")
        self.failed_logins = 0
        session = secrets.token_hex(16).upper()
        self._sessions.add(session)
        result = {"sessionId": session, "personType": 2, "personId": 0, "klasseId": 0}
        return {"Set-Cookie": f"JSESSIONID={session}; Path=/WebUntis; HttpOnly"}, result

    def _timetable(self, params: dict) -> list[dict]:
        request = timetable_request(params)
        self.ignored += request.ignored
        key = request.key
        if request.key_type != "id":  # the fake's external keys are its names
            key = next((i for i, n in self.master[request.category].items() if n == key), None)
        today = int(self.clock().astimezone(self.tz).strftime("%Y%m%d"))
        start, end = (day_of(request.spec.get(k, today)) for k in ("startDate", "endDate"))
        wire = ELEMENTS[request.category][0]
        return [self._render(p, request.options) for p in self._between(start, end)
                if any(key in (e["id"], e.get("orgid")) for e in p.get(wire) or ())]

    def _note(self, prefix: str, given: dict, known: set[str]) -> None:
        """Record the parameter names a server would ignore (tests assert none are sent)."""
        self.ignored += [f"{prefix}{k}" for k in given if k not in known]

    def _between(self, start: int, end: int) -> list[dict]:
        return sorted((p for p in self.periods.values() if start <= p["date"] <= end),
                      key=lambda p: (p["date"], p["startTime"], p["id"]))

    def _render(self, period: dict, options: dict | None) -> dict:
        out = {k: v for k, v in period.items()
               if options is None or k not in SHOWN_BY or options.get(SHOWN_BY[k])}
        for category, (wire, _, fields_key) in ELEMENTS.items():
            fields = set(options.get(fields_key) or ()) if options else set()
            names = self.master[category]
            if period.get(wire) is None:  # absent or null: sent as stored
                continue
            out[wire] = []
            for entry in period[wire]:
                shown = dict(entry)
                for field in ("name", "longname", "externalkey") if fields else ():
                    if field in fields:
                        shown[field] = names.get(entry["id"], "")
                        if "orgid" in entry and field == "name":
                            shown["orgname"] = names.get(entry["orgid"], "")
                out[wire].append(shown)
        return out


class _Handler(served.Handler):
    fake: FakeJsonRpc  # type: ignore[assignment]

    def _serve(self, method: str) -> None:
        arrived = time.monotonic()
        fake = self.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with fake.lock:
            status, extra, body, call = fake.answer(method, url.path, parse_qs(url.query), raw,
                                                    _session_cookie(self.headers.get("Cookie")))
            fault = fake.take_fault(call.method)
        truncate = False
        if fault is not None:
            time.sleep(fault.delay_s)
            status, extra, truncate = fault.status, fault.headers, fault.truncate
            if fault.body is not None:
                body = fault.body
            elif status >= 400:
                body = f"<html><body>HTTP {status}</body></html>".encode()
        encoded = self._encode(body, truncate)
        with fake.lock:
            fake.calls.append(replace(call, status=status, at=arrived, request_bytes=len(raw),
                                      response_bytes=len(encoded.data),
                                      answer_s=time.monotonic() - arrived))
        self._send(status, extra, encoded, truncate)


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def _redact(params: Any) -> Any:
    if isinstance(params, dict) and "password" in params:
        return {**params, "password": "***"}
    return params


def _hhmm(at: clock_time) -> int:
    return at.hour * 100 + at.minute


def _session_cookie(header: str | None) -> str | None:
    try:
        morsel = SimpleCookie(header or "").get("JSESSIONID")
    except CookieError:
        return None
    return morsel.value if morsel is not None else None

