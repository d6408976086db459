"""A fake Affect IT WebUntis API (3.4.4) on a loopback port, for tests and demos.

It serves the REST layout `signage.sources.affectit` assumes, under `{url}` = `http://…/api`:
`HEAD /schools` and `HEAD /{category}` answer `Last-Modified`; `GET /{category}` the sync list;
`GET /{category}?untis_ids=1,2` the objects, each with its timestamp in `last_update`; `/schools`
lists the one school the key selects, like a category. `sync_form` chooses how sync list
entries look (the reference leaves it open): `last_update` `{"untis_id", "last_update"}`
(default), `timestamp` `{"untis_id", "timestamp"}`, `id` `{"id", "last_update"}` or `pairs`
`[id, timestamp]`.

As strict as the reference, no stricter: every call needs the `X-API-KEY` header (401
otherwise); ids that are no integers are a 400 ("errors in the request are communicated in the
HTTP status"); a URL longer than Apache's 8177 bytes is a 414 (the reference's only limit; its
"e.g. 100" ids per request is advice). A query parameter it does not know is ignored, as a web
framework does, and recorded in `ignored` (`"GET teachers: ids"`) so tests can prove a client
sends none. Every mutation stamps the object, its category and the school with a new UTC
second, strictly later than the last one even on a frozen test clock (`Last-Modified` has whole
seconds). Cancelling a lesson deletes it: that is how Affect IT shows a cancellation.

Times are given school-local (date and time, as a planner thinks) and stored in UTC, as the API
sends them. Requests are recorded (never the key) with endpoint `"<METHOD> <name>"`, the name
being `school` or a category; `count` takes either form. Faults (`signage.demo.served.Fault`)
name an endpoint the same way: `"lessons"` hits any request to it, `"GET lessons"` spares HEADs.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from signage.demo.served import MAX_RECORDED, Fault, Handler, Recorded, Served

# The API's names as the reference (and public clients) spell them: taken from there, never from
# the client's constants, so that a wrong guess in the client cannot pass through the fake.
API = "/api"
API_KEY_HEADER = "X-API-KEY"
IDS_PARAM = "untis_ids"
ID_FIELD, STAMP_FIELD, COURSE_FIELD = "untis_id", "last_update", "course"
LESSONS = "lessons"
# Affect IT's categories and the name table each is (lessons are periods).
CATEGORIES: dict[str, str | None] = {"teachers": "teachers", "locations": "rooms",
                                     "groups": "classes", "subjects": "subjects",
                                     "departments": "departments", LESSONS: None}
SCHOOL = "school"
ENDPOINTS = {SCHOOL, *CATEGORIES}
METHODS = ("GET", "HEAD")
SYNC_FORMS = ("last_update", "timestamp", "id", "pairs")
KNOWN_PARAMS = {IDS_PARAM}  # the list URLs' parameters the fake serves
MAX_URL_BYTES = 8177  # Apache's limit, the one the reference names
# Our category names (as `Snapshot.names` has them) -> Affect IT's.
UPSTREAM = {table: category for category, table in CATEGORIES.items() if table is not None}
LESSON_FIELD = {"classes": "groups", "teachers": "teachers", "rooms": "locations",
                "subjects": "subjects"}  # a lesson's lists of untis ids


class FakeAffectIt(Served):
    """Holds a school's categories with timestamps and serves them like Affect IT's API."""

    def __init__(
        self,
        tz: ZoneInfo,
        api_key: str = "affectit-demo-key",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        school: str = "Demo-Skolen",
        sync_form: str = SYNC_FORMS[0],
    ) -> None:
        if sync_form not in SYNC_FORMS:
            raise ValueError(f"sync_form must be one of {', '.join(SYNC_FORMS)}")
        self.sync_form = sync_form
        self.tz = tz
        self.api_key = api_key
        self.clock = clock
        self.school = school
        self.objects: dict[str, dict[int, dict[str, Any]]] = {c: {} for c in CATEGORIES}
        self.stamps: dict[str, dict[int, datetime]] = {c: {} for c in CATEGORIES}
        self.school_stamp = clock().astimezone(UTC).replace(microsecond=0)
        self.category_stamps = dict.fromkeys(CATEGORIES, self.school_stamp)
        self.requests: deque[Recorded] = deque(maxlen=MAX_RECORDED)
        self.ignored: list[str] = []  # "<METHOD> <name>: <parameter>" the fake did not know
        self.faults: list[Fault] = []
        self.lock = threading.RLock()

    # --- data (our category names: classes, teachers, rooms, subjects, departments) --------
    def add_names(self, category: str, names: dict[int, str]) -> None:
        """Add or rename objects `{id: short name}` of one of our categories."""
        upstream = UPSTREAM[category]
        for ref_id, name in names.items():
            self._put(upstream, {ID_FIELD: ref_id, "name": name, "longname": name})

    def add_lesson(self, pid: int, day: date, start: time, end: time, cls: int, teacher: int,
                   room: int, subject: int, course: int | None = None) -> None:
        """Add (or replace) a lesson, given in school-local time."""
        refs = {"classes": cls, "teachers": teacher, "rooms": room, "subjects": subject}
        self._put(LESSONS, {
            ID_FIELD: pid, "start": self._utc(day, start), "end": self._utc(day, end),
            COURSE_FIELD: course, **{LESSON_FIELD[ours]: [i] for ours, i in refs.items()},
        })

    def put_lesson(self, lesson: dict[str, Any]) -> None:
        """Add or replace a lesson given in the wire shape (`untis_id`, `start`, …)."""
        self._put(LESSONS, dict(lesson))

    def add_extra(self, pid: int, day: date, start: time, end: time, cls: int, teacher: int,
                  room: int, subject: int) -> None:
        """Add an extra lesson: upstream it is just one more lesson."""
        self.add_lesson(pid, day, start, end, cls, teacher, room, subject)

    def substitute(self, pid: int, teacher: int) -> None:
        """Give a lesson another teacher."""
        self._change(pid, teachers=[teacher])

    def change_room(self, pid: int, room: int) -> None:
        """Move a lesson to another room."""
        self._change(pid, rooms=[room])

    def cancel(self, pid: int) -> None:
        """Cancel a lesson: Affect IT's copy simply loses it."""
        self.delete(pid)

    def delete(self, pid: int) -> None:
        """Delete a lesson; its category and the school get a new timestamp."""
        with self.lock:
            if self.objects[LESSONS].pop(pid, None) is not None:
                self.stamps[LESSONS].pop(pid, None)
                self._stamp(LESSONS)

    def _knows(self, endpoint: str) -> bool:
        # A fault names a resource (`"lessons"`) or a method and resource (`"GET lessons"`).
        method, _, name = endpoint.rpartition(" ")
        return name in ENDPOINTS and method in ("", *METHODS)

    def _hits(self, fault: Fault, endpoint: str) -> bool:
        return fault.endpoint in (endpoint, endpoint.partition(" ")[2])

    def count(self, endpoint: str) -> int:
        """Return how many requests an endpoint received (`"lessons"` or `"GET lessons"`)."""
        return sum(1 for r in self.requests
                   if endpoint in (r.endpoint, r.endpoint.partition(" ")[2]))

    # --- HTTP -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Return the API's base URL (ending in /api, as `SIGNAGE_AFFECTIT_URL` takes it)."""
        return self._origin() + API

    def start(self, port: int = 0) -> FakeAffectIt:
        """Serve on 127.0.0.1 (a free port unless given) in a daemon thread."""
        self._serve(_AffectItHandler, "fake-affectit", port)
        return self

    def answer(self, method: str, path: str, query: dict, headers: dict, form: dict) -> tuple:
        """Return (status, headers, JSON-able body, endpoint) for one request."""
        resource = path.removeprefix(API + "/").strip("/") if path.startswith(API + "/") else ""
        name = SCHOOL if resource == "schools" else resource
        if name not in ENDPOINTS or method not in METHODS:
            return 404, {}, {"detail": "Not found."}, f"{method} other"
        endpoint = f"{method} {name}"
        if len(path) + 1 + len(urlencode(query, doseq=True)) > MAX_URL_BYTES:  # as sent
            return 414, {}, b"<h1>Request-URI Too Long</h1>", endpoint
        key = headers.get(API_KEY_HEADER.lower(), "")
        if not secrets.compare_digest(key.encode(), self.api_key.encode()):
            return 401, {}, {"detail": "Invalid API key."}, endpoint
        self.ignored += [f"{endpoint}: {p}" for p in query if p not in KNOWN_PARAMS]
        stamp = self.school_stamp if name == SCHOOL else self.category_stamps[name]
        extra = {"Last-Modified": format_datetime(stamp, usegmt=True)}
        if method == "HEAD":
            return 200, extra, b"", endpoint
        if name == SCHOOL:  # one school, id 1: the one the key selects
            school = {ID_FIELD: 1, "name": self.school, STAMP_FIELD: _iso(stamp)}
            objects, stamps = {1: school}, {1: stamp}
        else:
            objects, stamps = self.objects[name], self.stamps[name]
        if IDS_PARAM not in query:
            return 200, extra, [self._entry(i, stamps[i]) for i in sorted(objects)], endpoint
        try:
            ids = [int(i) for i in query[IDS_PARAM][0].split(",")]
        except ValueError:
            return 400, {}, {"detail": f"{IDS_PARAM} must be integers"}, endpoint
        found = [dict(objects[i], **{STAMP_FIELD: _iso(stamps[i])}) for i in ids if i in objects]
        return 200, extra, found, endpoint

    def _entry(self, ref_id: int, stamp: datetime) -> Any:
        """Return a sync list entry in the form the fake was told to answer."""
        if self.sync_form == "pairs":
            return [ref_id, _iso(stamp)]
        key = "id" if self.sync_form == "id" else ID_FIELD
        return {key: ref_id, ("timestamp" if self.sync_form == "timestamp" else STAMP_FIELD):
                _iso(stamp)}

    # --- internals --------------------------------------------------------------------------
    def _put(self, category: str, item: dict[str, Any]) -> None:
        with self.lock:
            self.objects[category][item[ID_FIELD]] = item
            self.stamps[category][item[ID_FIELD]] = self._stamp(category)

    def _change(self, pid: int, **refs: list[int]) -> None:
        with self.lock:
            lesson = dict(self.objects[LESSONS][pid])
            lesson.update({LESSON_FIELD[ours]: ids for ours, ids in refs.items()})
            self._put(LESSONS, lesson)

    def _stamp(self, category: str) -> datetime:
        """Return a new timestamp for a mutation of `category`, set on it and the school."""
        now = self.clock().astimezone(UTC).replace(microsecond=0)
        stamp = max(now, self.school_stamp + timedelta(seconds=1))
        self.category_stamps[category] = self.school_stamp = stamp
        return stamp

    def _utc(self, day: date, at: time) -> str:
        return _iso(datetime.combine(day, at, tzinfo=self.tz))


class _AffectItHandler(Handler):
    """The fake v3 server's handler, plus HEAD (headers only)."""

    fake: FakeAffectIt  # type: ignore[assignment]

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("HEAD")

    def _send(self, status: int, extra: dict, body: Any, truncate: bool) -> None:
        if self.command != "HEAD":
            super()._send(status, extra, body, truncate)
            return
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _iso(instant: datetime) -> str:
    """Return an instant as the API writes it: UTC with a Z."""
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
