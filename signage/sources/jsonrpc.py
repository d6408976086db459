"""WebUntis classic JSON-RPC API (`SIGNAGE_SOURCE=jsonrpc`), the one python-webuntis speaks.

Wire: `POST {URL}/WebUntis/jsonrpc.do?school={school}` with a JSON-RPC 2.0 body
`{id, method, params, jsonrpc: "2.0"}`; the answer echoes `id` and holds `result`, or
`error: {code, message}`. `authenticate {user, password, client}` answers a `sessionId`, sent as
the `JSESSIONID` cookie on every later call; `logout` ends the session. Dates are `YYYYMMDD` and
times `HHMM` integers, school-local (see `jsonrpc_parse` for how periods map to ours).

One cycle = one session: authenticate, `getLatestImportTime` (ms since the epoch of the school's
last Untis import), and when it did not move since the window was last fetched, nothing more:
an unchanged upstream costs authenticate + getLatestImportTime + logout (and, once every
`MAX_QUIET_S`, a fetch anyway: see the assumptions below). Otherwise master data
(`getKlassen`, `getTeachers`, `getRooms`, `getSubjects`) and `getTimetable` per active class
(periods of several classes come once per class and are merged by id), returned as `complete`
`Changes`, so the engine drops the periods that vanished. `fetch_window` always fetches.
`logout` ends every cycle, also a failed one (best effort), except when the upstream could not
be reached at all: one more request would only wait for another timeout.

Lesson numbers: `getTimegridUnits` (`jsonrpc_grid`) is asked before the timetables once per
`fetch_window` (and by a fresh source's first fetch) and kept for the deltas. A refusal (an error
object other than -8520/-8504/-8998, e.g. -8509) or an unusable answer is logged once and not
asked again until the next `fetch_window`: the boards count the day's start times instead.

What "fetched" means: the import time counts as synced only once the engine applied the
answer. The engine advances its cursor (`since`) only after it stored a cycle's result, so a
`since` other than the one a fetch was made with proves that fetch landed; the same `since`
again (the store refused the last snapshot) fetches again. A restart forgets it: fetch again.

Errors: -8520 (not logged in) authenticates again once per cycle and repeats the call; -8504
(bad credentials) is a `SourceAuthError`, so the engine's circuit breaker pauses after a few in
a row (WebUntis locks an account after repeated failed logins); -8998 (temporarily blocked)
stops the cycle without a retry as a `SourceError` with `retry_after_s = BLOCKED_RETRY_S`. Not a
`SourceAuthError`: the block says nothing new about the secret, lifts by itself, and counting it
would pause the sync for an operator who has nothing to fix. Transport trouble, 429 and 5xx are
`SourceUnavailable`; anything unusable one `SourceError`. Redirects are never followed (the
body carries the password). Neither password nor session id reaches a log line or an error.

Why our own client, not the `webuntis` package: it sends through its own HTTP stack, so our
session factory's timeouts, Retry-After handling, request counting and redirect refusal would
not apply; some releases log the password at debug level; it maps few error codes (not -8998).

Confirmed (python-webuntis and other public clients): the wire format above, the id echo,
-8520 and -8504, element type 1 = class, `getTimetable`'s `options` form with `element`,
`show*` flags and `*Fields`, dates as YYYYMMDD numbers (what we send; other clients send the 8
digits as text) and times as HHMM numbers, codes cancelled/irregular, lstypes ls/oh/sb/bs/ex.
`getTimegridUnits` without parameters, `{day, timeUnits}` with day 1 = Sunday.
Accepted where the reference is silent: `kl`/`te`/`su`/`ro` null, missing or empty; an unknown
`code` or `lstype` (a newer server) keeps its period, shown as changed and logged once per
value. Assumed: JSON-RPC errors come with HTTP 200; -8998 is "temporarily blocked", -8509 "no
right"; `getKlassen` without a school year lists the current one's classes; the time grid does
not change between full loads; every change the boards need moves `getLatestImportTime`.
Should changes made in WebUntis itself (rather than imported from Untis) not move it, the
window is fetched anyway once it is `MAX_QUIET_S` old: a quiet upstream costs one full fetch per
half hour, not a stale board until the nightly reload.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests

from signage.domain.model import Period
from signage.sources.base import Batch, Changes, SourceError, SourceUnavailable
from signage.sources.jsonrpc_grid import METHOD as GRID_METHOD
from signage.sources.jsonrpc_grid import TimeGrid
from signage.sources.jsonrpc_parse import (
    BLOCKED_RETRY_S,
    RefusedError,
    SessionLostError,
    active_ids,
    decode,
    merge_period,
    parse_names,
    parse_timetable,
    rpc_error,
    timetable_params,
)

__all__ = ["BLOCKED_RETRY_S", "MAX_QUIET_S", "JsonRpcSource"]

log = logging.getLogger(__name__)

ENDPOINT_PATH = "/WebUntis/jsonrpc.do"
CLIENT_NAME = "signage"
# Fetch the window at least this often even when the import time stood still (see the docstring).
MAX_QUIET_S = 1800.0
MASTER_DATA = {
    "classes": "getKlassen",
    "teachers": "getTeachers",
    "rooms": "getRooms",
    "subjects": "getSubjects",
}


@dataclass(frozen=True)
class _Fetched:
    """The import time a range was fetched at, and the engine's cursor at that moment."""

    import_ms: int
    start: date
    end: date
    since: datetime | None  # None: a full load (fetch_window)
    at: float  # our monotonic clock when fetched


class JsonRpcSource:
    """Reads a school's timetable from a classic WebUntis server over JSON-RPC."""

    name = "jsonrpc"

    def __init__(
        self,
        base_url: str,
        school: str,
        user: str,
        password: str,
        tz: ZoneInfo,
        session: requests.Session,
        client: str = CLIENT_NAME,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        del tz  # JSON-RPC dates and times are school-local already: nothing to convert
        self._url = base_url.rstrip("/") + ENDPOINT_PATH
        # Schools are often copied from a URL, where a space is a "+".
        self._school = school.replace("+", " ")
        self._user = user
        self._password = password
        self._client = client
        self._session = session
        self._ids = itertools.count(1)
        self._session_id: str | None = None
        self._renewed = False  # authenticated again after -8520 in this cycle
        self._unreachable = False  # a request of this cycle never got an answer
        self._fetched: _Fetched | None = None
        self._monotonic = monotonic
        self._unknown: set[str] = set()  # codes and lesson types logged once already
        self._grid = TimeGrid()

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], tz: ZoneInfo, session: requests.Session
    ) -> JsonRpcSource:
        """Build the source from the `JSONRPC_*` settings."""
        return cls(
            settings["JSONRPC_URL"],
            settings["JSONRPC_SCHOOL"],
            settings["JSONRPC_USER"],
            settings["JSONRPC_PASSWORD"],
            tz,
            session,
        )

    def fetch_window(self, start: date, end: date) -> Batch:
        """Return every period from `start` to `end` inclusive."""
        self._grid.forget()
        with self._logged_in():
            latest = self._latest_import()
            batch = self._fetch(start, end)
        self._fetched = _Fetched(latest, start, end, since=None, at=self._monotonic())
        return batch

    def fetch_changes(self, start: date, end: date, since: datetime) -> Changes:
        """Return nothing when the import time stood still, else the whole range (complete)."""
        with self._logged_in():
            latest = self._latest_import()
            if self._unchanged(latest, start, end, since):
                return Changes(Batch(periods=(), school=self._school), deleted=frozenset())
            batch = self._fetch(start, end)
        self._fetched = _Fetched(latest, start, end, since, at=self._monotonic())
        return Changes(batch, deleted=frozenset(), complete=True)

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def _unchanged(self, latest: int, start: date, end: date, since: datetime) -> bool:
        fetched = self._fetched
        return (
            fetched is not None
            and fetched.import_ms == latest
            and fetched.start <= start
            and end <= fetched.end
            and fetched.since != since  # the engine stored that fetch (module docstring)
            and self._monotonic() - fetched.at < MAX_QUIET_S
        )

    def _fetch(self, start: date, end: date) -> Batch:
        names: dict[str, dict[int, str]] = {}
        classes: list[int] = []
        for category, method in MASTER_DATA.items():
            result = self._call(method)
            names[category] = parse_names(result, method)
            if category == "classes":
                classes = active_ids(result, method)
        if not classes:
            # A school without classes is a broken answer (or a wrong account), not an empty plan.
            raise SourceError("getKlassen answered no active class; keeping the last good copy")
        if not self._grid.loaded:
            self._load_grid()
        periods: dict[int, Period] = {}
        in_elements: dict[str, dict[int, str]] = {}
        for class_id in classes:
            answer = self._call("getTimetable", timetable_params(class_id, start, end))
            for period in parse_timetable(answer, in_elements, self._unknown):
                known = periods.get(period.id)
                periods[period.id] = period if known is None else merge_period(known, period)
        for category, table in in_elements.items():
            names[category] = {**table, **names.get(category, {})}  # master data wins
        ordered = sorted(map(self._grid.number, periods.values()), key=lambda p: (p.start, p.id))
        return Batch(periods=ordered, names=names, school=self._school)

    def _load_grid(self) -> None:
        try:
            self._grid.read(self._call(GRID_METHOD))
        except RefusedError as exc:  # only numbers the boards: counting stands in
            self._grid.refused(f"refused ({str(exc).removeprefix(f'{GRID_METHOD}: ')})")

    def _latest_import(self) -> int:
        value = self._call("getLatestImportTime")
        if isinstance(value, bool) or not isinstance(value, int):
            raise SourceError(f"getLatestImportTime answered {str(value)[:40]!r}, not a number")
        return value

    @contextmanager
    def _logged_in(self) -> Iterator[None]:
        self._renewed = self._unreachable = False
        try:
            self._authenticate()
            yield
        finally:
            self._logout()

    def _authenticate(self) -> None:
        self._session_id = None
        params = {"user": self._user, "password": self._password, "client": self._client}
        result = self._rpc("authenticate", params)
        session_id = result.get("sessionId") if isinstance(result, dict) else None
        if not isinstance(session_id, str) or not session_id:
            raise SourceError("authenticate answered without a sessionId")
        self._session_id = session_id

    def _logout(self) -> None:
        if self._session_id is None:
            return
        try:
            if not self._unreachable:
                self._rpc("logout", {})
        except SourceError as exc:  # best effort: the session expires upstream by itself
            log.info("jsonrpc: logout failed: %s", exc)
        finally:
            self._session_id = None

    def _call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return self._rpc(method, params or {})
        except SessionLostError:
            if self._renewed:  # a second -8520 right after logging in: no login loop
                raise
            self._renewed = True
            log.info("jsonrpc: session lost during %s; authenticating again", method)
            self._authenticate()
            return self._rpc(method, params or {})

    def _rpc(self, method: str, params: dict[str, Any]) -> Any:
        request_id = str(next(self._ids))
        body = {"id": request_id, "method": method, "params": params, "jsonrpc": "2.0"}
        headers = {}
        if method != "authenticate" and self._session_id is not None:
            headers["Cookie"] = f"JSESSIONID={self._session_id}"
        log.debug("jsonrpc: %s", method)
        try:
            response = self._session.post(self._url, params={"school": self._school}, json=body,
                                          headers=headers, allow_redirects=False)
        except SourceUnavailable as exc:
            self._unreachable = True
            raise SourceUnavailable(f"{method}: {exc}", exc.retry_after_s) from None
        except SourceError as exc:  # a redirect the session refused to follow
            raise SourceError(f"{method}: {exc}") from None
        except requests.RequestException as exc:  # a session from outside our factory
            self._unreachable = True
            raise SourceUnavailable(f"{method}: {type(exc).__name__}") from None
        finally:
            self._forget_cookie()
        answer = decode(response, method)
        if not isinstance(answer, dict):
            raise SourceError(f"{method}: answer is {type(answer).__name__}, not a JSON-RPC object")
        if answer.get("id") != request_id:
            raise SourceError(f"{method}: answer's id does not match the request's")
        if answer.get("error") is not None:
            raise rpc_error(method, answer["error"], self._scrub)
        if "result" not in answer:
            raise SourceError(f"{method}: answer holds neither result nor error")
        return answer["result"]

    def _scrub(self, text: str) -> str:
        """Return `text` without our password or session id (an upstream might echo them)."""
        for secret in (self._password, self._session_id):
            if secret:
                text = text.replace(secret, "***")
        return " ".join(text.split())

    def _forget_cookie(self) -> None:
        # The session id lives in one attribute for one cycle; requests' cookie jar would keep
        # it after logout and send it along with the next authenticate.
        jar = self._session.cookies
        for cookie in [c for c in jar if c.name == "JSESSIONID"]:
            jar.clear(cookie.domain, cookie.path, cookie.name)

