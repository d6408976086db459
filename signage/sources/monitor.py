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
`enableSubstitutionFrom` off (our `SWITCH_DAY_AT` decides the day), `dateOffset` 0 with the day
wanted in `date`. `showTeacher` stays as the school set it: we never ask for names a school
does not publish. The columns in force are those of our request or, when the row's cells do
not fit that, those of the stored format (a server that ignores the request's flags); when
neither fits, the format is read again once; still no fit is a `SourceError`.

Days [verified: the answer's `date`, `nextDate`, `showingNextDate`]: the window is today and
the next two school days (Mon-Fri; `last_day`). A walk asks the window's first day and follows
`nextDate` while it lies in the window: the rows' day is always taken from the answer. The days
answered are the school days (`Batch.notices`, one per day: the boards' calendar, as a quiet day
has no period), except the first day when it is a weekend day without rows [inferred: a
Saturday's answer is an empty list; a weekday holiday asked for directly cannot be told from a
quiet school day].

Quiet cycles [verified: `lastUpdate` is one value for the school, whatever day is asked]: a
cycle asks the window's first day; an unchanged `lastUpdate` ends it there (one request, nothing
applied). When it moved, the other days are asked too and the answer is complete: a row that
disappeared is a change withdrawn (the lesson as planned), so its period goes. The format is
read at every full load (first cycle, nightly reload) and when the columns stop fitting; the
ticker endpoint only when the format shows a ticker, on cycles that read the days.

Rows are changes only; see `signage.sources.monitor_parse` for cells, kinds and identity.
Messages of the day (`messageData`, the first day's) and the ticker's lines become the boards'
ticker; absent teachers and classes and affected classes (`absentElements`,
`affectedElements`) the staff header. Privacy is ours: whatever columns the format shows,
public boards strip teachers and notes (`signage.domain.privacy`).

Faults: an error object for an unknown school or format, a list that is not public (an error
object or HTTP 401/403) are `SourceSetupError`s whose message says what to change; an HTML page
where JSON was expected, a broken payload: `SourceError`; timeouts, 429 and 5xx:
`SourceUnavailable`; `importInProgress`: `SourceBusy` (asked again at the next poll). Every one
keeps the last good boards. Not known, hence not relied on: error codes and messages, how
`dateOffset` counts, `cssClasses[0]`, the look of an additional lesson.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from signage.sources.base import (
    Batch,
    Changes,
    SourceBusy,
    SourceError,
    SourceSetupError,
)
from signage.sources.http import json_of, raise_for_status
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
             "showOnlyFutureSub": False, "enableSubstitutionFrom": False, "dateOffset": 0}
SCHOOL_DAYS_AHEAD = 2  # the window: today and the next two school days (boards show 1 or 2)
MAX_DAYS = 6  # a walk along nextDate asks at most this many days (a guard against loops)
PUBLIC_HINT = ('in WebUntis an administrator opens the list under "Monitoransicht → '
               'Vertretungen" and ticks "Öffentlich" (public)')
NOT_PUBLIC_WORDS = ("public", "öffentlich", "right", "recht", "permission", "berechtigung",
                    "allowed", "erlaubt", "access", "zugriff", "denied", "authent", "login")


class MonitorSource:
    """Reads one school's public substitution list."""

    name = "monitor"
    changes_only = True  # the upstream lists changes, never the regular plan (for the check)

    def __init__(self, base_url: str, school: str, format_name: str, tz: ZoneInfo,
                 session: requests.Session,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._base = base_url.rstrip("/") + BASE
        self._school = school
        self._format_name = format_name
        self._tz = tz
        self._session = session
        self._clock = clock
        self._format: dict[str, Any] | None = None
        self._last_update: str | None = None  # of the last answers applied
        self._asked: tuple[date, date] | None = None  # the window they covered
        self._ticker_lines: tuple[str, ...] = ()  # kept when the ticker cannot be read
        self.seen: list[tuple[date, int]] = []  # the last walk: (day, rows), for the check
        self.layout: tuple[str, ...] = ()  # the columns in force at the last answer

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
        self._format = None
        first = self._ask(start)
        return self._batch(self._walk(first, end), start, end)

    def fetch_changes(self, start: date, end: date, since: datetime) -> Changes:
        """Ask the first day; when `lastUpdate` moved, every day (a complete answer)."""
        first = self._ask(start)
        if (first.last_update and first.last_update == self._last_update
                and self._asked == (start, end)):
            log.info("monitor: lastUpdate %s unchanged: nothing to apply", first.last_update)
            return Changes(Batch(periods=()), frozenset())
        return Changes(self._batch(self._walk(first, end), start, end), frozenset(),
                       complete=True)

    def describe(self) -> list[str]:
        """Return lines for `signage check`: the format, its columns, rows per day, lastUpdate."""
        shown = self._format or {}
        title = plain(str(shown.get("customTitle") or "")) or "(no title)"
        days = ", ".join(f"{day:%a %Y-%m-%d} {rows} rows" for day, rows in self.seen) or "none"
        return [f"monitor format: {self._format_name!r} found, public ({title})",
                f"monitor columns: {', '.join(self.layout) or 'none seen (no rows)'}",
                f"monitor rows: {days}",
                f"monitor lastUpdate: {self._last_update or 'not sent'}"]

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    # --- internals ------------------------------------------------------------------------
    def _walk(self, first: DayAnswer, end: date) -> list[DayAnswer]:
        answers = [first]
        while len(answers) < MAX_DAYS:
            following = answers[-1].next_day
            if following is None or following > end or any(a.day == following
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
        periods = [p for p in reader.periods.values() if start <= p.day <= end]
        self._last_update = answers[0].last_update
        self._asked = (start, end)
        self.seen = [(a.day, len(a.rows)) for a in answers if a.day is not None]
        # The days the list exists for are school days (the boards' calendar: screens on, the
        # day shown); the first day is one too when it was not just asked for (a Saturday's
        # answer is an empty list, with nextDate Monday): a weekday or a day with rows.
        notices = {a.day: a.notice for n, a in enumerate(answers) if a.day is not None
                   and (n > 0 or a.rows or a.day.weekday() < 5 or a.day != start)}
        ticker = self._ticker()
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
        for fresh in (False, True):
            if fresh:
                self._format = None
            stored = self._stored()
            for flags in ({**stored, **OVERRIDES}, stored):
                columns = columns_of(flags)
                if not counts or counts == {len(columns)}:
                    self.layout = columns
                    if flags is stored and stored != {**stored, **OVERRIDES}:
                        log.warning(
                            "monitor: WebUntis lays out the list by its stored format, not by "
                            "our request: past changes of today may drop off (showOnlyFutureSub)"
                            " and the list may switch days early (enableSubstitutionFrom)")
                    return RowReader(columns, stored.get("groupBy", GROUP_BY_CLASS))
        raise SourceError(
            f"POST {DATA}: rows with {sorted(counts)} cells fit neither the columns we asked "
            f"for nor the format's ({', '.join(columns_of(self._stored()))})")

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

    def _ticker(self) -> tuple[str, ...] | None:
        """Return the ticker's lines when the format shows a ticker; None when it failed
        (the boards keep their lines)."""
        if self._stored().get("showTicker") is not True:
            return ()
        today = self._clock().astimezone(self._tz).date()
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
        response = self._session.post(url, json=sent, allow_redirects=False)
        status = response.status_code
        if status in (401, 403):
            raise SourceSetupError(
                f"{what}: HTTP {status}: the substitution list {self._format_name!r} of "
                f"{self._school!r} is not public: {PUBLIC_HINT}")
        if status == 404:
            raise SourceSetupError(f"{what}: HTTP 404: no WebUntis monitor at this address: "
                                   "check SIGNAGE_MONITOR_URL (the school's WebUntis server)")
        raise_for_status(response, what)
        if response.content.lstrip()[:1] == b"<":
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
        if exc.code == -8500 or "school" in said:
            return SourceSetupError(
                f"{exc}: WebUntis does not know the school {school!r}: check "
                "SIGNAGE_MONITOR_SCHOOL (the school's login name, as in ?school=… of its "
                "WebUntis address)")
        if any(word in said for word in NOT_PUBLIC_WORDS):
            return SourceSetupError(
                f"{exc}: the substitution list {name!r} is not public: {PUBLIC_HINT}")
        if "format" in said or "not found" in said or "unknown" in said:
            return SourceSetupError(
                f"{exc}: the school has no list named {name!r}: check "
                "SIGNAGE_MONITOR_FORMAT (the name as the list's address shows it, "
                "…&format=<name>)")
        return SourceSetupError(
            f"{exc}: check SIGNAGE_MONITOR_SCHOOL and SIGNAGE_MONITOR_FORMAT; if both are "
            f"right, the list may not be public: {PUBLIC_HINT}")
