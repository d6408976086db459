"""A fake MyTimetable (Eveoh) API v0 on a loopback port, for tests and demos.

It speaks what the reference documents, under `{url}/api/v0/`: every call needs the `apiToken`
header (401 otherwise); `/timetabletypes`; `/timetables?type=` listing `{"timetable":
[{"description", "value"}]}` for the types `location` (rooms), `studentset` (classes), `staff`
(teachers) and `module` (subjects); `/timetables/{key}?startDate=&endDate=` answering the events
that start in [startDate, endDate) (dates as `today`/`tomorrow`, ISO 8601 or Unix ms; a date
without a time is midnight school-local; `endDate` "till that day at 0:00"), sorted by start and
end; `/messages` (every message, drafts and expired ones too: clients filter), or 403/404 when
`messages_status` says the endpoint is not offered. Times go out as Unix milliseconds; the
`Date` header tells the fake clock. A request that does not accept `application/json` gets 406
(the real API would answer XML). Events carry fields the client does not know (the vendor
adds fields without a version bump).

Staging mirrors `FakeAffectIt` (our categories classes/teachers/rooms/subjects, ids only the
fake's own): a lesson is an event whose `moduleCode` is its subject's name and whose
`activityDescription` is the subject (and course); it appears in the timetable of its room, its
class, its teacher and its subject. Cancelling an event removes it, as MyTimetable does.
Requests are recorded (never the token) with the endpoints `timetabletypes`, `timetables` (the
listing), `events` (one timetable's events) and `messages`; faults
(`signage.demo.served.Fault`) name the same endpoints.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from signage.demo.served import MAX_RECORDED, Fault, Handler, Recorded, Served

# As the reference spells them (never the client's constants: a wrong guess there must show).
API_PATH = "/api/v0"
TOKEN_HEADER = "apiToken"  # noqa: S105 - a header name, not a secret
ENDPOINTS = {"timetabletypes", "timetables", "events", "messages"}
# The documented parameters per endpoint (`*Filter` too); others are ignored and recorded.
PARAMS = {"timetabletypes": set(), "timetables": {"type", "limit", "offset", "q", "d"},
          "events": {"fetchBy", "type", "startDate", "endDate", "limit", "d"},
          "messages": {"limit", "offset", "q"}}
LEGACY_FORMATS = ("%Y/%m/%d %H:%M", "%Y/%m/%d")  # the reference's "legacy format"
DATABASE = "2026"
# Timetable types the fake serves -> our category, and how an event names its members of it.
TYPES = {"location": "rooms", "studentset": "classes", "staff": "teachers", "module": "subjects"}


class FakeMyTimetable(Served):
    """Holds one institution's events and messages and serves them like MyTimetable API v0."""

    endpoints = ENDPOINTS

    def __init__(
        self,
        tz: ZoneInfo,
        token: str = "mytimetable-demo-token",  # noqa: S107 - the fake server's own token
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        messages_status: int = 200,
    ) -> None:
        self.tz = tz
        self.token = token
        self.clock = clock
        self.messages_status = messages_status  # 403 or 404: /messages is not offered
        self.names: dict[str, dict[int, str]] = {category: {} for category in TYPES.values()}
        self.events: dict[int, dict[str, Any]] = {}  # the fake's key -> event JSON
        self.messages: dict[int, dict[str, Any]] = {}
        self.reverse_order = False  # answer events (and their lists) back to front
        self.ignored: list[str] = []  # "<endpoint>: <parameter>" the API does not document
        self.requests: deque[Recorded] = deque(maxlen=MAX_RECORDED)
        self.faults: list[Fault] = []
        self.lock = threading.RLock()

    # --- data (our category names: classes, teachers, rooms, subjects) ----------------------
    def add_names(self, category: str, names: dict[int, str]) -> None:
        """Add or rename entries `{id: name}` of one of our categories (each is a timetable)."""
        with self.lock:
            self.names[category].update(names)

    def add_lesson(self, pid: int, day: date, start: time, end: time, cls: int, teacher: int,
                   room: int, subject: int, course: int | None = None) -> None:
        """Add (or replace) an event, given in school-local time; `pid` is the fake's key.
        The ids name entries of `add_names`, which come first."""
        module = self.names["subjects"][subject]
        room_name = self.names["rooms"][room]
        with self.lock:
            self.events[pid] = {
                "activityDescription": module if course is None else f"{module} {course}",
                "activityTypeName": "Hoorcollege",
                "activityTypeDescription": "Lecture",
                "activityTypeColor": "#0000ff",
                "allDay": False,
                "customAttributes": {"building": "Main"},
                "department": {"id": f"{DATABASE}!D1", "name": "Faculty of Science"},
                "eventType": {"id": "lecture", "description": "Lecture", "color": "#0000ff",
                              "eventTypeGroup": {"id": "Group Session",
                                                 "description": "Group Session"}},
                "startDate": self._millis(day, start),
                "endDate": self._millis(day, end),
                "moduleCode": module,
                "studentSets": [self.names["classes"][cls]],
                "staffMembers": [self.names["teachers"][teacher]],
                "locations": [self._location(room_name)],
                "notes": "",
                "notes2": "",
                "highlighted": False,
                "tags": [],
                "students": [],
                "futureField": {"nested": [1, {"deep": True}], "since": "v9"},
            }

    def add_extra(self, pid: int, day: date, start: time, end: time, cls: int, teacher: int,
                  room: int, subject: int) -> None:
        """Add an extra event: upstream it is just one more event."""
        self.add_lesson(pid, day, start, end, cls, teacher, room, subject)

    def substitute(self, pid: int, teacher: int) -> None:
        """Give an event another staff member."""
        self.update(pid, staffMembers=[self.names["teachers"][teacher]])

    def change_room(self, pid: int, room: int) -> None:
        """Move an event to another location (it leaves the old room's timetable)."""
        self.update(pid, locations=[self._location(self.names["rooms"][room])])

    def mark_cancelled(self, pid: int, note: str = "Vervalt wegens ziekte") -> None:
        """Keep an event but say in its notes that it is cancelled (as some institutions do)."""
        self.update(pid, notes=note)

    def add_tag(self, pid: int, key: str, name: str = "") -> None:
        """Tag an event (`{"key", "name"}`)."""
        with self.lock:
            self.update(pid, tags=[*self.events[pid]["tags"], {"key": key, "name": name or key}])

    def update(self, pid: int, **fields: Any) -> None:
        """Change fields of an event's JSON (`...` leaves a field out)."""
        with self.lock:
            event = dict(self.events[pid], **fields)
            self.events[pid] = {k: v for k, v in event.items() if v is not ...}

    def cancel(self, pid: int) -> None:
        """Cancel an event: MyTimetable simply no longer lists it."""
        self.delete(pid)

    def delete(self, pid: int) -> None:
        """Remove an event."""
        with self.lock:
            self.events.pop(pid, None)

    def add_message(self, title: str, body: str = "", *, important: bool = False,
                    published: datetime | None = None, expires: datetime | None = None,
                    draft: bool = False, roles: tuple[str, ...] = ()) -> int:
        """Add a message (published now unless given or a draft); return its id."""
        with self.lock:
            message_id = len(self.messages) + 1
            when = None if draft else published or self.clock()
            self.messages[message_id] = {
                "id": message_id, "title": title, "body": body, "important": important,
                "publicationDate": _ms(when), "expirationDate": _ms(expires),
                "targetRoles": list(roles), "bodyHtml": f"<p>{body}</p>"}
            return message_id

    def ranges(self) -> list[tuple[str, str]]:
        """Return the (startDate, endDate) each `events` request asked for, in order."""
        return [(r.params.get("startDate", [""])[0], r.params.get("endDate", [""])[0])
                for r in self.requests if r.endpoint == "events"]

    def key(self, kind: str, name: str) -> str:
        """Return the timetable key of a name of a type (like `2026!location!9F3…`)."""
        digest = hashlib.blake2b(f"{kind}:{name}".encode(), digest_size=16).hexdigest()
        return f"{DATABASE}!{kind}!{digest.upper()}"

    # --- HTTP -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Return the `$base_url` (endpoints live under /api/v0), as the setting takes it."""
        return self._origin()

    def start(self, port: int = 0) -> FakeMyTimetable:
        """Serve on 127.0.0.1 (a free port unless given) in a daemon thread."""
        self._serve(_MyTimetableHandler, "fake-mytimetable", port)
        return self

    def answer(self, method: str, path: str, query: dict, headers: dict, form: dict) -> tuple:
        """Return (status, headers, JSON-able body, endpoint) for one request."""
        parts = path.removeprefix(API_PATH + "/").split("/") if path.startswith(API_PATH) else []
        endpoint = {("timetabletypes",): "timetabletypes", ("timetables",): "timetables",
                    ("messages",): "messages"}.get(tuple(parts), "other")
        if len(parts) == 2 and parts[0] == "timetables":
            endpoint = "events"
        if method != "GET" or endpoint == "other":
            return 404, {}, {"error": "not found"}, endpoint
        token = headers.get(TOKEN_HEADER.lower(), "")
        if not secrets.compare_digest(token.encode(), self.token.encode()):
            return 401, {}, {"error": "invalid or missing apiToken"}, endpoint
        if "application/json" not in headers.get("accept", ""):  # it would answer XML
            return 406, {}, {"error": "send Accept: application/json"}, endpoint
        self.ignored += [f"{endpoint}: {p}" for p in query
                         if p not in PARAMS[endpoint] and not p.endswith("Filter")]
        if endpoint == "timetabletypes":
            return 200, {}, {"timetableType": list(TYPES)}, endpoint
        if endpoint == "timetables":
            kind = query.get("type", [""])[0]
            if kind not in TYPES:
                return 400, {}, {"error": f"unknown timetable type {kind!r}"}, endpoint
            listed = [{"description": name, "value": self.key(kind, name)}
                      for name in sorted(set(self.names[TYPES[kind]].values()))]
            return 200, {}, {"timetable": listed}, endpoint
        if endpoint == "messages":
            if self.messages_status != 200:
                return self.messages_status, {}, {"error": "not available"}, endpoint
            return 200, {}, {"messages": list(self.messages.values())}, endpoint
        return (*self._events(unquote(parts[1]), query), endpoint)

    # --- internals --------------------------------------------------------------------------
    def _events(self, key: str, query: dict) -> tuple[int, dict, Any]:
        members = {self.key(kind, name): (kind, name) for kind, category in TYPES.items()
                   for name in self.names[category].values()}
        if key not in members:
            return 404, {}, {"error": "timetable not found"}
        try:
            first = self._bound(query.get("startDate"))
            last = self._bound(query.get("endDate"))
        except ValueError:
            return 400, {}, {"error": "startDate/endDate: today, tomorrow, ISO 8601 or ms"}
        kind, name = members[key]
        found = [event for _, event in sorted(self.events.items(), key=lambda item: (
            item[1]["startDate"], item[1]["endDate"], item[0]))
            if name in _members(event, kind)
            and (first is None or event["startDate"] >= first)
            and (last is None or event["startDate"] < last)]
        answer = [dict(e, timetableKeys=[key]) for e in found]
        if self.reverse_order:
            answer = [{k: v[::-1] if isinstance(v, list) else v for k, v in e.items()}
                      for e in reversed(answer)]
        return 200, {}, answer

    def _bound(self, values: list[str] | None) -> int | None:
        """Return a date parameter as Unix ms (None: no bound)."""
        if not values or not values[0]:
            return None
        value = values[0]
        today = self.clock().astimezone(self.tz).date()
        named = {"today": today, "tomorrow": today + timedelta(days=1)}
        if value in named:
            return self._millis(named[value], time())
        if value.isdigit():
            return int(value)
        for legacy in LEGACY_FORMATS:
            try:
                return _ms(datetime.strptime(value, legacy).replace(tzinfo=self.tz))
            except ValueError:
                continue
        if len(value) == 10:
            return self._millis(date.fromisoformat(value), time())
        moment = datetime.fromisoformat(value)
        return _ms(moment if moment.tzinfo else moment.replace(tzinfo=self.tz))

    def _location(self, name: str) -> dict[str, Any]:
        return {"id": self.key("location", name)[-32:], "key": name.upper().replace(" ", ""),
                "name": name, "capacity": 120, "examCapacity": None, "url": None,
                "avoidConcurrencyLocationIds": [], "customAttributes": {}}

    def _millis(self, day: date, at: time) -> int:
        return int(datetime.combine(day, at, tzinfo=self.tz).timestamp() * 1000)


class _MyTimetableHandler(Handler):
    """The fake v3 server's handler, with the fake's clock in the `Date` header."""

    fake: FakeMyTimetable  # type: ignore[assignment]

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Return the fake clock as an HTTP date (what `Date` tells clients)."""
        return format_datetime(self.fake.clock().astimezone(UTC), usegmt=True)


def _members(event: dict[str, Any], kind: str) -> list[str]:
    if kind == "location":
        return [location.get("name") for location in event.get("locations") or ()]
    if kind == "module":
        return [event.get("moduleCode")]
    return list(event.get({"studentset": "studentSets", "staff": "staffMembers"}[kind]) or ())


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)
