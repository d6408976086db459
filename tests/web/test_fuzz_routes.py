"""Hostile input on every route: names in URLs, query parameters, If-None-Match and cookies.

Every answer must be 2xx, 3xx or 4xx with a readable message (an error page with its message,
a JSON `error`, or a plain text line), never a 5xx, never a traceback, and never a hostile
value echoed unescaped into HTML. The app reads a demo school synced by the real engine, plus
names that look like trouble ("Q1/2", "Raum 1.01", "..", "ÄÖÜ"). A hand-picked table covers the
known-nasty inputs on every route; hypothesis adds generated ones.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime, time
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from signage import create_app
from signage.demo.school import DemoSchool
from signage.demo.server import FakeUntis
from signage.sources.http import make_session
from signage.sources.untis import UntisSource
from signage.store import MemoryStore
from signage.sync.engine import SyncEngine
from tests.conftest import MONDAY, SCHEDULE, TZ, Clock, period, untis_settings
from tests.domain.test_privacy import (
    ADMIN_PASSWORD,
    STAFF_PASSWORD,
    csrf,
    log_in,
    pair_display,
    password_settings,
)

pytestmark = pytest.mark.slow

HOSTILE = "<script>alert(1)</script>"
# Names a real school has that are awkward in a URL; the boards must find them.
ODD_NAMES = {"classes": {901: "Q1/2", 902: "ÄÖÜ-Kurs"}, "rooms": {901: "Raum 1.01", 902: ".."},
             "teachers": {901: "ÖZD"}, "subjects": {901: "Sp/Ge"}}
BOARD_PARAMS = ["date", "lang", "theme", "view", "rows", "part", "days"]
# Every route (method, path with {name} for its variable part) and the parameters it reads.
ROUTES: list[tuple[str, str, list[str]]] = [
    ("GET", "/", ["lang", "theme", "date"]),
    ("GET", "/robots.txt", []),
    ("GET", "/board/overview", BOARD_PARAMS),
    ("GET", "/board/class/{name}", BOARD_PARAMS),
    ("GET", "/board/room/{name}", BOARD_PARAMS),
    ("GET", "/board/teacher/{name}", BOARD_PARAMS),
    ("GET", "/board/supervisions", BOARD_PARAMS),
    ("GET", "/api/v1/power", ["display"]),
    ("GET", "/api/v1/changes", ["date", "class", "room", "teacher"]),
    ("GET", "/api/v1/classes", []),
    ("GET", "/api/v1/rooms", []),
    ("GET", "/api/v1/teachers", []),
    ("GET", "/ical/class/{name}.ics", []),
    ("GET", "/ical/room/{name}.ics", []),
    ("GET", "/healthz", []),
    ("GET", "/status", []),
    ("GET", "/metrics", []),
    ("GET", "/display", ["part"]),
    ("GET", "/display/pairing", []),
    ("GET", "/login", ["next"]),
    ("POST", "/login", ["next", "password", "csrf_token"]),
    ("POST", "/logout", ["csrf_token"]),
    ("GET", "/admin", []),
    ("GET", "/admin/displays/new", []),
    ("POST", "/admin/displays/new", ["name", "csrf_token"]),
    ("GET", "/admin/displays/{name}", []),
    ("POST", "/admin/displays/{name}", ["name", "csrf_token"]),
    ("POST", "/admin/displays/{name}/pair", ["code", "csrf_token"]),
    ("POST", "/admin/displays/{name}/revoke", ["csrf_token"]),
    ("POST", "/admin/displays/{name}/wake", ["csrf_token"]),
    ("POST", "/admin/displays/{name}/delete", ["csrf_token"]),
    ("GET", "/admin/announcements/new", []),
    ("GET", "/admin/check", []),
    ("GET", "/admin/pair", ["code"]),
    ("POST", "/admin/check", ["csrf_token"]),
    ("POST", "/admin/announcements/new", ["text", "csrf_token"]),
    ("POST", "/admin/announcements/{name}/end", ["csrf_token"]),
    ("POST", "/admin/announcements/{name}/delete", ["csrf_token"]),
    ("GET", "/static/{name}", []),
]
NASTY = [
    "", " ", " 5a ", "5A", "Q1/2", "q1%2F2", "ÄÖÜ-Kurs", "..", "../..", "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd", "%2e%2e", ".", "/", "//", "\\", "\\..\\", "%", "%zz", "%00",
    "%C3%28", "%FF%FE", "\x00", "a\x00b", "\x1b[31m", "\r\nSet-Cookie: x=1", "\t", "\x7f",
    "\u202e", "\ufeff", "🙂", "日本語", "ß", "İ", "ﬃ", "a" * 10_000, "é" * 5_000,
    "2026-02-30", "9999-99-99", "-1", "0000-00-00", "0001-01-01", "9999-12-31", "2026-11-23",
    "2026-11-23T08:00", "2026-W48-1", "20261123", "+2026-11-23", "２０２６-１１-２３",
    "١٢", "１２", "0", "201", "200", "-0", "+1", "1e309", "NaN", "Infinity", "0x10",
    "9" * 400, HOSTILE, "'\"><svg onload=alert(1)>", "{{7*7}}", "${jndi:ldap://x}", "null",
    "[]", "{}", "?", "#", "&", "=", ";", "CON", "nul", "de", "en", "dark", "changes", "board",
]
IF_NONE_MATCH = [
    "*", '"', '""', 'W/', 'W/"x"', "W/*", '"a", "b"', ",,,", "garbage", '"' + "a" * 10_000 + '"',
    "\xff\xfe", '"\t"', 'W/"' + "é" * 10 + '"', ", *", '"*"', "W/W/\"x\"",
]
COOKIES = [
    "signage_display=" + "x" * 99, "signage_display=" + "x" * 5000, "signage_display=",
    "signage_pairing=abc", "signage_pairing=" + "y" * 101, "signage_session=garbage",
    "signage_session=eyJyb2xlIjoiYWRtaW4ifQ.x.y", "signage_session=" + "z" * 4000,
    "signage_display=\"quoted\"; signage_pairing=\";\"",
]


class Failures(logging.Handler):
    """Collects what the app's error handler logs, to show a failing request's traceback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> str:
        lines = [self.format(r) for r in self.records]
        self.records.clear()
        return "\n".join(lines)[-3000:]


@pytest.fixture(scope="module")
def synced():
    """The demo school's week plus odd names, after one full load; the store and its clock."""
    clock = Clock(datetime.combine(MONDAY, time(9, 0)))
    fake = FakeUntis(TZ, clock=clock, school="Fuzz-Gymnasium")
    DemoSchool(fake)
    for category, names in ODD_NAMES.items():
        fake.add_names(category, names)
    for unit, (cls, room) in enumerate([(901, 901), (902, 902), (901, 902)]):
        fake.put_period(period(90_000 + unit, MONDAY, unit, cls=cls, teacher=901, room=room,
                               subject=901, status="CANCELLED", substitutionText=HOSTILE))
    fake.start()
    session = make_session(connect_timeout_s=2, read_timeout_s=5, backoff_factor_s=0.01)
    try:
        client_id, secret = fake.credentials
        source = UntisSource(fake.url, fake.tenant, client_id, secret, TZ, session)
        engine = SyncEngine(source, MemoryStore(), TZ, days_ahead=7, schedule=SCHEDULE)
        assert engine.run_cycle(clock()).outcome == "full"
        return engine.store, clock, untis_settings(fake)
    finally:
        session.close()
        fake.stop()


@pytest.fixture(scope="module")
def clients(synced, tmp_path_factory) -> Iterator[dict[str, FlaskClient]]:
    """Stateless clients (no cookie jar) of apps on the synced store: the public profile, the
    staff profile, logins and admin switched on, and one before the first sync."""
    store, clock, upstream = synced
    folder = tmp_path_factory.mktemp("fuzz")
    failures = Failures()
    logging.getLogger("signage").addHandler(failures)

    def make(label: str, store=store, **settings: Any) -> FlaskClient:
        app = create_app({**upstream, "DAYS_AHEAD": 7, "STATE_FILE": str(folder / f"{label}.json"),
                          **settings}, clock=clock, store=store)
        return app.test_client(use_cookies=False)

    made = {"public": make("public"), "staff": make("staff", DEFAULT_PROFILE="staff"),
            "logins": make("logins", **password_settings(), SECRET_KEY="k" * 32),
            "empty": make("empty", store=MemoryStore())}
    made["failures"] = failures  # type: ignore[assignment]
    yield made
    logging.getLogger("signage").removeHandler(failures)


def problems(response: TestResponse, method: str, expect_data: bool = True) -> list[str]:
    """Return what is wrong with an answer (empty when it is fine)."""
    status, body = response.status_code, response.get_data()
    text = body.decode("utf-8", "replace")
    found = []
    if status >= 500 and not (status == 503 and not expect_data):
        found.append(f"HTTP {status}")
    if "Traceback" in text or re.search(r'File "[^"]+", line \d+', text):
        found.append("a traceback in the body")
    if 300 <= status < 400 and status != 304 and not response.headers.get("Location"):
        found.append(f"HTTP {status} without a Location")
    if status >= 400 and method != "HEAD":
        if response.is_json:
            answer = response.get_json(silent=True) or {}
            if answer.get("status") in ("stale", "never"):  # /healthz tells why
                pass
            elif not isinstance(answer.get("error"), str) or not answer["error"].strip():
                found.append("a JSON error without a message")
        elif response.mimetype == "text/html" and "<html" in text:
            if not re.search(r"<h1>[^<]+</h1>", text) or not re.search(r"<p[^>]*>[^<]+", text):
                found.append("an error page without a heading and a message")
        elif not text.strip():
            found.append(f"an empty {status} answer")
    if response.mimetype == "text/html" and HOSTILE in text:
        found.append("a hostile value echoed unescaped")
    return found


def send(client: FlaskClient, method: str, path: str, query: Any = None,
         headers: dict[str, str] | None = None) -> TestResponse:
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if method == "POST":
        kwargs["data"] = dict(query) if isinstance(query, list) else {}
    elif query is not None:
        kwargs["query_string"] = query
    response = client.open(path, method=method, **kwargs)
    response.close()
    return response


def paths(template: str, value: str) -> list[str]:
    """Return the route with `value` in its variable part, percent-encoded and as typed."""
    if "{name}" not in template:
        return [template]
    raw = value.replace("?", "%3F").replace("#", "%23")  # else they start a query or fragment
    return [template.format(name=quote(value, safe="")), template.format(name=raw)]


def verify(clients, label: str, client: str, method: str, path: str, query: Any = None,
           headers: dict[str, str] | None = None) -> list[str]:
    """Send one request; return a line per problem, with the logged traceback if any."""
    response = send(clients[client], method, path, query, headers)
    found = problems(response, method, expect_data=client != "empty")
    logged = clients["failures"].take()
    if found:
        shown = f"{method} {path[:120]!r} query={str(query)[:160]} headers={str(headers)[:160]}"
        return [f"{label} [{client}] {shown}: {', '.join(found)}\n{logged}"]
    return []


def test_every_route_is_in_the_table(clients):
    app = clients["public"].application
    listed = {(method, path) for method, path, _ in ROUTES}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?\w+>", "{name}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in listed, f"{method} {rule.rule} is not fuzzed"


def test_hand_picked_names_in_urls(clients):
    failures = []
    for method, template, _ in ROUTES:
        if "{name}" not in template:
            continue
        client = "logins" if template.startswith("/admin") else "staff"
        for value in NASTY:
            for path in paths(template, value):
                failures += verify(clients, "name", client, method, path)
    assert not failures, "\n".join(failures[:10])


def test_hand_picked_query_parameters(clients):
    failures = []
    for method, template, names in ROUTES:
        path = paths(template, "5a")[0]
        client = "logins" if template.startswith(("/admin", "/login", "/logout")) else "staff"
        for name in [*names, "unknown"]:
            for value in NASTY:
                failures += verify(clients, "parameter", client, method, path, [(name, value)])
            # Percent-encodings exactly as typed (invalid UTF-8, a lone %), and repeated ones.
            for raw in ("%FF", "%zz", "%", "%00", "%C3%28", "%E2%82"):
                failures += verify(clients, "raw", client, method, path, f"{name}={raw}")
            repeated = [(name, "2026-11-23"), (name, HOSTILE), (name, "x" * 10_000)]
            failures += verify(clients, "repeated", client, method, path, repeated)
    assert not failures, "\n".join(failures[:10])


def test_hand_picked_headers_cookies_and_methods(clients):
    failures = []
    for method, template, _ in ROUTES:
        path = paths(template, "5a")[0]
        for other in ("HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "TRACE", "POST", "GET"):
            failures += verify(clients, "method", "logins", other, path)
        for value in IF_NONE_MATCH:
            failures += verify(clients, "If-None-Match", "staff", method, path,
                               headers={"If-None-Match": value})
        for client in ("public", "logins"):
            for cookie in COOKIES:
                failures += verify(clients, "cookie", client, method, path,
                                   headers={"Cookie": cookie})
    assert not failures, "\n".join(failures[:10])


def test_a_real_etag_with_junk_around_it_still_answers(clients):
    client = clients["staff"]
    for path in ("/board/overview", "/api/v1/changes", "/ical/class/5a.ics"):
        tag = client.get(path).headers["ETag"]
        for value in (f"{tag}, junk", f'junk, {tag}', f"W/{tag}", f"{tag}{tag}", tag * 200):
            response = send(client, "GET", path, headers={"If-None-Match": value})
            assert response.status_code in (200, 304), (path, value, response.status_code)


def test_before_the_first_sync_only_the_documented_503s(clients):
    failures = []
    for method, template, names in ROUTES:
        for path in paths(template, "5a")[:1]:
            failures += verify(clients, "empty store", "empty", method, path,
                               [(n, "2026-11-23") for n in names] if method == "GET" else None)
    assert not failures, "\n".join(failures[:10])


# --- generated input ------------------------------------------------------------------------

text = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Po", "Sm"]),
            max_size=20),
    st.sampled_from(NASTY),
    st.text(max_size=8).map(lambda s: (s or "x") * (10_000 // len(s or "x"))),
    st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(0, 9999),
              st.integers(0, 99), st.integers(0, 99)),
)
latin1 = st.text(st.characters(codec="latin-1", exclude_characters="\r\n\x00"), max_size=60)
PARAM_NAMES = sorted({name for _, _, names in ROUTES for name in names})


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(route=st.sampled_from(ROUTES), method=st.none() | st.sampled_from(["HEAD", "PUT"]),
       name=text,
       query=st.lists(st.tuples(st.one_of(st.sampled_from(PARAM_NAMES), text), text),
                      max_size=4),
       if_none_match=st.none() | latin1 | st.sampled_from(IF_NONE_MATCH),
       cookie=st.none() | st.sampled_from(COOKIES),
       client=st.sampled_from(["public", "staff", "logins"]))
def test_generated_requests_answer_without_a_server_error(clients, route, method, name, query,
                                                          if_none_match, cookie, client):
    method, template = method or route[0], route[1]
    headers = {}
    if if_none_match is not None:
        headers["If-None-Match"] = if_none_match
    if cookie is not None:
        headers["Cookie"] = cookie
    for path in paths(template, name):
        failures = verify(clients, "generated", client, method, path, query, headers)
        assert not failures, "\n".join(failures)


def test_a_date_far_from_the_window_still_renders(clients):
    for day in ("0001-01-01", "9999-12-31", "2026-11-30", "1970-01-01"):
        for path in ("/board/overview", "/board/class/5a", "/board/room/R101",
                     "/board/teacher/%C3%96ZD", "/api/v1/changes", "/"):
            response = send(clients["staff"], "GET", path, [("date", day)])
            assert response.status_code == 200, (path, day, response.status_code)


# --- behind a login: the admin's forms, the login's target, a paired kiosk's headers ----------

DISPLAY_FORM = {"name": "Foyer", "board": "class", "target": "5a", "view": "day", "rows": "16",
                "profile": "public", "language": "de", "theme": "light"}
ANNOUNCEMENT_FORM = {"text": "Hallo", "style": "banner", "target": "all",
                     "start": "2026-11-23T08:00", "end": "2026-11-23T12:00"}
TIMES = ["2026-11-23T24:00", "2026-11-23T08:60", "2026-02-30T08:00", "0000-01-01T08:00",
         "0001-01-01T01:30", "0001-01-01T00:30", "9999-12-31T23:59", "2026-11-23 08:00",
         " 2026-11-23T08:00 ",
         "٢٠٢٦-١١-٢٣T٠٧:٣٠", "2026-11-23T08:00:00+05:00", "2026-11-23T08:00Z"]


@pytest.fixture(scope="module")
def admin(synced, tmp_path_factory):
    """An app with logins, and a client logged in as its admin (keeping its cookies)."""
    store, clock, upstream = synced
    app = create_app({**upstream, **password_settings(), "SECRET_KEY": "k" * 32,
                      "DAYS_AHEAD": 7,
                      "STATE_FILE": str(tmp_path_factory.mktemp("admin") / "state.json")},
                     clock=clock, store=store)
    client = app.test_client()
    assert log_in(client, ADMIN_PASSWORD).status_code == 302
    return app, client


def test_hand_picked_admin_form_fields(admin, clients):
    app, client = admin
    token = csrf(client, "/admin/displays/new")
    failures = []
    for path, base in (("/admin/displays/new", DISPLAY_FORM),
                       ("/admin/announcements/new", ANNOUNCEMENT_FORM)):
        extra = TIMES if path.startswith("/admin/announcements") else []
        for field in base:
            for value in [*NASTY, *extra]:
                response = client.post(path, data={**base, field: value, "csrf_token": token})
                found = problems(response, "POST")
                if response.status_code not in (303, 400):
                    found.append(f"HTTP {response.status_code}, not 303 or 400")
                if found:
                    failures.append(f"{path} {field}={value[:80]!r}: {', '.join(found)}\n"
                                    f"{clients['failures'].take()}")
    for value in NASTY:
        response = client.post("/admin/displays/nope/pair", data={"code": value,
                                                                 "csrf_token": token})
        if problems(response, "POST") or response.status_code != 404:
            failures.append(f"pair code={value[:80]!r}: HTTP {response.status_code}")
    # What the forms stored shows everywhere it goes.
    _, kiosk = pair_display(app, client)
    for path in ("/admin", "/board/overview", "/board/class/5a", "/", "/status"):
        for who in (client, kiosk):
            found = problems(who.get(path), "GET")
            if found:
                failures.append(f"after the forms, GET {path}: {', '.join(found)}")
    found = problems(kiosk.get("/display"), "GET")
    if found:
        failures.append(f"after the forms, the kiosk's /display: {', '.join(found)}")
    assert not failures, "\n".join(failures[:10])


def test_the_login_target_never_breaks_the_redirect(synced, tmp_path_factory):
    store, clock, upstream = synced
    app = create_app({**upstream, **password_settings(), "SECRET_KEY": "k" * 32,
                      "STATE_FILE": str(tmp_path_factory.mktemp("login") / "state.json")},
                     store=store)
    targets = [*NASTY, "/%0d%0aSet-Cookie:x", "/\x00", "/\x0b/evil.example",
               "/\r\nSet-Cookie: x=1", "/a\nb", "/%0Aa",
               "/[", "/é?x=ü#frag", "/" + "a" * 10_000, "/\\evil.example", "/\t/evil.example",
               "/ /evil.example", "http://evil.example/", "///evil.example"]
    client = app.test_client()
    failures = []
    for target in targets:
        token = csrf(client, "/login")
        response = client.post("/login", query_string={"next": target},
                               data={"password": STAFF_PASSWORD, "csrf_token": token})
        found = problems(response, "POST")
        location = response.headers.get("Location", "")
        if response.status_code != 302 or not location.startswith("/") \
                or location.startswith("//") or "\n" in location or "\r" in location:
            found.append(f"HTTP {response.status_code} to {location[:80]!r}")
        if found:
            failures.append(f"next={target[:80]!r}: {', '.join(found)}")
    assert not failures, "\n".join(failures[:10])


def test_a_paired_kiosk_survives_odd_headers_and_parameters(admin):
    app, client = admin
    _, kiosk = pair_display(app, client, board="overview", target="")
    failures = []
    for value in [*NASTY[:60], "12", "1920x1080", "99999x99999", "1.2.3", "٣"]:
        # A header value holds no line break (HTTP forbids it) and travels as latin-1.
        header = value.replace("\r", "").replace("\n", "").encode("utf-8").decode("latin-1")
        headers = {"X-Signage-Shown": header, "X-Signage-Screen": header,
                   "X-Signage-App": header}
        for query in ([("part", "board")], [("date", value)], [("rows", value)], None):
            response = kiosk.get("/display", query_string=query, headers=headers)
            found = problems(response, "GET")
            if found or response.status_code not in (200, 400):
                failures.append(f"{value[:60]!r} {query}: HTTP {response.status_code} {found}")
    assert not failures, "\n".join(failures[:10])
