"""MyTimetable (Eveoh) API v0 (`SIGNAGE_SOURCE=mytimetable`), the timetable portal universities
and colleges run; endpoints live under `{SIGNAGE_MYTIMETABLE_URL}/api/v0/`.

Auth: an API token in the `apiToken` header of every call, never in a URL. A 401 or 403 on a
timetable call is a `SourceAuthError` (wrong or revoked token; the engine pauses after a few in a
row); 429/5xx and transport trouble are `SourceUnavailable`; a 3xx is never followed (the token
would go along) and, like an unusable payload, is a `SourceError`. The token never reaches a
message or a log line.

Model: a timetable (of a type: `location` = a room, `studentset` = a class or group, `zone` = a
building, …) is a list of events. Events carry no documented id and no change status: an event
has its current staff and rooms, or is gone. Batches are `plain` and the engine marks
substitutions, room changes, extra events and vanished (cancelled) ones against its copy
(`signage.sync.reconcile`). Identity is content (`signage.sources.mytimetable_parse`): the
same event listed by its room's and its student set's timetable is one period; an event whose time,
activity or student sets change is a new one (the old one shows cancelled, the new one extra).
An event whose notes or tag keys hold a cancellation marker (`SIGNAGE_MYTIMETABLE_CANCELLED_
MARKERS`, institutions word it differently) is cancelled.

Sync: there is no delta endpoint. `fetch_window` lists the timetables of each configured type
(`/timetables?type=`), kept until the next `fetch_window`; then each cycle, full or not, asks
`/timetables/{key}?startDate=&endDate=` once per timetable and `/messages` once, and answers
everything (`Changes.complete`). The engine writes the store only when something changed.

Politeness, as the vendor asks: no scraping, no refreshing every minute, only the window shown.
`last_day` caps the engine's window at the next school day (Mon-Fri; Friday -> Monday), the
engine polls at the idle interval unless configured faster, and a quiet cycle costs one request
per timetable plus one for messages. Each configured type multiplies that by its timetables:
a `zone` (building) timetable covers all its rooms in one request.

Messages: `/messages` (MyTimetable 4.0+, scope ROLE_API_MESSAGES) feeds the boards' ticker:
messages published and not expired at the answer's `Date` (the upstream's clock), for everyone
or for students (`targetRoles` empty or holding ROLE_STUDENT: boards hang in public, so a
staff-only message never shows). 401/403/404 there mean "not available" (an older MyTimetable,
a token without that scope; the timetables already proved the token): no messages (the ticker's
old lines go) and no further asking until the next full load. 429 backs
the whole sync off; any other failure there only skips the messages of that cycle (they keep
their last value): a ticker is not worth stale timetables.

Confirmed by the reference: the `apiToken` header, JSON on `Accept: application/json`, gzip,
`/timetables?type=` answering `{"timetable": [{"description", "value"}]}`, events as a JSON
list with the fields used (`startDate`/`endDate` in Unix milliseconds), ISO 8601 dates accepted
as parameters, `endDate` meaning "till that date at 0:00" (so we send the day after the last),
unknown fields to be ignored, the types below, the message fields.
Accepted where the reference is silent: every event field but `startDate`/`endDate` null or
missing; a listing whose `timetable` list is null or missing (no timetables of that type); a
`messages` list null or missing (no messages). Activity and event types are the institution's
own words (`activityTypeName` "should not be shown", `eventType` since 3.4): no closed set, so
no value is "unknown"; only `EXAM_WORDS` in them mean something.
Assumed: dates without a time are midnights in the institution's zone, which is
`SIGNAGE_TIMEZONE`; keys are URL-encoded into the path (`!` as `%21`); `staffMembers` and
`studentSets` are lists of names (objects with a `name` are read too; the reference shows only
names and empty lists); `/messages` answers `{"messages": [...]}` (its example is not valid
JSON; a bare list is read too); an event whose type names an exam is one (`EXAM_WORDS`); a
cancelled event either vanishes or carries a marker (`SIGNAGE_MYTIMETABLE_CANCELLED_MARKERS`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import requests

from signage.sources.base import Batch, Changes, SourceAuthError, SourceError, SourceUnavailable
from signage.sources.http import json_of, raise_for_status
from signage.sources.mytimetable_parse import (
    EventParser,
    Timetable,
    parse_messages,
    parse_timetables,
)
from signage.sources.options import (
    DEFAULT_MARKERS,
    DEFAULT_TYPES,
    MARKERS_KEY,
    TYPES_KEY,
    parse_markers,
    parse_types,
)

log = logging.getLogger(__name__)

# --- the API as documented (see the docstring) --------------------------------------------------
API_PATH = "/api/v0"
TOKEN_HEADER = "apiToken"  # noqa: S105 - a header name, not a secret
TIMETABLES = "/timetables"
MESSAGES = "/messages"
TIMETABLE_LABEL = "timetables/{key}"
AUTH_HINT = "check SIGNAGE_MYTIMETABLE_TOKEN"
# The types the reference lists (its table, plus `modulegroup` from its /timetabletypes example).
MESSAGES_ABSENT = (401, 403, 404)  # /messages not offered to this token: ask again next full load
MANY_TIMETABLES = 100  # above this, a cycle's cost is worth a warning at every listing


class MyTimetableSource:
    """Reads the events of the configured timetables from one MyTimetable site."""

    name = "mytimetable"

    def __init__(
        self,
        base_url: str,
        token: str,
        tz: ZoneInfo,
        session: requests.Session,
        types: Sequence[str] = DEFAULT_TYPES,
        markers: Sequence[str] = DEFAULT_MARKERS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._api = base_url.rstrip("/").removesuffix(API_PATH) + API_PATH
        # JSON explicitly: without it MyTimetable may answer XML (its default depends on Accept).
        self._headers = {TOKEN_HEADER: token, "Accept": "application/json"}
        self._tz = tz
        self._session = session
        self._types = tuple(types)
        self._markers = tuple(markers)
        self._clock = clock  # only when an answer has no usable `Date`
        self._school = urlsplit(base_url).hostname or "MyTimetable"
        self._timetables: list[Timetable] | None = None  # listed at the last full load
        self._messages_offered = True  # False after a 401/403/404, until the next full load

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], tz: ZoneInfo, session: requests.Session
    ) -> MyTimetableSource:
        """Build the source from the `MYTIMETABLE_*` settings (strings or None)."""
        return cls(str(settings["MYTIMETABLE_URL"]), str(settings["MYTIMETABLE_TOKEN"]), tz,
                   session, types=parse_types(settings.get(TYPES_KEY)),
                   markers=parse_markers(settings.get(MARKERS_KEY)))

    def last_day(self, today: date) -> date:
        """Return the window's last day: the next school day (Mon-Fri) after `today`."""
        return next_school_day(today)

    def fetch_window(self, start: date, end: date) -> Batch:
        """List the timetables afresh and return every event from `start` to `end` inclusive."""
        self._timetables = None
        self._messages_offered = True
        return self._fetch(start, end)

    def fetch_changes(self, start: date, end: date, since: datetime) -> Changes:
        """Return every event of the range as a complete answer (there are no deltas)."""
        return Changes(self._fetch(start, end), frozenset(), complete=True)

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def _fetch(self, start: date, end: date) -> Batch:
        if self._timetables is None:
            self._timetables = self._list()
        params = {"startDate": start.isoformat(),
                  "endDate": (end + timedelta(days=1)).isoformat()}  # till that day at 0:00
        parser = EventParser(self._tz, self._markers)
        for timetable in self._timetables:
            path = f"{TIMETABLES}/{quote(timetable.key, safe='')}"
            payload = self._get(path, params, f"GET {TIMETABLES}/{timetable.key}",
                                relist_on_404=True)
            parser.add(payload, timetable.key)
        periods = [p for p in parser.periods.values() if start <= p.day <= end]
        used = {(c, r.id) for p in periods for c, refs in p.refs.items() for r in refs}
        names = {c: {i: n for i, n in table.items() if (c, i) in used}
                 for c, table in parser.names.items()}
        return Batch(periods=periods, names={c: t for c, t in names.items() if t},
                     school=self._school, plain=True, messages=self._messages())

    def _list(self) -> list[Timetable]:
        found: dict[str, Timetable] = {}
        for kind in self._types:
            listed = parse_timetables(
                self._get(TIMETABLES, {"type": kind}, f"GET {TIMETABLES}?type={kind}"), kind)
            if not listed:
                log.warning("mytimetable: no timetables of type %s", kind)
            found |= {t.key: t for t in listed if t.key not in found}
        log.info("mytimetable: %d timetables of types %s", len(found), ", ".join(self._types))
        if len(found) > MANY_TIMETABLES:
            # The vendor asks clients not to scrape: say what a cycle costs and how to cut it.
            log.warning("mytimetable: %d timetables cost %d requests every cycle; consider "
                        "SIGNAGE_MYTIMETABLE_TYPES=zone (one per building)",
                        len(found), len(found) + 1)
        return list(found.values())

    def _messages(self) -> tuple[str, ...] | None:
        """Return the active messages; () when not offered, None when this cycle could not
        tell (the ticker keeps its lines; see the docstring)."""
        if not self._messages_offered:
            return None
        what = f"GET {MESSAGES}"
        try:
            response = self._session.get(self._api + MESSAGES, headers=self._headers,
                                         allow_redirects=False)
        except SourceUnavailable as exc:
            log.warning("mytimetable: messages skipped this cycle: %s", exc)
            return None
        status = response.status_code
        if status in MESSAGES_ABSENT:
            self._messages_offered = False
            log.info("mytimetable: %s answered HTTP %d: no messages until the next full load",
                     what, status)
            return ()  # not offered (any more): the ticker's old lines go too
        if status == 429 or 300 <= status < 400:
            _raise_for(response, what)  # back off / never follow, as on every call
        try:
            _raise_for(response, what)
            return parse_messages(json_of(response, what), self._answered_at(response))
        except SourceError as exc:  # 5xx, another 4xx, garbage: the ticker keeps its lines
            log.warning("mytimetable: messages skipped this cycle: %s", exc)
            return None

    def _answered_at(self, response: requests.Response) -> datetime:
        """Return the upstream's clock from `Date` (ours when it is absent or unreadable)."""
        try:
            when = parsedate_to_datetime(response.headers.get("Date", ""))
        except (TypeError, ValueError):
            return self._clock()
        when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
        # An HTTP date has whole seconds: the answer left within the second after it.
        return when + timedelta(milliseconds=999)

    def _get(self, path: str, params: Mapping[str, str], what: str,
             relist_on_404: bool = False) -> Any:
        # One metrics label for every timetable, not one per key.
        endpoint = TIMETABLE_LABEL if path.startswith(f"{TIMETABLES}/") else None
        response = self._session.get(self._api + path, params=params, headers=self._headers,
                                     allow_redirects=False, endpoint=endpoint)
        if relist_on_404 and response.status_code == 404:  # gone since the listing
            self._timetables = None
        _raise_for(response, what)
        return json_of(response, what)


def _raise_for(response: requests.Response, what: str) -> None:
    """Raise the error a non-2xx answer stands for."""
    status = response.status_code
    if status in (401, 403):
        raise SourceAuthError(f"{what}: HTTP {status}, the API token was refused", hint=AUTH_HINT)
    raise_for_status(response, what)


def next_school_day(today: date) -> date:
    """Return the first Monday-to-Friday day after `today` (Friday -> Monday)."""
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


