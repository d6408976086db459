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

import base64
import gzip
import itertools
import json
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

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
MAX_RECORDED = 10_000  # the demo runs for months: keep the newest requests only


@dataclass
class Fault:
    """A misbehaviour for the next `times` requests to `endpoint` (token, timetable, deleted)."""

    endpoint: str
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # None: a v3 error body matching the status
    delay_s: float = 0.0  # sleep before answering (a hang past the client's read timeout)
    truncate: bool = False  # send half of a gzip body
    times: int = 1


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    endpoint: str
    params: dict[str, list[str]]
    bearer: str | None
    status: int
    at: float  # time.monotonic() when the request arrived
    gzip: bool  # the client asked for gzip
    request_bytes: int = 0  # the request's body
    response_bytes: int = 0  # the answer's body as sent (gzipped when asked; 0 for HEAD)
    answer_s: float = 0.0  # from arrival until the body was ready to send (the server's work)


class Served:
    """What every fake upstream shares: its handler served on loopback in a daemon thread, and
    the queue of injected faults (`inject`, `take_fault`) for the endpoints it names."""

    endpoints: Collection[str] = ()
    lock: Any  # the fake's threading.RLock()
    faults: list[Fault]
    requests: deque[Recorded]
    _httpd: _QuietServer | None = None

    def inject(self, fault: Fault) -> None:
        """Queue a fault for the next requests to one of `endpoints`."""
        if not self._knows(fault.endpoint):
            raise ValueError(f"unknown endpoint {fault.endpoint!r}")
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, endpoint: str) -> Fault | None:
        """Return the next queued fault for an endpoint, counting it down."""
        for fault in self.faults:
            if self._hits(fault, endpoint):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def count(self, endpoint: str) -> int:
        """Return how many requests an endpoint received."""
        return sum(1 for r in self.requests if r.endpoint == endpoint)

    def _knows(self, endpoint: str) -> bool:
        return endpoint in self.endpoints

    def _hits(self, fault: Fault, endpoint: str) -> bool:
        return fault.endpoint == endpoint

    def _origin(self) -> str:
        """Return `http://127.0.0.1:<port>`."""
        assert self._httpd is not None, "server not started"  # noqa: S101 - programming error
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _serve(self, handler: type[BaseHTTPRequestHandler], name: str, port: int) -> None:
        """Serve `handler` (given this fake as `fake`) on 127.0.0.1, a free port unless given.
        A short poll makes stop() quick: tests start and stop a fake each."""
        self._httpd = _QuietServer(("127.0.0.1", port),
                                   type("Handler", (handler,), {"fake": self}))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         name=name, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


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
        self._serve(_Handler, "fake-untis", port)
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
                error = _error("UNAUTHORIZED", "token missing, invalid or expired")
                return 401, {}, error, endpoint
            if endpoint == "timetable":
                return (*self._timetable(query), endpoint)
            return (*self._deleted(query), endpoint)
        return 404, {}, _error("NOT_FOUND", f"no endpoint {method} {path}"), "other"

    def _token(self, headers: dict, form: dict) -> tuple[int, dict, Any]:
        if form.get("grant_type") != ["client_credentials"]:
            return 400, {}, {"error": "unsupported_grant_type"}
        if _basic(headers.get("authorization", "")) != self.credentials:
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


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hung up (the point of a hang fault); report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeUntis
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY each keep-alive answer waits
    # for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def log_message(self, *args: Any) -> None:
        """Stay quiet; requests are recorded instead."""

    def _serve(self, method: str) -> None:
        arrived = time.monotonic()
        fake = self.fake
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode()) if length else {}
        headers = {k.lower(): v for k, v in self.headers.items()}
        with fake.lock:
            status, extra, body, endpoint = fake.answer(method, url.path, query, headers, form)
            fault = fake.take_fault(endpoint)
        truncate = False
        if fault is not None:
            time.sleep(fault.delay_s)
            status, extra, truncate = fault.status, fault.headers, fault.truncate
            if status >= 400:
                body = fault.body or _error("FAULT", f"injected HTTP {status}")
            elif fault.body is not None:
                body = fault.body
        scheme, _, token = headers.get("authorization", "").partition(" ")
        bearer = token if scheme == "Bearer" else None
        encoded = self._encode(body, truncate)
        with fake.lock:
            gzip_asked = "gzip" in headers.get("accept-encoding", "")
            fake.requests.append(Recorded(method, endpoint, query, bearer, status, arrived,
                                          gzip_asked, length, _sent_bytes(method, encoded),
                                          time.monotonic() - arrived))
        self._send(status, extra, encoded, truncate)

    def _encode(self, body: Any, truncate: bool) -> _Encoded:
        """Return the body as it goes on the wire (encoded before sending, to count it)."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        gzipped = "gzip" in (self.headers.get("Accept-Encoding") or "") or truncate
        if gzipped:
            data = gzip.compress(data)
            if truncate:
                data = data[: len(data) // 2]
        return _Encoded(data, gzipped)

    def _send(self, status: int, extra: dict, body: Any, truncate: bool) -> None:
        encoded = body if isinstance(body, _Encoded) else self._encode(body, truncate)
        data = encoded.data
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if encoded.gzipped:
            self.send_header("Content-Encoding", "gzip")
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@dataclass(frozen=True)
class _Encoded:
    data: bytes
    gzipped: bool


def _sent_bytes(method: str, encoded: _Encoded) -> int:
    return 0 if method == "HEAD" else len(encoded.data)


def _error(code: str, message: str) -> dict[str, str]:
    return {"errorCode": code, "errorMessage": message,
            "requestId": secrets.token_hex(8), "traceId": secrets.token_hex(8)}


def _invalid(exc: InvalidQuery) -> dict[str, Any]:
    return dict(_error("VALIDATION_ERROR", f"invalid parameters: {exc}"),
                validationErrors=exc.errors)


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return None
    return user, password
