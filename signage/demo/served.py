"""What the fake upstream servers share: serving a handler on loopback, the queue of injected
faults (statuses with `Retry-After`, hangs, malformed or truncated bodies), the record of every
request (never a credential) with the bytes sent and the time the answer took, and the v3
error body. The demo's WebUntis v3 fake (`server`) and the tests' fakes build on it."""

from __future__ import annotations

import base64
import gzip
import json
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
    query_string: str = ""  # as sent (a space as %20 or +)


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


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hung up (the point of a hang fault); report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """Serves a fake's `answer(method, path, query, headers, body)`: applies its queued faults,
    records the request, sends JSON (gzipped when asked). A fake changes how the request body is
    read (`read_body`, a form by default), what an injected error answers (`fault_body`) and the
    type of a body that is bytes (`bytes_type`)."""

    fake: Any  # the fake this handler serves (set by `Served._serve`)
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
        sent = self.read_body(self.rfile.read(length) if length else b"")
        headers = {k.lower(): v for k, v in self.headers.items()}
        with fake.lock:
            status, extra, body, endpoint = fake.answer(method, url.path, query, headers, sent)
            fault = fake.take_fault(endpoint)
        truncate = False
        if fault is not None:
            time.sleep(fault.delay_s)
            status, extra, truncate = fault.status, fault.headers, fault.truncate
            if fault.body is not None:
                body = fault.body
            elif status >= 400:
                body = self.fault_body(status)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        bearer = token if scheme == "Bearer" else None
        encoded = self._encode(body, truncate)
        with fake.lock:
            gzip_asked = "gzip" in headers.get("accept-encoding", "")
            fake.requests.append(Recorded(method, endpoint, query, bearer, status, arrived,
                                          gzip_asked, length, _sent_bytes(method, encoded),
                                          time.monotonic() - arrived, url.query))
        self._send(status, extra, encoded, truncate)

    def read_body(self, raw: bytes) -> Any:
        """Return the request body as the fake's `answer` takes it: a form."""
        return parse_qs(raw.decode()) if raw else {}

    def fault_body(self, status: int) -> Any:
        """Return the body of an injected error without a body of its own: a v3 error."""
        return error_body("FAULT", f"injected HTTP {status}")

    def bytes_type(self, body: bytes) -> str:
        """Return the Content-Type of a body given as bytes."""
        return "application/json"

    def _encode(self, body: Any, truncate: bool) -> _Encoded:
        """Return the body as it goes on the wire (encoded before sending, to count it)."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        kind = self.bytes_type(body) if isinstance(body, bytes) else "application/json"
        gzipped = "gzip" in (self.headers.get("Accept-Encoding") or "") or truncate
        if gzipped:
            data = gzip.compress(data)
            if truncate:
                data = data[: len(data) // 2]
        return _Encoded(data, gzipped, kind)

    def _send(self, status: int, extra: dict, body: Any, truncate: bool) -> None:
        encoded = body if isinstance(body, _Encoded) else self._encode(body, truncate)
        data = encoded.data
        self.send_response(status)
        if not any(name.lower() == "content-type" for name in extra):
            self.send_header("Content-Type", encoded.content_type)
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
    content_type: str = "application/json"


def _sent_bytes(method: str, encoded: _Encoded) -> int:
    return 0 if method == "HEAD" else len(encoded.data)


def error_body(code: str, message: str) -> dict[str, str]:
    return {"errorCode": code, "errorMessage": message,
            "requestId": secrets.token_hex(8), "traceId": secrets.token_hex(8)}


def basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return None
    return user, password
