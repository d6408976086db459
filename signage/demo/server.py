"""A fake WebUntis v3 server on a loopback port: the demo school's upstream and the tests' one.

It speaks the protocol `signage.sources.untis` documents: the client-credentials token endpoint
(HTTP Basic, tokens that expire), `GET …/v3/timetable` with `start`/`end` (date-times; a period
belongs when it overlaps them) and `dateLastModifiedAfter` (UTC), `GET …/v3/timetable/
deleted-periods`, v3 error bodies (a validation error for a parameter that is not a date-time),
gzip. Options choose among what the spec leaves open (`signage.demo.untis_v3`): the shape of
the deleted-periods body, a page size it imposes (`page_limit`), a time grid with `unitOfDay`,
empty lists sent as `null` or left out.
It records every request (never a credential), with the bytes of its body and of the answer's
body as sent (gzipped when asked) and the time it took to build the answer, and can inject
faults: statuses with `Retry-After`, hangs, malformed or truncated bodies.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from signage.demo.served import (
    MAX_RECORDED,
    Fault,
    Handler,
    Recorded,
    Served,
    basic_credentials,
    error_body,
)
from signage.demo.untis_v3 import (
    DELETED_SHAPES,
    InvalidQuery,
    Spans,
    header_filter,
    page_of,
    read_query,
    shape_empty,
    time_grids,
    with_grid,
)

API = "/WebUntis/api/rest/extern/v3"
ENDPOINTS = {"token", "timetable", "deleted"}


class FakeUntis(Served):
    """Holds a school's periods and serves them over HTTP like WebUntis v3."""

    endpoints = ENDPOINTS

    def __init__(
        self,
        tz: ZoneInfo,
        tenant: str = "demo",
        client_id: str = "signage-demo",
        client_secret: str = "demo-secret",  # noqa: S107 - the fake server's own credentials
        token_ttl_s: int = 180,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        school: str = "Demo-Gymnasium",
    ) -> None:
        self.tz = tz
        self.tenant = tenant
        self.credentials = (client_id, client_secret)
        self.token_ttl_s = token_ttl_s
        self.clock = clock
        self.school = school
        self.master: dict[str, dict[int, dict[str, Any]]] = {}
        self.periods: dict[int, dict[str, Any]] = {}
        self.modified: dict[int, datetime] = {}  # period id -> UTC instant of its last change
        self.deleted: list[tuple[datetime, int]] = []
        self.requests: deque[Recorded] = deque(maxlen=MAX_RECORDED)
        self.faults: list[Fault] = []
        self.day_loader: Callable[[date], None] | None = None
        self._loaded_days: set[date] = set()
        self._tokens: dict[str, float] = {}  # token -> monotonic expiry
        self._ids = itertools.count(10**9)
        self.lock = threading.RLock()
        # What the spec leaves open, chosen per test (see signage.demo.untis_v3):
        self.deleted_shape = "array"  # a key of DELETED_SHAPES
        self.page_limit = 0  # > 0: answers hold at most this many periods, paged by `offset`
        self.time_grid: Sequence[tuple[clock_time, clock_time]] | None = None  # units 1, 2, …
        self.unit_of_day = True  # with a time grid: periods carry `unitOfDay` too
        self.empty_lists = "list"  # "list", "null" or "omitted": how empty optional lists go
        self._spans = Spans(tz)

    # --- data -------------------------------------------------------------------------------
    def add_names(self, category: str, names: dict[int, str]) -> None:
        """Add master data entries `{id: displayName}` (category as in masterData)."""
        table = self.master.setdefault(category, {})
        for ref_id, name in names.items():
            table[ref_id] = {"id": ref_id, "externKey": name, "displayName": name}

    def put_period(self, period: dict[str, Any]) -> None:
        """Create or replace a period (v3 JSON shape); stamps its `modified` time."""
        with self.lock:
            now = self.clock()
            period = dict(period, modified=self._local(now))
            self.periods[period["id"]] = period
            self.modified[period["id"]] = now

    def update_period(self, period_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a period and stamp it modified; return the new period."""
        with self.lock:
            self.put_period(dict(self.periods[period_id], **fields))
            return self.periods[period_id]

    def delete_period(self, period_id: int) -> None:
        """Delete a period; deleted-periods reports it from now on."""
        with self.lock:
            if self.periods.pop(period_id, None) is not None:
                self.modified.pop(period_id, None)
                self.deleted.append((self.clock(), period_id))

    def backdate(self, period_ids: list[int], when: datetime) -> None:
        """Set the `modified` time of periods, as if they had been planned at `when`."""
        with self.lock:
            for pid in period_ids:
                self.periods[pid]["modified"] = self._local(when)
                self.modified[pid] = when

    def new_id(self) -> int:
        """Return a fresh period id."""
        return next(self._ids)

    def expire_tokens(self) -> None:
        """Invalidate every issued token, as the upstream does when they run out."""
        with self.lock:
            self._tokens.clear()

    # --- HTTP -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Return the base URL (the part before /WebUntis)."""
        return self._origin()

    def start(self, port: int = 0) -> FakeUntis:
        """Serve on 127.0.0.1 (a free port unless given) in a daemon thread."""
        self._serve(Handler, "fake-untis", port)
        return self

    # --- answers ----------------------------------------------------------------------------
    def answer(self, method: str, path: str, query: dict, headers: dict, form: dict) -> tuple:
        """Return (status, headers, JSON-able body or bytes, endpoint) for one request."""
        token_path = f"/WebUntis/api/sso/v3/{self.tenant}/token"
        if method == "POST" and path == token_path:
            return (*self._token(headers, form), "token")
        if method == "GET" and path in (f"{API}/timetable", f"{API}/timetable/deleted-periods"):
            endpoint = "timetable" if path.endswith("/timetable") else "deleted"
            if not self._authorized(headers):
                error = error_body("UNAUTHORIZED", "token missing, invalid or expired")
                return 401, {}, error, endpoint
            if endpoint == "timetable":
                return (*self._timetable(query), endpoint)
            return (*self._deleted(query), endpoint)
        return 404, {}, error_body("NOT_FOUND", f"no endpoint {method} {path}"), "other"

    def _token(self, headers: dict, form: dict) -> tuple[int, dict, Any]:
        if form.get("grant_type") != ["client_credentials"]:
            return 400, {}, {"error": "unsupported_grant_type"}
        if basic_credentials(headers.get("authorization", "")) != self.credentials:
            return 401, {}, {"error": "invalid_client", "error_description": "bad credentials"}
        token = secrets.token_urlsafe(16)
        now = time.monotonic()
        self._tokens = {t: expiry for t, expiry in self._tokens.items() if expiry > now}
        self._tokens[token] = now + self.token_ttl_s
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl_s}
        return 200, {}, body

    def _authorized(self, headers: dict) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        expiry = self._tokens.get(token) if scheme == "Bearer" else None
        return expiry is not None and time.monotonic() < expiry

    def _timetable(self, query: dict) -> tuple[int, dict, Any]:
        try:
            asked = read_query(query, self.tz, timetable=True)
        except InvalidQuery as exc:
            return 400, {}, _invalid(exc)
        start, end, since = asked.start, asked.end, asked.since
        assert start is not None and end is not None  # noqa: S101 - read_query requires them
        if self.day_loader is not None and since is None:
            for offset in range((end.date() - start.date()).days + 1):
                day = start.date() + timedelta(days=offset)
                if day not in self._loaded_days:
                    self._loaded_days.add(day)
                    self.day_loader(day)
        found = [
            (span, pid) for pid, p in self.periods.items()
            # the cheap test first: deltas are small
            if (since is None or self.modified[pid] > since)
            and ((span := self._spans(p)) is None or (span[0] <= end and span[1] >= start))
        ]
        chosen, limit = page_of(found, asked, self.page_limit)
        periods = [with_grid(self.periods[pid], span, self.time_grid, self.unit_of_day)
                   for span, pid in chosen]
        body = {
            "headerData": {
                "created": self._local(self.clock()),
                "school": {"tenantId": self.tenant, "name": self.school},
                "filter": header_filter(query, limit, asked.offset),
            },
            "masterData": self._referenced_names(periods),
            "timetableData": {"timeGrids": time_grids(self.time_grid), "periods": periods},
        }
        return 200, {}, shape_empty(body, self.empty_lists)

    def _deleted(self, query: dict) -> tuple[int, dict, Any]:
        try:
            since = read_query(query, self.tz, timetable=False).since
        except InvalidQuery as exc:
            return 400, {}, _invalid(exc)
        ids = [pid for when, pid in self.deleted if since is not None and when > since]
        return 200, {}, DELETED_SHAPES[self.deleted_shape](ids)

    def _referenced_names(self, periods: list[dict]) -> dict[str, list[dict]]:
        master: dict[str, list[dict]] = {}
        for category, table in self.master.items():
            key = "studentgroups" if category == "studentGroups" else category
            used = {r["id"] for p in periods for r in p.get(key) or ()}
            master[category] = [table[i] for i in sorted(used) if i in table]
        return master

    def _local(self, instant: datetime) -> str:
        return instant.astimezone(self.tz).replace(tzinfo=None).isoformat(timespec="seconds")


def _invalid(exc: InvalidQuery) -> dict[str, Any]:
    return dict(error_body("VALIDATION_ERROR", f"invalid parameters: {exc}"),
                validationErrors=exc.errors)
