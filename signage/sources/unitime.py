"""UniTime 4.4 (`SIGNAGE_SOURCE=unitime`): the room timetables of a university's UniTime.

Auth: HTTP Basic with an API user (`SIGNAGE_UNITIME_USER`/`_PASSWORD`), or the user's API token
(`SIGNAGE_UNITIME_TOKEN`) as the `token` query parameter where the university enabled tokens;
Basic wins when both are set, so the token then never travels. 401/403 on any call is a
`SourceAuthError` (403: the user lacks the Api Retrieve Roles/Rooms/Events permission);
429/5xx and transport trouble are `SourceUnavailable`; a 3xx is never followed; a payload of the
wrong shape is one `SourceError`. The token rides in URLs, so messages are built from the path
alone, the chained exceptions (whose text holds the URL) are dropped, and urllib3's own log lines
(it logs URLs on retries) pass a filter that hides `token=` values. Passwords only travel in the
Authorization header.

Calls: `api/roles` (every academic session with its dates: when `SIGNAGE_UNITIME_TERM` is unset,
the one whose class dates cover the range's first day, else whose event dates do, the nearest
classes first; none or several is a `SourceError` asking for the setting), `api/rooms?term=`
(rooms with `uniqueId` and names; with `SIGNAGE_UNITIME_ROOMS` it resolves the names), and
`api/events?term=&type=ROOM&…` (events with their meetings). There is no delta endpoint: every
cycle asks for the whole window and answers it `complete`; a meeting missing from it was
deleted (`vanished_cancelled=False`: UniTime reports cancellations itself, as approvalStatus
Cancelled). Batches are `plain`, so the engine marks new instructors (substitutions), new rooms
and extra meetings against its copy; the first sight of a day already shows room changes by
the same-slot rule (`signage.sources.unitime_parse`). The store is written only when the copy
changed (`store.replace` keeps the version for equal content).

Cost: a quiet cycle is two api/events requests (for up to `MAX_ROOMS_PER_REQUEST` configured
rooms, or for all rooms): one for approved and pending meetings, one with `e:mode=Cancelled`.
UniTime's event filter leaves cancelled meetings out unless the mode chip asks for them, and no
single mode gives both (confirmed in UniTime's EventFilterBackend: without a mode, meetings
Pending or Approved; "Cancelled", meetings Rejected, Cancelled or Deleted). api/roles and
api/rooms are asked at the first load, at full loads and when the window rolls to a new day
(`fetch_window`), never in a quiet cycle. A rolling day also asks the window again (the engine
loads the gained days, then the window).

Confirmed by the reference (UniTime APIs 4.4): the auth, `api/roles` fields (`reference`,
`beginDate`, `endDate`, `eventBeginDate`, `eventEndDate`), `api/rooms?term=` (`uniqueId`,
`name`, `building.abbreviation`), `api/events?term=&type=ROOM` with `e:`/`r:` filter chips, and
the event and meeting fields. Confirmed in UniTime's source, not in the reference: an event's
`instructors` (contacts with `formattedName`), every `e:<chip>` parameter (repeatable) becomes
a filter option, `e:room` takes location unique ids, `e:from`/`e:to` bound the meeting dates.
Accepted where the reference is silent: `meetings`, `instructors`, `courseNames` and a
meeting's `location` null or missing; an `approvalStatus` or `eventType` not known (statuses
Approved, Pending, Cancelled, Rejected, Deleted; types: the reference shows Class, Course and
Special, UniTime's EventType enum adds FinalExam, MidtermExam and "Unavailabile", so spelled)
keeps its meeting, shown as changed and logged once per value. Assumed (constants below): the
chip date format `MM/dd/yyyy` (UniTime's untranslated filter date format; a release that cannot
read it ignores the chip and answers the whole term, which the adapter filters itself, as it
does rooms); a room's name as events show it is
"<building abbreviation> <name>"; `CONTEXT_DAYS` of meetings on either side of the window are
enough to tell an event's planned room (asked for at full loads and day changes only; quiet
cycles ask for the window and reuse them). Known limit: with configured rooms, a meeting moved to
a room not configured is not in the answer (it leaves its old room's board as deleted).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from signage.sources.base import Batch, Changes, SourceAuthError, SourceError, SourceUnavailable
from signage.sources.http import json_of, raise_for_status
from signage.sources.options import room_names
from signage.sources.unitime_parse import (
    Meeting,
    Term,
    choose_term,
    parse_events,
    parse_rooms,
    parse_terms,
    to_periods,
)

log = logging.getLogger(__name__)

# --- the API as used (see the docstring: what is confirmed, what assumed) -----------------------
API = "/api"
ROLES, ROOMS, EVENTS = "roles", "rooms", "events"
TERM_PARAM = "term"
RESOURCE_TYPE = ("type", "ROOM")  # the Event Timetable of rooms
ROOM_CHIP = "e:room"  # a location's uniqueId; repeated for several rooms
FROM_CHIP, TO_CHIP = "e:from", "e:to"  # first and last meeting date
CHIP_DATE_FORMAT = "%m/%d/%Y"
MODE_CHIP, CANCELLED_MODE = "e:mode", "Cancelled"  # Rejected, Cancelled and Deleted meetings
TOKEN_PARAM = "token"  # noqa: S105 - the parameter's name, not a secret
MAX_ROOMS_PER_REQUEST = 50  # keeps a URL of e:room ids well under servers' 8 KB limits
CONTEXT_DAYS = 7  # meetings this far around the window tell an event's planned room
AUTH_HINT = "check SIGNAGE_UNITIME_USER and SIGNAGE_UNITIME_PASSWORD (or SIGNAGE_UNITIME_TOKEN)"
URL_HINT = "is SIGNAGE_UNITIME_URL the UniTime base (usually ending in /UniTime)?"
_TOKEN_IN_TEXT = re.compile(r"((?:[?&]|%3F|%26)token(?:=|%3D))[^&\s'\"]*", re.IGNORECASE)


class UnitimeSource:
    """Reads the meetings of a university's rooms from UniTime's events API."""

    name = "unitime"

    def __init__(self, base_url: str, tz: ZoneInfo, session: requests.Session, *,
                 user: str | None = None, password: str | None = None,
                 token: str | None = None, term: str | None = None,
                 rooms: Sequence[str] | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._tz = tz
        self._session = session
        self._auth = (user, password) if user and password else None
        self._token = None if self._auth else token or None
        if self._token:
            _hide_tokens_in_urllib3_logs()
        self._term_setting = term or None
        self._room_setting = list(rooms) if rooms else None
        self._terms: list[Term] | None = None  # api/roles, fetched at full loads
        self._rooms: tuple[str, dict[int, str], set[int] | None] | None = None  # per term
        self._context: list[Meeting] | None = None  # meetings around the window, last asked
        self._unknown: set[str] = set()  # approval statuses and event types logged already

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], tz: ZoneInfo,
                      session: requests.Session) -> UnitimeSource:
        """Build the source from the `UNITIME_*` settings."""
        rooms = settings.get("UNITIME_ROOMS")
        return cls(str(settings["UNITIME_URL"]), tz, session,
                   user=settings.get("UNITIME_USER"), password=settings.get("UNITIME_PASSWORD"),
                   token=settings.get("UNITIME_TOKEN"), term=settings.get("UNITIME_TERM"),
                   rooms=room_names(str(rooms)) if rooms else None)

    def fetch_window(self, start: date, end: date) -> Batch:
        """Return every meeting from `start` to `end`, the term and rooms looked up afresh."""
        return self._fetch(start, end, refresh=True)

    def fetch_changes(self, start: date, end: date, since: datetime) -> Changes:
        """Return the whole range as a complete answer (UniTime has no deltas)."""
        return Changes(self._fetch(start, end, refresh=False), frozenset(), complete=True)

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def _fetch(self, start: date, end: date, refresh: bool) -> Batch:
        term = self._term(start, refresh)
        room_table, wanted = self._room_list(term, refresh)
        # The weeks around the window only tell planned rooms: asked for at full loads and day
        # changes, kept in between, so a quiet cycle asks for the window alone.
        wide = refresh or self._context is None
        context_s = timedelta(days=CONTEXT_DAYS if wide else 0)
        first, last = start - context_s, end + context_s
        fetched: list[Meeting] = []
        chunks = [None] if wanted is None else [
            sorted(wanted)[i:i + MAX_ROOMS_PER_REQUEST]
            for i in range(0, len(wanted), MAX_ROOMS_PER_REQUEST)]
        for chunk in chunks:
            for mode in (None, CANCELLED_MODE):
                fetched += parse_events(self._get(EVENTS, self._events_query(
                    term, first, last, chunk, mode)), self._tz, self._unknown)
        if wide:
            self._context = [m for m in fetched if not start <= m.start.date() <= end]
        context = self._context or []
        meetings = fetched + [m for m in context if not start <= m.start.date() <= end]
        periods, names = to_periods(meetings, start, end, wanted)
        names["rooms"] = {**room_table, **names.get("rooms", {})}
        return Batch(periods, {t: n for t, n in names.items() if n}, school=term, plain=True,
                     vanished_cancelled=False)

    def _term(self, day: date, refresh: bool) -> str:
        """Return the configured term, else the session covering `day` (api/roles)."""
        if self._term_setting is not None:
            return self._term_setting
        if refresh or self._terms is None:
            self._terms = parse_terms(self._get(ROLES, []))
        return choose_term(self._terms, day).reference

    def _room_list(self, term: str, refresh: bool) -> tuple[dict[int, str], set[int] | None]:
        """Return the rooms' names {id: name} and the ids to ask for (None: every room)."""
        if refresh or self._rooms is None or self._rooms[0] != term:
            table = parse_rooms(self._get(ROOMS, [(TERM_PARAM, term)]))
            wanted = None
            if self._room_setting is not None:
                by_name = {_folded(name): i for i, name in table.items()}
                missing = [n for n in self._room_setting if _folded(n) not in by_name]
                if missing:
                    raise SourceError(f"SIGNAGE_UNITIME_ROOMS names rooms that term {term} does "
                                      f"not have: {', '.join(missing)}")
                wanted = {by_name[_folded(n)] for n in self._room_setting}
                table = {i: table[i] for i in wanted}
            self._rooms = (term, table, wanted)
        return self._rooms[1], self._rooms[2]

    def _events_query(self, term: str, first: date, last: date, rooms: list[int] | None,
                      mode: str | None) -> list[tuple[str, str]]:
        query = [(TERM_PARAM, term), RESOURCE_TYPE, (FROM_CHIP, first.strftime(CHIP_DATE_FORMAT)),
                 (TO_CHIP, last.strftime(CHIP_DATE_FORMAT))]
        query += [(ROOM_CHIP, str(i)) for i in rooms or ()]
        return query + ([(MODE_CHIP, mode)] if mode else [])

    def _get(self, endpoint: str, query: list[tuple[str, str]]) -> Any:
        path = f"{API}/{endpoint}"
        what = f"GET {_path_of(self._base)}{path}"
        params = query + ([(TOKEN_PARAM, self._token)] if self._token else [])
        try:
            response = self._session.get(self._base + path, params=params, auth=self._auth,
                                         allow_redirects=False)
        except SourceError as exc:
            # The session's message names the path only; the chained error's text holds the
            # URL, query and token included: leave it behind.
            kind = SourceUnavailable if isinstance(exc, SourceUnavailable) else SourceError
            raise kind(str(exc), exc.retry_after_s) from None
        _raise_for(response, what)
        return json_of(response, what)


def _raise_for(response: requests.Response, what: str) -> None:
    """Raise the error a non-2xx answer stands for (never quoting the body or the URL)."""
    status = response.status_code
    if status == 401:
        raise SourceAuthError(f"{what}: HTTP 401, the credentials were refused", hint=AUTH_HINT)
    if status == 403:
        raise SourceAuthError(f"{what}: HTTP 403, refused (the API user needs the Api Retrieve "
                              "Roles, Rooms and Events permissions)", hint=AUTH_HINT)
    if status == 404:
        raise SourceError(f"{what}: HTTP 404; {URL_HINT}")
    raise_for_status(response, what)


def _folded(name: str) -> str:
    return " ".join(name.split()).casefold()


def _path_of(url: str) -> str:
    return requests.utils.urlparse(url).path.rstrip("/")


class _HideTokens(logging.Filter):
    """Rewrite a log record so that no `token=` query value shows in its text."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Hide token values in the record's message; always let it pass."""
        text = record.getMessage()
        hidden = _TOKEN_IN_TEXT.sub(r"\1(hidden)", text)
        if hidden != text:
            record.msg, record.args = hidden, None
        return True


def _hide_tokens_in_urllib3_logs() -> None:
    # urllib3 logs request URLs (with their query) on every request at DEBUG and on retries
    # after a broken connection at WARNING; a token in the query would land in the log.
    for name in ("urllib3.connectionpool", "urllib3.util.retry"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _HideTokens) for f in logger.filters):
            logger.addFilter(_HideTokens())
