"""The upstream session's use of the environment: proxies and NO_PROXY, read once per origin."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from signage.sources.http import make_session

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class _Proxy(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def proxy(monkeypatch):
    """A loopback HTTP proxy noting the URLs it is asked for, named by HTTP_PROXY."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    _Proxy.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    yield _Proxy.seen
    server.shutdown()
    server.server_close()


def test_requests_go_through_the_environments_proxy_every_time(fake, proxy):
    session = make_session()
    for _ in range(3):  # the environment is read at the first request, then kept
        assert session.get(f"{fake.url}/ping").status_code == 200
    assert proxy == [f"{fake.url}/ping"] * 3
    session.close()


def test_no_proxy_is_applied_per_upstream_origin(fake, proxy, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "localhost")
    direct, proxied = fake.url.replace("127.0.0.1", "localhost"), fake.url
    session = make_session()
    for _ in range(2):  # one session, two origins: each keeps its own settings
        assert session.get(f"{direct}/ping").status_code == 404  # the fake knows no /ping
        assert session.get(f"{proxied}/ping").status_code == 200  # the proxy answers
    assert proxy == [f"{proxied}/ping"] * 2
    session.close()
