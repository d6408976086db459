"""A fake public WebUntis substitution monitor ("Monitoransicht") on a loopback port, for tests.

It speaks what /work/shared/reference/webuntis-monitor.md records, as strictly as that and no
more: `POST /WebUntis/monitor/substitution/data`, `…/substitution/format` and `…/ticker/data`,
each `?school=S` (percent-decoded) with a JSON body naming the school again in `schoolName`
(anything else 404, GET 405, a body that is not `application/json` 415, an undecodable body
-32700, one that is no object -32600). Answers are `{"payload": …}`, failures HTTP 200 with
`{"error": {"code", "message", "data": null}}`: -8500 "invalid schoolname" when the query or the
body names another school. The data body needs `date` (YYYYMMDD as a number or its 8 digits as
text, a real day) and takes `dateOffset` (default 0); the format's flags, updated by the body's,
lay out the list. Only changes are listed; columns hour, time, classes, subject, room, teacher,
info, text, each when its flag is on; cells are HTML (`<span class="substMonitorSubstElem">NEW
</span> (OLD)`, the old teacher struck with `strikethroughAbsentTeacher`); info words Vertretung,
Entfall, Raum&auml;nderung, Zusatzunterricht, "Verlegung nach 24.11. / 08:00" / "Verlegung von …";
a cancelled or moved-away slot has `cellClasses` {index: ["cancelStyle"]} on its class, subject,
room and teacher columns; `cssClasses` ["", "wu-fg-<type>"]; `group` the class (groupBy 1, a
lesson of several classes once per class) or the new teacher (groupBy 2), rows sorted by group
and hour; `mergeBlocks` joins adjacent units of one lesson with the same change ("3 - 4",
"09:55-11:30"); `showOnlyFutureSub` drops today's rows that ended; `enableSubstitutionFrom`
shows the next school day from `showSubstitutionFrom` (HHMM) on (`showingNextDate`); `nextDate`
is the next school day (Mon-Fri not in `holidays`), null beyond today + `horizon_days`;
`lastUpdate` is one school-wide value, moved by every change of the plan.

Assumed here (the reference does not know; tests must not lean on these as facts):
- an unknown `formatName` (or none) is error -8701 "format not found: <name>"; a date or offset
  of the wrong shape -32602 "invalid params: <key>"; the ticker checks school and format only;
- a lesson's unit is its start's bell + 1, and it spans the bells that end by its end; a lesson
  is "the same lesson" as another by `lesson`, else by classes, subject and planned teacher;
- an additional lesson's type is `wu-fg-additional`; `showCancel: false` hides Entfall rows;
- free text (set_text) is escaped with named entities, like the info; `group`,
  `affectedElements` and `elementName` carry plain names; a moved lesson's teacher is not absent;
  absences are FROM_TO per run of adjacent units, `startUnit`/`endUnit` of the element null;
- a text alone lists nothing; `add_raw_row` rows are neither filtered, merged nor counted;
- a message of the day or a ticker line is no change of the plan: `lastUpdate` stays;
- `showAbsentTeacher: false` shows a substitute without the teacher replaced (`NEW`, no
  original); `showStudentgroup` adds a column after the classes ("5a_M"; its place is unknown).
Knobs for what is not known: `honour_body_flags` (False: the stored format alone lays out the
list), `offset_counts` ("school" days skipping weekends and holidays, or "calendar" days),
`encode_names` (names' non-ASCII letters as named entities, `M&Uuml;L`), `legacy_nulls`
(`importInProgress` null unless importing, `regularFreeData` [] instead of null), `refusal` of
a non-public format ("error": -8509 "no right for format: <name>"; "http403": a 403 HTML login
page; "login": that page with HTTP 200; "login-form": another login page, a password field
under a title, no Spring action, with HTTP 200; "redirect": a 302 to the school's login),
`cancel_teacher` ("plain" `BEC`, or "dashes" `<span class="cancelStyle">---</span> (BEC)`),
`added_original` ("none", or "dashes": `<span …>BEC</span> (---)`), `send_last_update` (False:
`lastUpdate` null, which the reference does not foresee but a client must survive).
Every request is recorded (`requests`, endpoints data/format/ticker/other) with its decoded body
(`bodies`); `Fault`s per endpoint; an HTML body goes out as text/html.
"""

from __future__ import annotations

import copy
import html
import json
import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from html.entities import codepoint2name
from typing import Any
from zoneinfo import ZoneInfo

from signage.demo.served import MAX_RECORDED, Fault, Handler, Recorded, Served

MONITOR = "/WebUntis/monitor"
PATHS = {f"{MONITOR}/substitution/data": "data", f"{MONITOR}/substitution/format": "format",
         f"{MONITOR}/ticker/data": "ticker"}
INVALID_SCHOOL, FORMAT_UNKNOWN, NO_RIGHT = -8500, -8701, -8509
PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS = -32700, -32600, -32602
BELLS = ((time(8, 0), time(8, 45)), (time(8, 50), time(9, 35)), (time(9, 55), time(10, 40)),
         (time(10, 45), time(11, 30)), (time(11, 50), time(12, 35)), (time(12, 40), time(13, 25)),
         (time(13, 30), time(14, 15)), (time(14, 20), time(15, 5)))
WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
COLUMNS = (("hour", "showHour"), ("time", "showTime"), ("classes", "showClass"),
           ("studentgroup", "showStudentgroup"), ("subject", "showSubject"),
           ("room", "showRoom"), ("teacher", "showTeacher"),
           ("info", "showInfo"), ("text", "showSubstText"))
STRUCK = ("classes", "subject", "room", "teacher")  # a cancelled slot's cancelStyle columns
CATEGORIES = ("classes", "teachers", "rooms", "subjects")
FORMAT_DEFAULTS: dict[str, Any] = {  # every key the reference lists, in its order
    "customTitle": "", "dateOffset": 0, "departmentIds": [], "departmentElementType": -1,
    "fontSize": 16, "groupBy": 1, "height": 0, "hideCancelWithSubstitution": True,
    "mergeBlocks": True, "numberOfDays": 1, "pollingInterval": 30, "scrollType": "PAGE",
    "scrollingInterval": 20, "scrollSpeed": 2, "showAbsentElements": [1, 2],
    "showAffectedElements": [1], "showBreakSupervisions": False, "showClass": True,
    "showHour": True, "showInfo": True, "showMessages": True, "showOnlyFutureSub": True,
    "showRoom": True, "showSubject": True, "showSubstText": True, "showTeacher": True,
    "showTicker": True, "showTime": True, "strikethrough": True, "tickerFontSize": 16,
    "hideAbsent": False, "rowHeaderEvenBackColor": "#eeeeee", "rowHeaderOddBackColor": "#ffffff",
    "headerTitleForeColor": "#ffffff", "headerTitleBackColor": "#1f4e79",
    "oddGroupBackColor": "#ffffff", "evenGroupBackColor": "#e8eef5", "teacherLabelid": 0,
    "enableSubstitutionFrom": False, "showSubstitutionFrom": 1700, "showUnitTime": False,
    "showStudentgroup": False, "showTeacherOnEvent": False, "activityTypeIds": [],
    "showEvent": True, "showCancel": True, "showOnlyCancel": False, "showWithoutElem": False,
    "showSubstTypeColor": False, "mergeRegularFree": False, "showAbsentTeacher": True,
    "strikethroughAbsentTeacher": True, "showExamSupervision": False,
    "showUnheraldedExams": False,
}
FLAG_KEYS = {*FORMAT_DEFAULTS, "hideCancelCausedByEvent"}  # what a data body may override
REFUSALS = ("error", "http403", "login", "login-form", "redirect")  # a list not public refused
# A login page of our own making (the real one is not known): what a 403 refusal shows.
LOGIN_PAGE = (b'<!DOCTYPE html>\n<html><head><title>WebUntis Login</title></head><body>'
              b'<form method="post" action="/WebUntis/j_spring_security_check">'
              b'<input name="j_username"><input name="j_password" type="password">'
              b'<button type="submit">Login</button></form></body></html>\n')
# Another look (a script-built page): a title and a password field, no Spring action.
LOGIN_FORM_PAGE = (b'<!doctype html><html lang="de"><head><meta charset="utf-8">'
                   b'<title>Anmeldung - WebUntis</title></head><body><div id="app">'
                   b'<input id="user"><input id="pw" type="password"></div></body></html>')


class RefusedError(Exception):
    """An answer other than a payload: (HTTP status, headers, body)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.answer = (status, headers or {}, body)


@dataclass
class _Lesson:
    """A planned (or additional) lesson and its changes."""

    pid: Hashable
    day: date
    start: time
    end: time
    classes: tuple[int, ...]
    teacher: int
    room: int
    subject: int
    key: Hashable  # what makes adjacent units "the same lesson" for mergeBlocks
    extra: bool = False
    new_teacher: int | None = None
    new_room: int | None = None
    cancelled: bool = False
    moved_to: tuple[date, time, time] | None = None
    text: str = ""


@dataclass
class _Entry:
    """One listed change of one slot, before grouping and merging."""

    lesson: _Lesson
    day: date
    start: time
    end: time
    cells: dict[str, str]  # classes, subject, room, teacher, info, text
    css: str
    struck: bool
    classes: list[str]
    teachers: list[str]  # named in the row; the first is the (new) teacher
    units: list[int]  # the bells it spans, 1-based


class FakeMonitor(Served):
    """Holds a school's lessons and changes and serves them like the public WebUntis monitor."""

    endpoints = set(PATHS.values())

    def __init__(self, tz: ZoneInfo, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 school: str = "Scenario School", bells: Sequence[tuple[time, time]] = BELLS, *,
                 honour_body_flags: bool = True, offset_counts: str = "school",
                 encode_names: bool = False, legacy_nulls: bool = False, refusal: str = "error",
                 cancel_teacher: str = "plain", added_original: str = "none",
                 horizon_days: int = 14, send_last_update: bool = True) -> None:
        for knob, value, allowed in (("offset_counts", offset_counts, ("school", "calendar")),
                                     ("refusal", refusal, REFUSALS),
                                     ("cancel_teacher", cancel_teacher, ("plain", "dashes")),
                                     ("added_original", added_original, ("none", "dashes"))):
            if value not in allowed:
                raise ValueError(f"{knob} must be one of {allowed}, not {value!r}")
        self.tz, self.clock, self.school, self.bells = tz, clock, school, list(bells)
        self.honour_body_flags, self.offset_counts = honour_body_flags, offset_counts
        self.encode_names, self.legacy_nulls, self.refusal = encode_names, legacy_nulls, refusal
        self.cancel_teacher, self.added_original = cancel_teacher, added_original
        self.horizon_days, self.send_last_update = horizon_days, send_last_update
        self.holidays: set[date] = set()
        self.formats: dict[str, dict[str, Any]] = {}
        self.public: dict[str, bool] = {}
        self.importing = False
        self.messages: list[dict[str, str]] = []
        self.ticker: list[str] = []
        self.names: dict[str, dict[int, str]] = {category: {} for category in CATEGORIES}
        self.lessons: dict[Hashable, _Lesson] = {}
        self.raw_rows: list[tuple[date, dict[str, Any]]] = []
        self.bodies: list[tuple[str, dict]] = []
        self.requests: deque[Recorded] = deque(maxlen=MAX_RECORDED)
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self.last_update = clock()

    # --- data -------------------------------------------------------------------------------
    def add_format(self, name: str, *, public: bool = True, **flags: Any) -> None:
        """Store a format: realistic defaults updated by `flags` (keys the format has)."""
        unknown = set(flags) - set(FORMAT_DEFAULTS)
        if unknown:
            raise ValueError(f"not keys of a format: {sorted(unknown)}")
        with self.lock:
            self.formats[name] = copy.deepcopy({**FORMAT_DEFAULTS, **flags})
            self.public[name] = public
            self._touch()

    def add_names(self, category: str, names: dict[int, str]) -> None:
        """Add master data `{id: short name}` (classes, teachers, rooms, subjects)."""
        with self.lock:
            self.names[category].update(names)
            self._touch()

    def add_lesson(self, pid: Hashable, day: date, start: time, end: time,
                   cls: int | Sequence[int], teacher: int, room: int, subject: int,
                   lesson: int | None = None) -> None:
        """Plan a lesson (listed only once it changes); its unit is its start's bell + 1."""
        self._put(pid, day, start, end, cls, teacher, room, subject, lesson, extra=False)

    def add_extra(self, pid: Hashable, day: date, start: time, end: time,
                  cls: int | Sequence[int], teacher: int, room: int, subject: int) -> None:
        """Add an additional lesson (info Zusatzunterricht)."""
        self._put(pid, day, start, end, cls, teacher, room, subject, None, extra=True)

    def substitute(self, pid: Hashable, teacher: int) -> None:
        """Give a lesson another teacher (its planned one: no substitution any more)."""
        self._change(pid, new_teacher=teacher)

    def change_room(self, pid: Hashable, room: int) -> None:
        """Move a lesson to another room (its planned one: no room change any more)."""
        self._change(pid, new_room=room)

    def cancel(self, pid: Hashable) -> None:
        """Cancel a lesson (Entfall)."""
        self._change(pid, cancelled=True)

    def move(self, pid: Hashable, day: date, start: time, end: time) -> None:
        """Move a lesson to another slot (an additional lesson simply takes the new slot)."""
        self._units(start, end)
        with self.lock:
            lesson = self.lessons[pid]
            if lesson.extra:
                lesson.day, lesson.start, lesson.end = day, start, end
            else:
                home = (day, start, end) == (lesson.day, lesson.start, lesson.end)
                lesson.moved_to = None if home else (day, start, end)
            self._touch()

    def set_text(self, pid: Hashable, text: str) -> None:
        """Set the substitution text of a lesson (shown while it is listed)."""
        self._change(pid, text=text)

    def withdraw(self, pid: Hashable) -> None:
        """Withdraw every change: the lesson takes place as planned (an additional one not)."""
        with self.lock:
            lesson = self.lessons[pid]
            if lesson.extra:
                del self.lessons[pid]
            else:
                self.lessons[pid] = replace(lesson, new_teacher=None, new_room=None,
                                            cancelled=False, moved_to=None, text="")
            self._touch()

    def add_raw_row(self, day: date, cells: dict[str, str], group: str | None = None,
                    cell_classes: dict | None = None, css_classes: list | None = None) -> None:
        """List a row given as HTML per column name; `cell_classes` keys are column names."""
        with self.lock:
            self.raw_rows.append((day, {"cells": dict(cells), "group": group,
                                        "cellClasses": dict(cell_classes or {}),
                                        "cssClasses": list(css_classes or ["", ""])}))
            self._touch()

    def add_message(self, subject: str, body: str) -> None:
        """Add a message of the day (HTML as given); not a change of the plan, so `lastUpdate`
        stays."""
        with self.lock:
            self.messages.append({"subject": subject, "body": body})

    def is_school_day(self, day: date) -> bool:
        """Return whether the school teaches on a day (Mon-Fri, not a holiday)."""
        return day.weekday() < 5 and day not in self.holidays

    def _put(self, pid: Hashable, day: date, start: time, end: time, cls: int | Sequence[int],
             teacher: int, room: int, subject: int, lesson: int | None, extra: bool) -> None:
        self._units(start, end)  # a start off the bells is a mistake in the test
        classes = (cls,) if isinstance(cls, int) else tuple(cls)
        key = ("lesson", lesson) if lesson is not None else (classes, subject, teacher)
        with self.lock:
            self.lessons[pid] = _Lesson(pid, day, start, end, classes, teacher, room, subject,
                                        key, extra)
            self._touch()

    def _change(self, pid: Hashable, **changes: Any) -> None:
        with self.lock:
            lesson = self.lessons[pid]
            for name, planned in (("new_teacher", lesson.teacher), ("new_room", lesson.room)):
                if changes.get(name) == planned:  # back to the plan: no change any more
                    changes[name] = None
            for name, value in changes.items():
                setattr(lesson, name, value)
            self._touch()

    def _touch(self) -> None:
        self.last_update = self.clock()

    # --- HTTP -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Return the origin (the part before /WebUntis)."""
        return self._origin()

    def start(self, port: int = 0) -> FakeMonitor:
        """Serve on 127.0.0.1 (a free port unless given) in a daemon thread."""
        self._serve(_MonitorHandler, "fake-monitor", port)
        return self

    def answer(self, method: str, path: str, query: dict, headers: dict,
               raw: bytes) -> tuple[int, dict, Any, str]:
        """Return (HTTP status, headers, body, endpoint) for one request."""
        endpoint = PATHS.get(path, "other")
        try:
            body, decoded = json.loads(raw), True
        except ValueError:
            body, decoded = None, False
        self.bodies.append((endpoint, body if isinstance(body, dict) else {}))
        if endpoint == "other":
            return 404, {}, _page(404, "Not Found"), endpoint
        if method != "POST":
            return 405, {"Allow": "POST"}, _page(405, "Method Not Allowed"), endpoint
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return 415, {}, _page(415, "Unsupported Media Type"), endpoint
        try:
            if not decoded:
                raise _error(PARSE_ERROR, "parse error")
            if not isinstance(body, dict):
                raise _error(INVALID_REQUEST, "invalid request: not an object")
            return 200, {}, {"payload": self._dispatch(endpoint, query, body)}, endpoint
        except RefusedError as refusal:
            return (*refusal.answer, endpoint)

    def _dispatch(self, endpoint: str, query: dict, body: dict) -> dict[str, Any]:
        if (query.get("school") or [None])[0] != self.school \
                or body.get("schoolName") != self.school:
            raise _error(INVALID_SCHOOL, "invalid schoolname")
        name = body.get("formatName")
        if not isinstance(name, str) or name not in self.formats:
            raise _error(FORMAT_UNKNOWN, f"format not found: {name}")
        if not self.public[name]:
            if self.refusal in ("http403", "login"):
                raise RefusedError(403 if self.refusal == "http403" else 200, LOGIN_PAGE)
            if self.refusal == "login-form":
                raise RefusedError(200, LOGIN_FORM_PAGE)
            if self.refusal == "redirect":
                login = f"{self._origin()}/WebUntis/?school={self.school}#/basic/login"
                raise RefusedError(302, _page(302, "Found"), {"Location": login})
            raise _error(NO_RIGHT, f"no right for format: {name}")
        stored = self.formats[name]
        if endpoint == "format":
            return copy.deepcopy(stored)
        if endpoint == "ticker":
            return {"tickerData": list(self.ticker)}
        given = {k: v for k, v in body.items() if k in FLAG_KEYS} if self.honour_body_flags else {}
        return self._day_list({**stored, **given}, self._asked_day(body))

    def _asked_day(self, body: dict) -> date:
        value, offset = body.get("date"), body.get("dateOffset", 0)
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
        try:
            if len(text) != 8 or not (text.isascii() and text.isdigit()):
                raise ValueError(text)
            day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            raise _error(INVALID_PARAMS, "invalid params: date") from None
        if not isinstance(offset, int) or isinstance(offset, bool):
            raise _error(INVALID_PARAMS, "invalid params: dateOffset")
        try:
            if self.offset_counts == "calendar":
                return day + timedelta(days=offset)
            step = timedelta(days=1 if offset > 0 else -1)
            for _ in range(abs(offset)):
                day += step
                while not self.is_school_day(day):
                    day += step
            return day
        except OverflowError:
            raise _error(INVALID_PARAMS, "invalid params: dateOffset") from None

    def _next_school_day(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_school_day(day):
            day += timedelta(days=1)
        return day

    # --- the day's list ---------------------------------------------------------------------
    def _day_list(self, flags: dict[str, Any], asked: date) -> dict[str, Any]:
        now = self.clock().astimezone(self.tz)
        shown, showing_next = asked, False
        if flags.get("enableSubstitutionFrom") and asked == now.date() \
                and now.hour * 100 + now.minute >= _int(flags.get("showSubstitutionFrom")):
            shown, showing_next = self._next_school_day(asked), True
        following = self._next_school_day(asked)
        entries = [] if self.importing else self._entries(shown, flags)
        if flags.get("showOnlyFutureSub") and shown == now.date():
            entries = [e for e in entries if datetime.combine(e.day, e.end, self.tz) >= now]
        affected = {"1": sorted({c for e in entries for c in e.classes})}
        if 2 in _types(flags.get("showAffectedElements")):
            affected["2"] = sorted({t for e in entries for t in e.teachers})
        raw = [] if self.importing else [r for d, r in self.raw_rows if d == shown]
        return {
            "date": _yyyymmdd(asked),
            "nextDate": (_yyyymmdd(following) if following <= now.date() + timedelta(
                days=self.horizon_days) else None),
            "showingNextDate": showing_next,
            "weekDay": WEEKDAYS[asked.weekday()],
            "lastUpdate": self.last_update.astimezone(self.tz).strftime("%d.%m.%Y %H:%M:%S")
            if self.send_last_update else None,
            "importInProgress": self.importing or (None if self.legacy_nulls else False),
            "rows": self._rows(entries, raw, flags),
            "absentElements": [] if self.importing else self._absent(shown, flags),
            "affectedElements": affected,
            "messageData": {"messages": [dict(m) for m in self.messages]
                            if flags.get("showMessages") else []},
            "regularFreeData": [] if self.legacy_nulls else None,
        }

    def _entries(self, day: date, flags: dict[str, Any]) -> list[_Entry]:
        entries = []
        for lesson in self.lessons.values():
            if lesson.day == day:
                entries.append(self._entry(lesson, flags))
            if lesson.moved_to is not None and lesson.moved_to[0] == day and not lesson.cancelled:
                entries.append(self._entry(lesson, flags, arriving=True))
        return [e for e in entries if e is not None
                and (flags.get("showCancel") or not e.lesson.cancelled)]

    def _entry(self, lesson: _Lesson, flags: dict[str, Any],
               arriving: bool = False) -> _Entry | None:
        """Return the change listed for a lesson's slot (its new slot when `arriving`), or None."""
        kind = _kind(lesson, arriving)
        if kind is None:
            return None
        teacher = lesson.teacher if lesson.new_teacher is None else lesson.new_teacher
        room = lesson.room if lesson.new_room is None else lesson.new_room
        cells = {"classes": ", ".join(self._name("classes", c) for c in lesson.classes),
                 "studentgroup": "_".join(self._name(category, element) for category, element
                                          in (("classes", lesson.classes[0]),
                                              ("subjects", lesson.subject))),
                 "subject": self._name("subjects", lesson.subject),
                 "room": self._name("rooms", lesson.room),
                 "teacher": self._name("teachers", lesson.teacher),
                 "info": kind[0], "text": _escape(lesson.text, entities=True)}
        struck = lesson.cancelled or (lesson.moved_to is not None and not arriving)
        named = [teacher]
        if struck:
            named = [lesson.teacher]
            if self.cancel_teacher == "dashes":
                cells["teacher"] = f'<span class="cancelStyle">---</span> ({cells["teacher"]})'
        elif lesson.extra or arriving:  # nothing to compare with: every element is new
            cells.update(subject=self._changed("subjects", lesson.subject, None),
                         room=self._changed("rooms", room, None),
                         teacher=self._changed("teachers", teacher, None))
        else:
            if lesson.new_room is not None:
                cells["room"] = self._changed("rooms", room, lesson.room)
            if lesson.new_teacher is not None:
                absent = lesson.teacher if flags.get("showAbsentTeacher") else None
                cells["teacher"] = self._changed("teachers", teacher, absent,
                                                 bool(flags.get("strikethroughAbsentTeacher")))
                named = [teacher, lesson.teacher]
        day, start, end = lesson.moved_to if arriving and lesson.moved_to else (
            lesson.day, lesson.start, lesson.end)
        return _Entry(lesson, day, start, end, cells, kind[1], struck,
                      [self.names["classes"].get(c, "?") for c in lesson.classes],
                      [self.names["teachers"].get(t, "?") for t in named],
                      self._units(start, end))

    def _rows(self, entries: list[_Entry], raw: list[dict], flags: dict) -> list[dict]:
        """Group, sort and (with mergeBlocks) merge the entries; lay out every row."""
        shown = [name for name, flag in COLUMNS if flags.get(flag)]
        grouped = sorted(((group, e) for e in entries for group in _groups(e, flags)),
                         key=lambda p: (p[0] or "", p[1].units[0], str(p[1].lesson.pid)))
        merged: list[tuple[str | None, _Entry]] = []
        for group, entry in grouped:
            block = next((m for g, m in reversed(merged) if g == group and _continues(m, entry)),
                         None) if flags.get("mergeBlocks") else None
            if block is None:
                merged.append((group, copy.copy(entry)))
            else:
                block.units, block.end = block.units + entry.units, entry.end
        rows = [((g or "", e.units[0]), self._row(shown, g, e)) for g, e in merged]
        rows += [_raw_row(shown, given) for given in raw]
        return [row for _, row in sorted(rows, key=lambda r: r[0])]

    def _row(self, shown: list[str], group: str | None, entry: _Entry) -> dict[str, Any]:
        first, last = entry.units[0], entry.units[-1]
        cells = {**entry.cells, "hour": str(first) if first == last else f"{first} - {last}",
                 "time": f"{entry.start:%H:%M}-{entry.end:%H:%M}"}
        struck = {str(i): ["cancelStyle"] for i, c in enumerate(shown) if c in STRUCK}
        return {"data": [cells[c] for c in shown], "group": group,
                "cellClasses": struck if entry.struck else {}, "cssClasses": ["", entry.css]}

    def _absent(self, day: date, flags: dict[str, Any]) -> list[dict[str, Any]]:
        """Teachers replaced or cancelled that day; classes whose every lesson is cancelled."""
        planned = [lesson for lesson in self.lessons.values()
                   if lesson.day == day and not lesson.extra]
        teachers: dict[int, list[_Lesson]] = {}
        classes: dict[int, list[_Lesson]] = {}
        for lesson in planned:
            if lesson.cancelled or lesson.new_teacher is not None:
                teachers.setdefault(lesson.teacher, []).append(lesson)
            for cls in lesson.classes:
                classes.setdefault(cls, []).append(lesson)
        wanted = _types(flags.get("showAbsentElements"))
        found = [(1, "classes", i, ls) for i, ls in classes.items()
                 if 1 in wanted and all(lesson.cancelled for lesson in ls)]
        found += [(2, "teachers", i, ls) for i, ls in teachers.items() if 2 in wanted]
        absent = [{"elementType": kind, "elementId": i, "elementName": self.names[cat].get(i, "?"),
                   "startUnit": None, "endUnit": None, "absences": self._spans(ls)}
                  for kind, cat, i, ls in found]
        return sorted(absent, key=lambda a: (a["elementType"], a["elementName"]))

    def _spans(self, lessons: list[_Lesson]) -> list[dict[str, Any]]:
        runs: list[list[Any]] = []  # [first unit, last unit, start, end]
        for lesson in sorted(lessons, key=lambda one: one.start):
            units = self._units(lesson.start, lesson.end)
            if runs and runs[-1][1] + 1 >= units[0]:
                runs[-1][1], runs[-1][3] = max(runs[-1][1], units[-1]), max(runs[-1][3], lesson.end)
            else:
                runs.append([units[0], units[-1], lesson.start, lesson.end])
        return [{"type": "FROM_TO", "startTime": _hhmm(start), "endTime": _hhmm(end),
                 "isEvent": False, "startUnit": str(first), "endUnit": str(last)}
                for first, last, start, end in runs]

    def _units(self, start: time, end: time) -> list[int]:
        starts = [s for s, _ in self.bells]
        if start not in starts:
            raise ValueError(f"{start} is no bell's start")
        first = starts.index(start)
        last = max([first] + [i for i, (_, e) in enumerate(self.bells) if i > first and e <= end])
        return list(range(first + 1, last + 2))

    def _name(self, category: str, element: int) -> str:
        return _escape(self.names[category].get(element, "?"), entities=self.encode_names)

    def _changed(self, category: str, new: int, old: int | None, struck: bool = False) -> str:
        cell = f'<span class="substMonitorSubstElem">{self._name(category, new)}</span>'
        if old is None:
            return cell + " (---)" if self.added_original == "dashes" else cell
        before = self._name(category, old)
        return f'{cell} (<span class="cancelStyle">{before}</span>)' if struck \
            else f"{cell} ({before})"


class _MonitorHandler(Handler):
    """Hands the fake the raw JSON body; an HTML body goes out as text/html, an injected error
    without a body as a servlet's error page."""

    fake: FakeMonitor  # type: ignore[assignment]

    def read_body(self, raw: bytes) -> bytes:
        """Return the body as sent: the fake decodes the JSON itself."""
        return raw

    def fault_body(self, status: int) -> bytes:
        """Return the error page a servlet container shows."""
        return _page(status, "Error")

    def bytes_type(self, body: bytes) -> str:
        """Return text/html for a page, JSON otherwise."""
        return "text/html;charset=UTF-8" if body.lstrip()[:1] == b"<" else "application/json"


def _kind(lesson: _Lesson, arriving: bool) -> tuple[str, str] | None:
    """Return a lesson's change as (info, cssClasses type), or None: it takes place as planned."""
    if lesson.cancelled:
        return "Entfall", "wu-fg-cancelled"
    if lesson.moved_to is not None:
        if arriving:
            return f"Verlegung von {_dm(lesson.day)} / {lesson.start:%H:%M}", "wu-fg-shift"
        to_day, to_start, _ = lesson.moved_to
        return f"Verlegung nach {_dm(to_day)} / {to_start:%H:%M}", "wu-fg-shift"
    if lesson.extra:
        return "Zusatzunterricht", "wu-fg-additional"
    if lesson.new_teacher is not None:
        return "Vertretung", "wu-fg-substitution"
    if lesson.new_room is not None:
        return "Raum&auml;nderung", "wu-fg-changedElement"
    return None


def _groups(entry: _Entry, flags: dict[str, Any]) -> list[str | None]:
    """Return the groups an entry is listed under: each class, or its (new) teacher."""
    return {1: list(entry.classes), 2: entry.teachers[:1]}.get(flags.get("groupBy"), [None])


def _continues(block: _Entry, entry: _Entry) -> bool:
    """Return whether an entry is the next unit of a block: same lesson, same change."""
    return (block.lesson.key == entry.lesson.key and block.day == entry.day
            and block.units[-1] + 1 == entry.units[0] and block.cells == entry.cells
            and block.css == entry.css and block.struck == entry.struck)


def _raw_row(shown: list[str], given: dict[str, Any]) -> tuple[tuple[str, int], dict[str, Any]]:
    """Return a raw row's sort key and its layout; cellClasses named by column go to its index."""
    cells, group = given["cells"], given["group"]
    known = {name for name, _ in COLUMNS}
    classes = {str(shown.index(k)) if k in shown else str(k): list(v)
               for k, v in given["cellClasses"].items() if k in shown or k not in known}
    return ((group or "", _int(cells.get("hour", "").split(" ")[0])),
            {"data": [cells.get(c, "") for c in shown], "group": group,
             "cellClasses": classes, "cssClasses": list(given["cssClasses"])})


def _page(status: int, reason: str) -> bytes:
    return (f"<!doctype html><html><head><title>HTTP Status {status} - {reason}</title></head>"
            f"<body><h1>HTTP Status {status} - {reason}</h1></body></html>").encode()


def _error(code: int, message: str) -> RefusedError:
    return RefusedError(200, {"error": {"code": code, "message": message, "data": None}})


def _escape(text: str, entities: bool) -> str:
    escaped = html.escape(text, quote=False)
    if not entities:
        return escaped
    return "".join(c if ord(c) < 128 else f"&{codepoint2name[ord(c)]};"
                   if ord(c) in codepoint2name else f"&#{ord(c)};" for c in escaped)


def _types(value: Any) -> list[Any]:
    """Return a list of element types as sent (anything else: none)."""
    return value if isinstance(value, list) else []


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _hhmm(at: time) -> int:
    return at.hour * 100 + at.minute


def _dm(day: date) -> str:
    return f"{day.day}.{day.month}."


def _yyyymmdd(day: date) -> int:
    return int(day.strftime("%Y%m%d"))
