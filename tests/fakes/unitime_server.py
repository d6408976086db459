"""A fake UniTime 4.4 on a loopback port, for tests and scenarios.

It serves what `signage.sources.unitime` uses, under `{url}` = `http://…/UniTime`:
`GET /api/roles` (the academic sessions with their dates), `GET /api/rooms?term=` (the rooms
`add_names("rooms", …)` made: a name with a space is "<building> <room>"), and
`GET /api/events?term=&type=ROOM` with the filter chips UniTime's EventFilterBackend reads:
`e:room` (location ids, repeatable), `r:text` (room names containing the text), `e:from`/`e:to`
(MM/dd/yyyy or a day of the term's year; an unreadable one is ignored, as UniTime does) and
`e:mode` (none: every meeting but Rejected, Cancelled and Deleted ones, so Pending and Approved
and any status newer than the reference; `Cancelled`: Rejected, Cancelled and Deleted only).
Every call needs HTTP Basic (`user`, `password`) or the `token` parameter (401 otherwise).
Gzip when asked.

As strict as UniTime, no stricter: an unknown term, a missing or unserved resource `type` and
an `e:room` that is no id are a 400 (UniTime's API answers an IllegalArgumentException, a bad
number among them, with 400). A parameter or chip it does not read, and a date chip it cannot
read, are ignored as UniTime does and recorded in `ignored` (`"events: e:frm"`,
`"events: e:from=2026-11-23 (unreadable date)"`), so tests can prove a client sends none.

Staging speaks our categories like `FakeAffectIt` (the all-sources scenario drives both alike):
a lesson is a meeting (`pid` = meetingId) of a Class event (`course` = eventId, default `pid`)
named after its class, with the subject as its course name and the teacher as its instructor;
an extra lesson is a meeting of a new Course event; `substitute` changes the event's instructor
(UniTime keeps instructors per event, so every meeting of it changes), `change_room` one
meeting's location, `cancel` its approvalStatus, `delete` drops it. Names are looked up when
answering, so a rename shows everywhere.

Requests are recorded with endpoint `roles`, `rooms`, `events` (else `other`), the token taken
out of the recorded parameters (`auth` tells how each call authenticated). Faults
(`signage.demo.served.Fault`) name those endpoints.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from signage.demo.served import (
    MAX_RECORDED,
    Fault,
    Handler,
    Recorded,
    Served,
    basic_credentials,
)

BASE = "/UniTime"
API = f"{BASE}/api"
ENDPOINTS = ("roles", "rooms", "events")
NOT_SHOWN = ("Rejected", "Cancelled", "Deleted")  # what e:mode=Cancelled lists
TERM_DAYS = 120  # the default session covers the clock's day this far either way
READ = {"roles": {"id"}, "rooms": {"term"},  # besides `token`; r: chips other than r:text
        "events": {"term", "type", "e:room", "e:from", "e:to", "e:mode", "r:text"}}


class FakeUnitime(Served):
    """Holds a term's rooms, events and meetings and serves them like UniTime's REST API."""

    endpoints = ENDPOINTS

    def __init__(
        self,
        tz: ZoneInfo,
        user: str = "api",
        password: str = "unitime-demo-password",  # noqa: S107 - the fake's own credentials
        token: str = "unitime-demo-token",  # noqa: S107
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        term: str = "Fal2026",
        campus: str = "demo",
        sessions: list[dict[str, Any]] | None = None,
    ) -> None:
        self.tz = tz
        self.user, self.password, self.token = user, password, token
        self.clock = clock
        self.term = term
        today = clock().astimezone(tz).date()
        self.sessions = sessions if sessions is not None else [
            _session(term, campus, today - timedelta(days=TERM_DAYS),
                     today + timedelta(days=TERM_DAYS))]
        self.names: dict[str, dict[int, str]] = {}
        self.events: dict[int, dict[str, Any]] = {}  # eventId -> type, class, teacher, subject
        self.meetings: dict[int, dict[str, Any]] = {}  # meetingId -> event, day, times, room
        self.requests: deque[Recorded] = deque(maxlen=MAX_RECORDED)
        self.auth: deque[str] = deque(maxlen=MAX_RECORDED)  # "basic" or "token", per call
        self.ignored: list[str] = []  # "<endpoint>: <parameter>" UniTime would not read
        self.faults: list[Fault] = []
        self.lock = threading.RLock()

    # --- staging (our categories: classes, teachers, rooms, subjects) -----------------------
    def add_names(self, category: str, names: dict[int, str]) -> None:
        """Add or rename objects `{id: name}` of one of our categories."""
        with self.lock:
            self.names.setdefault(category, {}).update(names)

    def add_lesson(self, pid: int, day: date, start: time, end: time, cls: int, teacher: int,
                   room: int, subject: int, course: int | None = None, *,
                   event_type: str = "Class") -> None:
        """Add (or replace) a meeting of a class's event, in school-local time."""
        with self.lock:
            event = course if course is not None else pid
            self.events[event] = {"type": event_type, "cls": cls, "teacher": teacher,
                                  "subject": subject}
            self.meetings[pid] = {"event": event, "day": day, "start": start, "end": end,
                                  "room": room, "status": "Approved"}

    def add_extra(self, pid: int, day: date, start: time, end: time, cls: int, teacher: int,
                  room: int, subject: int) -> None:
        """Add an extra lesson: a new Course event with one meeting."""
        self.add_lesson(pid, day, start, end, cls, teacher, room, subject, event_type="Course")

    def substitute(self, pid: int, teacher: int) -> None:
        """Give the meeting's event another instructor (all its meetings change)."""
        with self.lock:
            self.events[self.meetings[pid]["event"]]["teacher"] = teacher

    def change_room(self, pid: int, room: int) -> None:
        """Move one meeting to another room."""
        self.set_meeting(pid, room=room)

    def cancel(self, pid: int) -> None:
        """Cancel one meeting (approvalStatus Cancelled)."""
        self.set_meeting(pid, status="Cancelled")

    def delete(self, pid: int) -> None:
        """Drop a meeting (and its event with its last meeting)."""
        with self.lock:
            meeting = self.meetings.pop(pid, None)
            if meeting and not any(m["event"] == meeting["event"] for m in self.meetings.values()):
                self.events.pop(meeting["event"], None)

    def set_meeting(self, pid: int, **fields: Any) -> None:
        """Change a meeting's `room`, `status` (approvalStatus), `day`, `start` or `end`;
        `wire={field: value}` sets fields of its JSON as sent (`...` leaves one out)."""
        with self.lock:
            self.meetings[pid].update(fields)

    def set_event(self, event_id: int, **wire: Any) -> None:
        """Set fields of an event's JSON as sent (`...` leaves one out), e.g. `meetings=None`."""
        with self.lock:
            self.events[event_id]["wire"] = {**self.events[event_id].get("wire", {}), **wire}

    def settings(self, basic: bool = True) -> dict[str, str]:
        """Return the UNITIME_* settings for this fake (Basic auth, or the token)."""
        auth = {"UNITIME_USER": self.user, "UNITIME_PASSWORD": self.password} if basic \
            else {"UNITIME_TOKEN": self.token}
        return {"UNITIME_URL": self.url, **auth}

    # --- HTTP -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Return the base URL (ending in /UniTime, as `SIGNAGE_UNITIME_URL` takes it)."""
        return self._origin() + BASE

    def start(self, port: int = 0) -> FakeUnitime:
        """Serve on 127.0.0.1 (a free port unless given) in a daemon thread."""
        self._serve(Handler, "fake-unitime", port)
        return self

    def answer(self, method: str, path: str, query: dict, headers: dict, form: dict) -> tuple:
        """Return (status, headers, JSON-able body, endpoint) for one request."""
        token = query.pop("token", [""])[-1]  # before the request is recorded
        endpoint = path.removeprefix(API + "/") if path.startswith(API + "/") else ""
        if method != "GET" or endpoint not in ENDPOINTS:
            return 404, {}, {"message": f"no endpoint {method} {path}"}, "other"
        if basic_credentials(headers.get("authorization", "")) == (self.user, self.password):
            self.auth.append("basic")
        elif token and secrets.compare_digest(token.encode(), self.token.encode()):
            self.auth.append("token")
        else:
            return 401, {}, {"message": "Authentication required"}, endpoint
        if endpoint == "roles":
            return 200, {}, self.sessions, endpoint
        self.ignored += [f"{endpoint}: {name}" for name in query if name not in READ[endpoint]
                         and not (endpoint == "rooms" and name.startswith("r:"))]
        if query.get("term", [""])[-1] != self.term:
            return 400, {}, {"message": "Academic session not found"}, endpoint
        if endpoint == "rooms":
            return 200, {}, [_room(i, n) for i, n in sorted(self.names.get("rooms", {}).items())], \
                endpoint
        if query.get("type", [""])[-1].upper() != "ROOM":
            return 400, {}, {"message": "Resource type not provided or not served"}, endpoint
        if not all(i.isdecimal() for i in query.get("e:room", [])):
            return 400, {}, {"message": "For input string: e:room"}, endpoint
        return 200, {}, self._events(query), endpoint

    # --- answers ----------------------------------------------------------------------------
    def _events(self, query: dict) -> list[dict[str, Any]]:
        rooms = self.names.get("rooms", {})
        wanted = {int(i) for i in query.get("e:room", [])} or None
        text = query.get("r:text", [""])[-1].casefold()
        first, last = (self._chip_date(query.get(k, [""])[-1]) for k in ("e:from", "e:to"))
        for chip, bound in (("e:from", first), ("e:to", last)):
            if chip in query and bound is None:
                self.ignored.append(f"events: {chip}={query[chip][-1]} (unreadable date)")
        cancelled = query.get("e:mode", [""])[-1].casefold() == "cancelled"
        by_event: dict[int, list[dict[str, Any]]] = {}
        for pid, m in sorted(self.meetings.items(), key=lambda i: (i[1]["day"], i[1]["start"])):
            if ((m["status"] in NOT_SHOWN) != cancelled or (wanted and m["room"] not in wanted)
                    or (text and text not in rooms.get(m["room"], "").casefold())
                    or (first and m["day"] < first) or (last and m["day"] > last)):
                continue
            by_event.setdefault(m["event"], []).append(self._meeting(pid, m))
        return [self._event(event_id, found) for event_id, found in sorted(by_event.items())]

    def _event(self, event_id: int, meetings: list[dict[str, Any]]) -> dict[str, Any]:
        event = self.events[event_id]
        subject, teacher = self._name("subjects", event["subject"]), \
            self._name("teachers", event["teacher"])
        return _wire({
            "eventId": event_id, "eventName": self._name("classes", event["cls"]),
            "eventType": event["type"],
            "meetings": meetings,
            "contact": {"firstName": "Abraham", "lastName": "Root", "formattedName": "Root, A"},
            "courseNames": [subject], "courseTitles": [subject],
            "instruction": "Lecture", "instructionType": 10,
            "instructors": [{"lastName": teacher, "formattedName": teacher}],
            "sectionNumber": "1", "canView": True, "canEdit": False, "sequence": 0,
        }, event.get("wire", {}))

    def _meeting(self, pid: int, m: dict[str, Any]) -> dict[str, Any]:
        begin, end = (datetime.combine(m["day"], m[k], tzinfo=self.tz) for k in ("start", "end"))
        start_min, end_min = (t.hour * 60 + t.minute for t in (m["start"], m["end"]))
        end_slot = -(-end_min // 5)
        return _wire({
            "location": {"resourceType": "ROOM", "resourceId": m["room"],
                         "resourceName": self._name("rooms", m["room"]),
                         "size": 30, "roomType": "Classrooms", "breakTime": 0,
                         "ignoreRoomCheck": False},
            "meetingId": pid,
            "meetingDate": f"{m['day'].isoformat()}T00:00:00Z",
            "startSlot": start_min // 5, "endSlot": end_slot,
            "startOffset": start_min % 5, "endOffset": end_min - 5 * end_slot,
            "dayOfWeek": m["day"].weekday(), "dayOfYear": m["day"].timetuple().tm_yday,
            "past": False, "canEdit": False, "canDelete": False, "canCancel": False,
            "canApprove": False, "canInquire": False,
            "approvalDate": f"{m['day'].isoformat()}T00:00:00Z",
            "approvalStatus": m["status"],
            "startTime": int(begin.timestamp() * 1000), "stopTime": int(end.timestamp() * 1000),
        }, m.get("wire", {}))

    def _name(self, category: str, ref_id: int) -> str:
        return self.names.get(category, {}).get(ref_id, f"#{ref_id}")

    def _chip_date(self, value: str) -> date | None:
        """Read a date chip as UniTime does: a day of the term's year or MM/dd/yyyy."""
        if value.isdecimal():
            year = date.fromisoformat(self.sessions[0]["beginDate"]).year
            return date(year, 1, 1) + timedelta(days=int(value) - 1)
        try:
            return datetime.strptime(value, "%m/%d/%Y").date()
        except ValueError:
            return None  # unreadable: no bound


def _wire(sent: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Return JSON as sent with fields a test set (`...`: left out)."""
    return {k: v for k, v in {**sent, **changes}.items() if v is not ...}


def _session(reference: str, campus: str, begin: date, end: date) -> dict[str, Any]:
    """Return an academic session as api/roles lists it."""
    return {
        "sessionId": 1, "reference": reference, "selected": False, "year": str(begin.year),
        "term": reference[:3], "campus": campus, "beginDate": begin.isoformat(),
        "endDate": end.isoformat(), "classEndDate": end.isoformat(),
        "examBeginDate": end.isoformat(),
        "eventBeginDate": (begin - timedelta(days=30)).isoformat(),
        "eventEndDate": (end + timedelta(days=30)).isoformat(),
        "status": {"reference": "published", "label": "Published", "classes": True,
                   "exams": ["final"]},
        "roles": [],
    }


def _room(room_id: int, name: str) -> dict[str, Any]:
    """Return a room as api/rooms lists it: "EDUC 101" is room 101 of building EDUC."""
    building, _, number = name.rpartition(" ")
    return {
        "uniqueId": room_id, "name": number, "abbv": "",
        "building": {"id": 1, "abbreviation": building, "name": building} if building else None,
        "roomType": {"id": 1, "label": "Classrooms", "room": True, "order": 0},
        "capacity": 30, "sessionName": "Fal 2026 (demo)",
    }
