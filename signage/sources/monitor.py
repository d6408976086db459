"""The public WebUntis substitution monitor (`SIGNAGE_SOURCE=monitor`), for schools without API
access: the list a school publishes for its own hallway screens ("Monitoransicht →
Vertretungen", a *format*, marked "Öffentlich"). Facts and their sources:
`../shared/reference/webuntis-monitor.md` (no official documentation exists).

Auth: none. `SIGNAGE_MONITOR_URL` (the WebUntis server), `SIGNAGE_MONITOR_SCHOOL` (the school's
login name, spaces allowed) and `SIGNAGE_MONITOR_FORMAT` (the list's name).

Protocol [verified]: `POST {url}/WebUntis/monitor/substitution/format?school=S` with
`{schoolName, formatName}` answers the format's settings; `POST …/substitution/data?school=S`
with the format's flags plus `date` (int YYYYMMDD) and `dateOffset` answers one day's list;
`POST …/ticker/data?school=S` the ticker lines. Answers are `{"payload": …}` or
`{"error": {code, message}}` (with HTTP 200 [inferred]).

Requests: we send the format's own flags, changed only where we must [inferred: the reference
cannot tell whether the server lays out columns by the request or by the stored format]:
`showHour`, `showTime` (the boards need times), `showClass`, `showSubject`, `showRoom`,
`showInfo`, `showSubstText` on, `showOnlyFutureSub` off (the boards keep a day's past changes),
`enableSubstitutionFrom` off (our `SWITCH_DAY_AT` decides the day), `showStudentgroup` off (where
its column stands is not known), `dateOffset` 0 with the day wanted in `date`. `showTeacher`
and `showAbsentTeacher` stay as the school set them: we never ask for names a school does not
publish. The columns in force are those of our request or, when the row's cells do not fit
that, those of the stored format (a server that ignores the request's flags); when neither
fits, the format is read again once; still no fit is a `SourceError` (a `SourceSetupError`
naming the column to change when the format lacks times or shows a student group).

Days [verified: the answer's `date`, `nextDate`, `showingNextDate`]: the window is today and
the next two school days (Mon-Fri; `last_day`). A walk asks the window's first day and follows
`nextDate` while it lies in the window: the rows' day is always taken from the answer. An answer
that shows its `nextDate` already (a server that switched days early) makes the walk ask that
day itself next, to learn the day after it. The days
answered are the school days (`Batch.notices`, one per day: the boards' calendar, as a quiet day
has no period), except the first day when it is a weekend day without rows [inferred: a
Saturday's answer is an empty list; a weekday holiday asked for directly cannot be told from a
quiet school day].

Quiet cycles [verified: `lastUpdate` is one value for the school, whatever day is asked]: a
cycle asks the window's first day; when its `lastUpdate`, messages and header are those of the
last answer the engine *applied*, the cycle ends there (one request, nothing applied). An answer
counts as applied once the engine's cursor (`since`) has moved on from the cycle that produced
it: a cycle the engine refused (an empty window refused once, a store away) leaves the cursor
where it was, so the next cycle reads every day again instead of trusting a stamp nobody kept.
An answer without `lastUpdate` [not in the reference] is never quiet. Otherwise the other days
are asked too and the answer is complete: a row that disappeared is a change withdrawn (the
lesson as planned), so its period goes. When `SAFETY_READ` has passed (by the engine's cursor)
since the last full read was applied, a cycle reads the format and every day anyway, however
often changes came meanwhile: a change made in the second of our last read (`lastUpdate` has
whole seconds), a ticker line, or a format whose columns a school changed (no more teacher
names asked for once it hid them). A full read is a full load (first cycle, nightly reload),
the first cycle after a restart, or a safety read; the format is also read when the columns
stop fitting, the ticker endpoint only when the format shows a ticker, on cycles that read the
days.

Rows are changes only; see `signage.sources.monitor_parse` for cells, kinds and identity.
Messages of the day (`messageData`, the first day's) and the ticker's lines become the boards'
ticker; absent teachers and classes and affected classes (`absentElements`,
`affectedElements`) the staff header. Privacy is ours: whatever columns the format shows,
public boards strip teachers and notes (`signage.domain.privacy`).

Faults: an error object for an unknown school or format, a list that is not public (an error
object, HTTP 401/403, a redirect or a login page) and a layout we cannot read (no times, a
student group column) are `SourceSetupError`s whose message says what to change; another HTML
page where JSON was expected, a broken payload: `SourceError`; a row we cannot place (a time
such as "ganztägig") is skipped with a warning; timeouts, 429 and 5xx:
`SourceUnavailable`; `importInProgress`: `SourceBusy` (asked again at the next poll). Every one
keeps the last good boards. Not known, hence not relied on: error codes and messages, how
`dateOffset` counts, `cssClasses[0]`, the look of an additional lesson.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from signage.domain.model import DayNotice
from signage.sources.base import (
    Batch,
    Changes,
    SourceBusy,
    SourceError,
    SourceSetupError,
)
from signage.sources.http import RedirectError, json_of, raise_for_status
from signage.sources.monitor_parse import (
    GROUP_BY_CLASS,
    DayAnswer,
    MonitorRefusal,
    RowReader,
    columns_of,
    plain,
    unwrap,
)

log = logging.getLogger(__name__)

BASE = "/WebUntis/monitor"
DATA, FORMAT, TICKER = "/substitution/data", "/substitution/format", "/ticker/data"
OVERRIDES = {"showHour": True, "showTime": True, "showClass": True, "showSubject": True,
             "showRoom": True, "showInfo": True, "showSubstText": True,
             "showOnlyFutureSub": False, "enableSubstitutionFrom": False,
             "showStudentgroup": False, "dateOffset": 0}
SCHOOL_DAYS_AHEAD = 2  # the window: today and the next two school days (boards show 1 or 2)
MAX_DAYS = 6  # a walk along nextDate asks at most this many days (a guard against loops)
SAFETY_READ = timedelta(minutes=30)  # every day and the format read at least this often
PUBLIC_HINT = ('in WebUntis an administrator opens the list under "Monitoransicht → '
               'Vertretungen" and ticks "Öffentlich" (public)')
NOT_PUBLIC_WORDS = ("public", "öffentlich", "right", "recht", "permission", "berechtigung",
                    "allowed", "erlaubt", "access", "zugriff", "denied", "authent", "login")
SCHOOL_WORDS = ("school", "schul")
UNKNOWN_WORDS = ("unknown", "not found", "invalid", "no such", "does not exist", "unbekannt",
                 "nicht gefunden", "ungültig", "existiert nicht")
# What gives a page away as WebUntis' login: a password field, the login form's action, or a
# title naming the login that does not say it is down (a maintenance page may name it too).
LOGIN_FORM = re.compile(rb"type=[\"']?password|j_spring_security", re.IGNORECASE)
LOGIN_TITLE = re.compile(rb"<title>[^<]*(login|anmeld)[^<]*</title>", re.IGNORECASE)
DOWN_WORDS = re.compile("wartung|maintenance|nicht möglich|not possible|unavailable|derzeit|"
                        "currently".encode(), re.IGNORECASE)


@dataclass(frozen=True)
class _Stamp:
    """What tells a quiet cycle: the window and its first day's lastUpdate, messages and
    header (a message or an absence need not move lastUpdate)."""

    window: tuple[date, date]
    last_update: str
    messages: tuple[str, ...]
    notice: DayNotice

    @classmethod
    def of(cls, first: DayAnswer, start: date, end: date) -> _Stamp:
        """Return the stamp of a window's first answer."""
        return cls((start, end), first.last_update, first.messages, first.notice)


class _Pending(NamedTuple):
    """An answer handed to the engine, not yet known to be applied."""

    stamp: _Stamp
    since: datetime | None  # the engine's cursor it was asked under; None: a full load
    full: bool  # the format and every day were read afresh for it


class MonitorSource:
    """Reads one school's public substitution list."""

    name = "monitor"
    changes_only = True  # the upstream lists changes, never the regular plan (for the check)

    def __init__(self, base_url: str, school: str, format_name: str, tz: ZoneInfo,
                 session: requests.Session) -> None:
        self._base = base_url.rstrip("/") + BASE
        self._school = school
        self._format_name = format_name
        self._tz = tz
        self._session = session
        self._format: dict[str, Any] | None = None
        # The last answer handed to the engine: applied once the engine's cursor moved on.
        self._pending: _Pending | None = None
        self._applied: _Stamp | None = None
        self._read_at: datetime | None = None  # the cursor that confirmed the last full read
        self._window: tuple[date, date] | None = None  # the last whole window asked
        self._ticker_lines: tuple[str, ...] = ()  # kept when the ticker cannot be read
        self.seen: list[tuple[date, int]] = []  # the last walk: (day, rows), for the check
        self.layout: tuple[str, ...] = ()  # the columns in force at the last answer
        self.last_update = ""  # of the last answer read, for the check
        self.people: set[str] = set()  # teacher names met outside the rows (the check's sample)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], tz: ZoneInfo,
                      session: requests.Session) -> MonitorSource:
        """Build the source from the `MONITOR_*` settings."""
        return cls(str(settings["MONITOR_URL"]), str(settings["MONITOR_SCHOOL"]),
                   str(settings["MONITOR_FORMAT"]), tz, session)

    def last_day(self, today: date) -> date:
        """Return the window's last day: the second school day (Mon-Fri) after `today`."""
        day = today
        for _ in range(SCHOOL_DAYS_AHEAD):
            day += timedelta(days=1)
            while day.weekday() >= 5:
                day += timedelta(days=1)
        return day

    def fetch_window(self, start: date, end: date) -> Batch:
        """Read the format afresh and every listed day from `start` to `end`."""
        # The days a rolled window gained (after the last window's end) come with a delta
        # cycle, which stamps the whole window itself: only a whole window is a full load.
        whole = self._window is None or start <= self._window[1]
        self._format = None
        first = self._ask(start)
        batch = self._batch(self._walk(first, end), start, end)
        if whole:
            self._window = (start, end)
            self._pending = _Pending(_Stamp.of(first, start, end), None, full=True)
        return batch

    def fetch_changes(self, start: date, end: date, since: datetime) -> Changes:
        """Ask the first day; unless it is as last applied, every day (a complete answer)."""
        self._confirm(since)
        self._window = (start, end)
        # The safety read (the format too): due by the engine's cursor, or after a restart.
        full = self._read_at is None or since - self._read_at >= SAFETY_READ
        if full:
            self._format = None
        first = self._ask(start)
        stamp = _Stamp.of(first, start, end)
        # Without a lastUpdate nothing tells a quiet list: every day is read.
        if not full and first.last_update and self._applied == stamp:
            log.info("monitor: lastUpdate %s unchanged: nothing to apply", first.last_update)
            return Changes(Batch(periods=()), frozenset())
        batch = self._batch(self._walk(first, end), start, end)
        self._pending = _Pending(stamp, since, full)
        return Changes(batch, frozenset(), complete=True)

    def describe(self) -> list[str]:
        """Return lines for `signage check`: the format, its columns, rows per day, lastUpdate."""
        shown = self._format or {}
        title = plain(str(shown.get("customTitle") or "")) or "(no title)"
        days = ", ".join(f"{day:%a %Y-%m-%d} {rows} rows" for day, rows in self.seen) or "none"
        return [f"monitor format: {self._format_name!r} found, public ({title})",
                f"monitor columns: {', '.join(self.layout) or 'none seen (no rows)'}",
                f"monitor rows: {days}",
                f"monitor lastUpdate: {self.last_update or 'not sent'}"]

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    # --- internals ------------------------------------------------------------------------
    def _confirm(self, since: datetime) -> None:
        """Take the last answer as applied when the engine's cursor moved on since it."""
        if self._pending is not None and self._pending.since != since:
            self._applied = self._pending.stamp
            if self._pending.full:
                self._read_at = since
        self._pending = None

    def _walk(self, first: DayAnswer, end: date) -> list[DayAnswer]:
        answers = [first]
        while len(answers) < MAX_DAYS:
            following = answers[-1].next_day
            if following is None or following > end or any(a.asked == following
                                                            for a in answers):
                break
            answers.append(self._ask(following))
        return answers

    def _batch(self, answers: list[DayAnswer], start: date, end: date) -> Batch:
        updates = {a.last_update for a in answers}
        if len(updates) > 1:
            log.warning("monitor: the days answered different lastUpdate values %s",
                        sorted(updates))
        reader = self._reader(answers)
        for answer in answers:
            reader.add(answer, f"POST {DATA} {answer.day}")
        for skipped in reader.skipped:
            log.warning("monitor: %s", skipped)
        periods = [p for p in reader.periods.values() if start <= p.day <= end]
        self.last_update = answers[0].last_update
        self.seen = [(a.day, len(a.rows)) for a in {a.day: a for a in answers}.values()
                     if a.day is not None]
        # The days the list exists for are school days (the boards' calendar: screens on, the
        # day shown); the first day is one too when it was not just asked for (a Saturday's
        # answer is an empty list, with nextDate Monday): a weekday or a day with rows.
        notices = {a.day: _with_teachers(a.notice, reader.people.get(a.day, set()))
                   for n, a in enumerate(answers) if a.day is not None
                   and (n > 0 or a.rows or a.day.weekday() < 5 or a.day != start)}
        self.people = {name for notice in notices.values() for name in notice.teachers}
        ticker = self._ticker(start)
        if ticker is not None:
            self._ticker_lines = ticker
        messages = answers[0].messages + self._ticker_lines
        return Batch(periods=periods, names=reader.names, school=self._school,
                     messages=tuple(dict.fromkeys(messages)), notices=notices)

    def _reader(self, answers: list[DayAnswer]) -> RowReader:
        """Return a reader for the columns in force (see the docstring)."""
        # A row whose data is no list is named by the reader; it decides no layout here.
        counts = {len(r["data"]) for a in answers for r in a.rows
                  if isinstance(r.get("data"), list)}
        timeless = False  # rows fit only a layout without times
        for fresh in (False, True):
            if fresh:
                self._format = None
            stored = self._stored()
            for flags in ({**stored, **OVERRIDES}, stored):
                columns = columns_of(flags)
                if counts and counts != {len(columns)}:
                    continue
                if counts and "time" not in columns:
                    timeless = True
                    continue
                self.layout = columns
                if flags is stored and stored != {**stored, **OVERRIDES}:
                    log.warning(
                        "monitor: WebUntis lays out the list by its stored format, not by "
                        "our request: past changes of today may drop off (showOnlyFutureSub)"
                        " and the list may switch days early (enableSubstitutionFrom)")
                return RowReader(columns, stored.get("groupBy", GROUP_BY_CLASS))
        name = self._format_name
        if timeless:
            raise SourceSetupError(
                f"POST {DATA}: the list {name!r} shows no times, and this WebUntis server lays "
                "the list out by the format alone: an administrator ticks the time column "
                "(showTime) in the format")
        if stored.get("showStudentgroup") is True:
            raise SourceSetupError(
                f"POST {DATA}: the list {name!r} shows a student group column, whose place in "
                "a row is not known, and this WebUntis server lays the list out by the format "
                "alone: an administrator turns the student group column (showStudentgroup) "
                "off in the format")
        raise SourceError(
            f"POST {DATA}: rows with {sorted(counts)} cells fit neither the columns we asked "
            f"for nor the format's ({', '.join(columns_of(stored))})")

    def _stored(self) -> dict[str, Any]:
        if self._format is None:
            self._format = dict(self._post(FORMAT, {}))
        return self._format

    def _ask(self, day: date) -> DayAnswer:
        body = {**self._stored(), **OVERRIDES, "date": int(day.strftime("%Y%m%d"))}
        answer = DayAnswer.of(self._post(DATA, body), f"POST {DATA} {day}")
        if answer.importing:
            raise SourceBusy("WebUntis is importing a new plan (importInProgress): asked "
                             "again at the next poll")
        return answer

    def _ticker(self, today: date) -> tuple[str, ...] | None:
        """Return the ticker's lines when the format shows a ticker; None when it failed
        (the boards keep their lines)."""
        if self._stored().get("showTicker") is not True:
            return ()
        try:
            payload = self._post(TICKER, {"date": int(today.strftime("%Y%m%d")),
                                          "numberOfDays": 1})
        except SourceSetupError:
            raise
        except SourceError as exc:  # a ticker is not worth stale boards
            log.warning("monitor: ticker skipped this cycle: %s", exc)
            return None
        lines = payload.get("tickerData")
        if not isinstance(lines, list):
            log.warning("monitor: ticker answer has no tickerData list")
            return None
        return tuple(t for t in (plain(str(line)) for line in lines) if t)

    def _post(self, path: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        what = f"POST {path}"
        sent = {**body, "schoolName": self._school, "formatName": self._format_name}
        # %20 for a space, as the monitor's own page sends it (requests' params would send +).
        url = f"{self._base}{path}?school={quote(self._school, safe='')}"
        try:
            response = self._session.post(url, json=sent, allow_redirects=False)
        except RedirectError as exc:  # the monitor sends a visitor it does not admit to a login
            raise SourceSetupError(
                f"{exc}: WebUntis sends us to its login, so the substitution list "
                f"{self._format_name!r} is not public: {PUBLIC_HINT}") from None
        status = response.status_code
        if status in (401, 403):
            raise SourceSetupError(
                f"{what}: HTTP {status}: the substitution list {self._format_name!r} of "
                f"{self._school!r} is not public: {PUBLIC_HINT}")
        if status == 404:
            raise SourceSetupError(f"{what}: HTTP 404: no WebUntis monitor at this address: "
                                   "check SIGNAGE_MONITOR_URL (the school's WebUntis server)")
        raise_for_status(response, what)
        page = response.content.lstrip()
        if page[:1] == b"<":
            if _login_page(page):
                raise SourceSetupError(
                    f"{what}: WebUntis answered its login page where JSON was expected: the "
                    f"substitution list {self._format_name!r} is not public: {PUBLIC_HINT}")
            raise SourceError(f"{what}: WebUntis answered an HTML page where JSON was expected "
                              "(a login or maintenance page?)")
        try:
            return unwrap(json_of(response, what), what)
        except MonitorRefusal as exc:
            raise self._refused(exc) from None

    def _refused(self, exc: MonitorRefusal) -> SourceSetupError:
        """Return the error that says what to change for a refusal."""
        said = exc.upstream_message.lower()
        school, name = self._school, self._format_name
        unknown_school = SourceSetupError(
            f"{exc}: WebUntis does not know the school {school!r}: check "
            "SIGNAGE_MONITOR_SCHOOL (the school's login name, as in ?school=… of its "
            "WebUntis address)")
        school_named = any(word in said for word in SCHOOL_WORDS) and "format" not in said
        unknown = any(word in said for word in UNKNOWN_WORDS)
        if exc.code == -8500 or (school_named and unknown):
            return unknown_school  # -8500: JSON-RPC's "invalid schoolname"
        if any(word in said for word in NOT_PUBLIC_WORDS):
            return SourceSetupError(
                f"{exc}: the substitution list {name!r} is not public: {PUBLIC_HINT}")
        if "format" in said or (not school_named and unknown):
            return SourceSetupError(
                f"{exc}: the school has no list named {name!r}: check "
                "SIGNAGE_MONITOR_FORMAT (the name as the list's address shows it, "
                "…&format=<name>)")
        if school_named:
            return unknown_school
        return SourceSetupError(
            f"{exc}: check SIGNAGE_MONITOR_SCHOOL and SIGNAGE_MONITOR_FORMAT; if both are "
            f"right, the list may not be public: {PUBLIC_HINT}")


def _login_page(page: bytes) -> bool:
    """Tell whether an HTML page is WebUntis' login (not a page saying it is down)."""
    if LOGIN_FORM.search(page):
        return True
    title = LOGIN_TITLE.search(page)
    return title is not None and DOWN_WORDS.search(title[0]) is None


def _with_teachers(notice: DayNotice, heading: set[str]) -> DayNotice:
    """Return a day's notice that also knows the teachers heading its groups of rows."""
    return replace(notice, teachers=tuple(dict.fromkeys((*notice.teachers, *sorted(heading)))))
