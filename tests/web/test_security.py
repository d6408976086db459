"""Web security end to end: headers on every response, templates without inline code, session
and display cookie flags, upstream text escaped, and secrets in no response and no log line."""

from __future__ import annotations

import logging
import re
from datetime import datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import markupsafe
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from signage import ConfigError, create_app
from signage.demo.server import FakeUntis, Fault
from signage.sources.http import make_session
from signage.sources.untis import UntisSource
from signage.store import MemoryStore, StoreError
from signage.sync.engine import SyncEngine
from tests.conftest import MONDAY, SCHEDULE, TZ, Clock, period, untis_settings
from tests.domain.test_privacy import (
    ADMIN_PASSWORD,
    FAST_HASH,
    STAFF_PASSWORD,
    csrf,
    log_in,
    pair_display,
    password_settings,
)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
SINGLE = "'><svg onload=alert(1)>"
# Upstream names an attacker (or a careless planner) could type into the timetabling system.
CLASSES = {1: "5a", 2: SCRIPT}
TEACHERS = {1: "MÜL", 2: ATTRIBUTE, 3: SINGLE}
ROOMS = {1: "R101", 2: f"R{ATTRIBUTE}"}
SUBJECTS = {1: "M", 2: f"D{SCRIPT}"}
NOTE = f"{SCRIPT} {ATTRIBUTE} {SINGLE}"
PAYLOADS = (SCRIPT, ATTRIBUTE, SINGLE)


def hostile_periods() -> list[dict]:
    """Return a Monday whose names and notes are markup: a substitution with a room change
    in the hostile class, a cancellation and a regular lesson in 5a."""
    return [
        period(1, MONDAY, 0, cls=2, teacher=1, room=1, subject=2, status="CHANGED",
               substitutionText=NOTE,
               teachers=[{"id": 1, "status": "REMOVED"}, {"id": 2, "status": "ADDED"}],
               rooms=[{"id": 1, "status": "REMOVED"}, {"id": 2, "status": "ADDED"}]),
        period(2, MONDAY, 1, cls=1, teacher=3, room=2, subject=1, status="CANCELLED",
               substitutionText=NOTE),
        period(3, MONDAY, 2, cls=1, teacher=3, room=1, subject=1),
        period(4, MONDAY + timedelta(days=1), 0, cls=1, teacher=1, room=1, subject=1),
    ]


def start_fake(clock: Clock, **kwargs) -> FakeUntis:
    fake = FakeUntis(TZ, clock=clock, school=f"Schule {SCRIPT}", **kwargs)
    for category, names in (("classes", CLASSES), ("teachers", TEACHERS), ("rooms", ROOMS),
                            ("subjects", SUBJECTS)):
        fake.add_names(category, names)
    for p in hostile_periods():
        fake.put_period(p)
    return fake.start()


@pytest.fixture(scope="module")
def school():
    """The store after one full load of the hostile school, and settings pointing at it."""
    clock = Clock(datetime.combine(MONDAY, time(9, 0)))
    fake = start_fake(clock)
    session = make_session(connect_timeout_s=1, read_timeout_s=1, backoff_factor_s=0.01)
    try:
        client_id, secret = fake.credentials
        source = UntisSource(fake.url, fake.tenant, client_id, secret, TZ, session)
        engine = SyncEngine(source, MemoryStore(), TZ, days_ahead=2, schedule=SCHEDULE)
        assert engine.run_cycle(clock()).outcome == "full"
        settings = untis_settings(fake)
    finally:
        session.close()
        fake.stop()
    return engine.store, clock, settings


@pytest.fixture
def make_app(school, tmp_path):
    """Return a factory of apps on the synced store, with extra settings."""
    store, clock, upstream = school

    def make(store=store, **settings) -> Flask:
        app = create_app({**upstream, "DAYS_AHEAD": 2,
                          "STATE_FILE": str(tmp_path / "state.json"), **settings},
                         clock=clock, store=store)
        return app
    return make


class _BrokenStore:
    """A store whose every use fails: with `error` a StoreError (Redis away), else a bug."""

    def __init__(self, error: type[Exception]) -> None:
        self.error = error

    def __getattr__(self, name: str):
        raise self.error("the store is on fire")


# --- inline code ------------------------------------------------------------------------------

class InlineCode(HTMLParser):
    """Collect what a CSP without 'unsafe-inline' would block, or what runs markup as code."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.tags: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>: inline event handler")
            if name == "style":
                self.problems.append(f"<{tag} style=…>: inline style")
            if (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "script":
            self._in_script = True
            if not values.get("src"):
                self.problems.append("<script> without src")
        if tag == "style":
            self.problems.append("<style> block")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"<script> with a body: {data.strip()[:40]!r}")


def inline_code(markup: str) -> list[str]:
    """Return the inline code an HTML document holds."""
    parser = InlineCode()
    parser.feed(markup)
    parser.close()
    return parser.problems


def without_jinja(source: str) -> str:
    """Return a template's HTML with Jinja comments, statements and expressions taken out."""
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
    source = re.sub(r"\{%.*?%\}", "", source, flags=re.S)
    return re.sub(r"\{\{.*?\}\}", "x", source, flags=re.S)


TEMPLATES = sorted(p.relative_to(ROOT / "templates").as_posix()
                   for p in (ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("name", TEMPLATES)
def test_templates_hold_no_inline_script_handler_or_style(name):
    source = (ROOT / "templates" / name).read_text(encoding="utf-8")
    assert inline_code(without_jinja(source)) == []
    assert re.search(r"\son\w+\s*=", source, re.I) is None  # also inside Jinja branches
    assert re.search(r"\|\s*safe\b|autoescape\s+false", source) is None


def test_every_template_was_checked():
    assert {"base.html", "board.html", "_row.html", "pair.html", "login.html",
            "admin/dashboard.html", "admin/display.html"} <= set(TEMPLATES)


@pytest.mark.parametrize(
    "markup",
    ["<script>alert(1)</script>", '<script src="/static/x.js">alert(1)</script>',
     '<a href="#" onclick="go()">x</a>', "<div ONMOUSEOVER=x>", '<p style="color:red">x</p>',
     "<style>p { color: red }</style>", '<a href=" JavaScript:alert(1)">x</a>',
     '<svg><rect onload="x"/></svg>'],
    ids=["inline script", "script with src and body", "onclick", "uppercase handler",
         "style attribute", "style block", "javascript: URL", "handler in svg"],
)
def test_the_inline_code_check_catches_what_csp_blocks(markup):
    assert inline_code(markup)


@pytest.mark.parametrize("name", ["board.js", "pair.js"])
def test_static_scripts_need_no_unsafe_eval(name):
    source = (ROOT / "static" / name).read_text(encoding="utf-8")
    assert re.search(r"\beval\s*\(|new\s+Function\b|set(Timeout|Interval)\s*\(\s*['\"]",
                     source) is None
    assert re.search(r"setAttribute\(\s*['\"](style|on\w+)['\"]", source) is None


# --- security headers -------------------------------------------------------------------------

def directives(csp: str) -> dict[str, list[str]]:
    """Return a Content-Security-Policy's directives and their sources."""
    parts = (d.split() for d in csp.split(";") if d.strip())
    return {words[0].lower(): words[1:] for words in parts}


def check_headers(label: str, response) -> None:
    """Assert the headers every response must carry (no HSTS: it is off by default)."""
    csp = response.headers.get("Content-Security-Policy")
    assert csp, f"{label}: no Content-Security-Policy"
    policy = directives(csp)
    sources = [s.lower() for values in policy.values() for s in values]
    assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, label
    assert "'unsafe-hashes'" not in sources, label
    assert "frame-ancestors" in policy, label
    for directive in ("default-src", "script-src", "style-src"):
        assert set(policy.get(directive, ["'self'"])) <= {"'self'"}, (label, directive)
    assert policy.get("object-src") == ["'none'"], label
    assert response.headers.get("X-Content-Type-Options") == "nosniff", label
    assert response.headers.get("Referrer-Policy") in (
        "no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"), label
    if response.mimetype == "text/html" and response.status_code != 304:
        assert inline_code(response.get_data(as_text=True)) == [], label


@pytest.fixture
def responses(make_app):
    """Yield one response of every sort the app gives, by label: pages, JSON, ICS, static
    files, 304s, redirects, every error status, admin and kiosk pages."""
    app = make_app(**password_settings(), SECRET_KEY="k" * 32)
    got: dict[str, object] = {}
    anon = app.test_client()

    def get(label, path, client=anon, method="GET", **kwargs):
        got[label] = client.open(path, method=method, **kwargs)
        return got[label]

    for label, path in [("index", "/"), ("board", "/board/overview"),
                        ("kiosk region", "/board/class/5a?part=board"),
                        ("changes", "/api/v1/changes"), ("classes", "/api/v1/classes"),
                        ("feed", "/ical/class/5a.ics"), ("script", "/static/board.js"),
                        ("style", "/static/signage.css"), ("healthz", "/healthz"),
                        ("metrics", "/metrics"), ("status", "/status"), ("login page", "/login"),
                        ("pairing page", "/display"), ("pairing state", "/display/pairing"),
                        ("unknown class", "/board/class/6z"),
                        ("unknown class in api", "/api/v1/changes?class=6z"),
                        ("unknown feed", "/ical/room/R999.ics"), ("no page", "/nowhere"),
                        ("no file", "/static/nothing.js"), ("bad date", "/board/overview?date=x"),
                        ("bad date in api", "/api/v1/changes?date=x"),
                        ("long parameter", "/board/overview?theme=" + "x" * 200),
                        ("teacher board", "/board/teacher/M%C3%9CL"),
                        ("teacher list", "/api/v1/teachers"), ("admin redirect", "/admin"),
                        ("board poll without a display", "/display?part=board")]:
        get(label, path)
    for label, path in [("board 304", "/board/overview"), ("changes 304", "/api/v1/changes"),
                        ("script 304", "/static/board.js")]:
        get(label, path, headers={"If-None-Match": got[label[:-4]].headers["ETag"]})
    get("feed 304", "/ical/class/5a.ics", headers={"If-None-Match": got["feed"].headers["ETag"]})
    get("post to a board", "/board/overview", method="POST")
    get("delete changes", "/api/v1/changes", method="DELETE")
    get("options", "/", method="OPTIONS")
    get("head", "/board/overview", method="HEAD")
    get("admin post without login", "/admin/displays/new", method="POST")
    get("login without csrf", "/login", method="POST", data={"password": ADMIN_PASSWORD})
    get("wrong password", "/login", method="POST",
        data={"password": "falsch", "csrf_token": csrf(anon, "/login")})
    staff = app.test_client()
    got["staff login"] = log_in(staff, STAFF_PASSWORD)
    get("admin as staff", "/admin", client=staff)
    admin = app.test_client()
    got["admin login"] = log_in(admin, ADMIN_PASSWORD)
    for label, path in [("dashboard", "/admin"), ("new display", "/admin/displays/new"),
                        ("new announcement", "/admin/announcements/new"),
                        ("no display", "/admin/displays/nope")]:
        get(label, path, client=admin)
    get("admin post without csrf", "/admin/displays/new", client=admin, method="POST",
        data={"name": "x"})
    get("bad display form", "/admin/displays/new", client=admin, method="POST",
        data={"name": "", "csrf_token": csrf(admin, "/admin/displays/new")})
    _, kiosk = pair_display(app, admin)
    get("paired display", "/display", client=kiosk)
    get("logout", "/logout", client=admin, method="POST",
        data={"csrf_token": csrf(admin, "/admin")})
    greedy = app.test_client()
    for _ in range(6):  # from another address: the counter is per client address
        get("too many logins", "/login", client=greedy, method="POST",
            data={"password": "falsch", "csrf_token": csrf(greedy, "/login")},
            environ_base={"REMOTE_ADDR": "192.0.2.7"})
    empty = make_app(store=MemoryStore()).test_client()
    get("board before the first sync", "/board/overview", client=empty)
    get("api before the first sync", "/api/v1/changes", client=empty)
    get("store away", "/api/v1/changes", client=make_app(store=_BrokenStore(StoreError))
        .test_client())
    get("unexpected error", "/board/overview",
        client=make_app(store=_BrokenStore(RuntimeError)).test_client())
    yield got
    for response in got.values():
        response.close()  # static files answer with an open file


EXPECTED = {
    "index": 200, "board": 200, "kiosk region": 200, "changes": 200, "feed": 200, "script": 200,
    "board 304": 304, "changes 304": 304, "feed 304": 304, "script 304": 304,
    "admin redirect": 302, "staff login": 302, "admin login": 302, "logout": 302,
    "unknown class": 404, "unknown class in api": 404, "unknown feed": 404, "no page": 404,
    "no file": 404, "no display": 404, "bad date": 400, "bad date in api": 400,
    "long parameter": 400, "login without csrf": 400, "admin post without csrf": 400,
    "bad display form": 400, "teacher board": 403, "teacher list": 403, "admin as staff": 403,
    "post to a board": 405, "delete changes": 405, "wrong password": 401,
    "admin post without login": 401, "board poll without a display": 410, "too many logins": 429,
    "board before the first sync": 503, "api before the first sync": 503, "store away": 503,
    "unexpected error": 500, "dashboard": 200, "paired display": 200, "pairing page": 200,
}


def test_every_sort_of_response_carries_the_security_headers(responses):
    assert {label: responses[label].status_code for label in EXPECTED} == EXPECTED
    for label, response in responses.items():
        check_headers(label, response)
        assert "Strict-Transport-Security" not in response.headers, label


@pytest.mark.parametrize("seconds", [31536000, "600"], ids=["number", "string from the env"])
def test_hsts_is_sent_on_every_response_when_configured(make_app, seconds):
    client = make_app(HSTS_SECONDS=seconds).test_client()
    board = client.get("/board/overview")
    again = {"If-None-Match": board.headers["ETag"]}
    for response in (board, client.get("/healthz"), client.get("/static/board.css"),
                     client.get("/board/class/6z"), client.post("/board/overview"),
                     client.get("/board/overview", headers=again), client.get("/admin")):
        with response:
            assert response.headers["Strict-Transport-Security"] == f"max-age={seconds}"
            check_headers(response.request.path, response)


# --- cookies ----------------------------------------------------------------------------------

def cookie_flags(response, name: str) -> set[str]:
    """Return the attributes of the Set-Cookie that sets `name`: lower-cased names, with the
    value for SameSite ("samesite=lax")."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            flags = set()
            for part in header.split(";")[1:]:
                key, _, value = part.strip().lower().partition("=")
                flags.add(f"{key}={value}" if key == "samesite" else key)
            return flags
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.getlist('Set-Cookie')}")


@pytest.mark.parametrize(
    ("base_url", "proxies", "forwarded", "secure"),
    [("http://localhost", 0, None, False), ("https://localhost", 0, None, True),
     ("http://localhost", 1, "https", True), ("http://localhost", 0, "https", False)],
    ids=["plain http", "https", "https behind a trusted proxy",
         "a forged X-Forwarded-Proto without a proxy"],
)
def test_the_session_cookie_is_httponly_lax_and_secure_over_https(make_app, base_url, proxies,
                                                                  forwarded, secure):
    app = make_app(**password_settings(), TRUSTED_PROXIES=proxies)
    headers = {"Referer": "https://localhost/login"}  # Flask-WTF's strict check on https
    if forwarded:
        headers["X-Forwarded-Proto"] = forwarded
    response = log_in(app.test_client(), ADMIN_PASSWORD, base_url=base_url, headers=headers)
    assert response.status_code == 302, response.get_data(as_text=True)
    flags = cookie_flags(response, "signage_session")
    assert {"httponly", "samesite=lax"} <= flags
    assert ("secure" in flags) is secure


class HttpsClient(FlaskClient):
    """A browser on https://localhost (sending the Referer Flask-WTF wants on https)."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("base_url", "https://localhost")
        kwargs.setdefault("headers", {"Referer": "https://localhost/"})
        return super().open(*args, **kwargs)


def test_display_cookies_are_httponly_lax_and_secure_over_https(make_app):
    app = make_app(**password_settings())
    app.test_client_class = HttpsClient
    admin = app.test_client()
    kiosk = app.test_client()
    log_in(admin, ADMIN_PASSWORD)
    flags = cookie_flags(kiosk.get("/display"), "signage_pairing")
    assert {"httponly", "samesite=lax", "secure"} <= flags
    display_id, _ = pair_display(app, admin, kiosk=kiosk)
    token = csrf(admin, f"/admin/displays/{display_id}")
    admin.post(f"/admin/displays/{display_id}/pair", data={"code": "x", "csrf_token": token})
    kiosk.delete_cookie("signage_display")
    code = re.search(r'id="pair-code">(\w+)<', kiosk.get("/display").get_data(as_text=True))[1]
    admin.post(f"/admin/displays/{display_id}/pair", data={"code": code, "csrf_token": token})
    flags = cookie_flags(kiosk.get("/display/pairing"), "signage_display")
    assert {"httponly", "samesite=lax", "secure", "max-age"} <= flags


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
     "https://evil.example/", "/\t/evil.example", "/\n/evil.example", " //evil.example"],
    ids=["scheme-relative", "three slashes", "backslash", "two backslashes", "absolute",
         "tab browsers drop", "newline browsers drop", "leading space"],
)
def test_the_login_never_redirects_off_the_site(make_app, target):
    app = make_app(**password_settings())
    client = app.test_client()
    token = csrf(client, f"/login?next={quote(target)}")
    response = client.post("/login", data={"password": ADMIN_PASSWORD, "csrf_token": token,
                                           "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_the_login_returns_to_the_page_that_asked(make_app):
    client = make_app(**password_settings()).test_client()
    assert client.get("/admin/announcements/new").headers["Location"] == (
        "/login?next=/admin/announcements/new")
    token = csrf(client, "/login?next=/admin/announcements/new")
    response = client.post("/login", data={"password": ADMIN_PASSWORD, "csrf_token": token,
                                           "next": "/admin/announcements/new"})
    assert response.headers["Location"] == "/admin/announcements/new"


# --- upstream text is escaped -----------------------------------------------------------------

def assert_escaped(label: str, markup: str, expected: tuple[str, ...]) -> None:
    """Assert no payload arrives as markup, and the `expected` ones arrive escaped."""
    for payload in PAYLOADS:
        assert payload not in markup, (label, payload)
    for payload in expected:
        assert str(markupsafe.escape(payload)) in markup, (label, payload)
    parser = InlineCode()
    parser.feed(markup)
    assert parser.problems == [], label
    assert not {"img", "svg"} & set(parser.tags), label


HOSTILE_CLASS, HOSTILE_ROOM = quote(SCRIPT, safe=""), quote(ROOMS[2], safe="")


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/", (SCRIPT, ATTRIBUTE, SINGLE)), ("/board/overview", PAYLOADS),
     ("/board/overview?part=board", PAYLOADS), (f"/board/class/{HOSTILE_CLASS}", PAYLOADS),
     (f"/board/class/{HOSTILE_CLASS}?view=changes&part=board", PAYLOADS),
     (f"/board/room/{HOSTILE_ROOM}", (SCRIPT, ATTRIBUTE)), ("/board/class/5a", PAYLOADS),
     (f"/board/teacher/{quote(ATTRIBUTE, safe='')}", (SCRIPT, ATTRIBUTE)),
     (f"/board/teacher/{quote(SINGLE, safe='')}", PAYLOADS),
     ("/board/class/6z", (SCRIPT,)), (f"/board/class/{HOSTILE_CLASS}x", (SCRIPT,)),
     (f"/board/overview?date={quote(SCRIPT)}", ()),
     (f"/board/overview?lang={quote(ATTRIBUTE)}", ())],
    ids=["index", "overview", "overview region", "hostile class", "hostile class region",
         "hostile room", "class with hostile teacher and note", "hostile substitute",
         "hostile absent teacher", "404 listing the hostile class", "404 echoing the request",
         "400 echoing a hostile date", "400 echoing a hostile language"],
)
def test_upstream_text_reaches_pages_only_escaped(make_app, path, expected):
    response = make_app(DEFAULT_PROFILE="staff").test_client().get(path)
    assert response.mimetype == "text/html"
    assert_escaped(path, response.get_data(as_text=True), expected)


def test_upstream_text_in_the_api_is_plain_json(make_app):
    client = make_app(DEFAULT_PROFILE="staff").test_client()
    response = client.get(f"/api/v1/changes?class={HOSTILE_CLASS}")
    assert response.mimetype == "application/json"
    (row,) = response.get_json()["changes"]
    assert row["classes"] == [SCRIPT] and row["teachers"] == [ATTRIBUTE]
    assert row["rooms"] == [ROOMS[2]] and row["text"] == NOTE
    assert SCRIPT in client.get("/api/v1/classes").get_json()
    assert ATTRIBUTE in client.get("/api/v1/teachers").get_json()
    error = client.get(f"/api/v1/changes?room={quote(SINGLE)}")
    assert error.status_code == 404 and error.mimetype == "application/json"


def test_admin_pages_and_announcements_escape_what_they_show(make_app):
    app = make_app(**password_settings())
    admin = app.test_client()
    log_in(admin, ADMIN_PASSWORD)
    token = csrf(admin, "/admin/announcements/new")
    saved = admin.post("/admin/announcements/new",
                       data={"text": NOTE, "style": "banner", "target": "all", "start": "",
                             "end": "2026-11-23T18:00", "csrf_token": token})
    assert saved.status_code == 303
    display_id, _ = pair_display(app, admin, name=ATTRIBUTE, board="class", target=SCRIPT)
    for path in ("/admin", "/admin/displays/new", f"/admin/displays/{display_id}",
                 "/admin/announcements/new"):
        assert_escaped(path, admin.get(path).get_data(as_text=True), ())
    assert_escaped("dashboard", admin.get("/admin").get_data(as_text=True), PAYLOADS)
    board = app.test_client().get("/board/overview").get_data(as_text=True)
    assert_escaped("banner", board, (NOTE,))


# --- secrets ----------------------------------------------------------------------------------

CLIENT_SECRET = "Kl13nt-Geheimnis-8c1f"
SECRET_KEY = "Sitzungs-Schluessel-5e0b9a"
WRONG_PASSWORD = "Admin-Passwort-7732"  # one key off: a typo of the real one


def test_secrets_reach_no_response_and_no_log_line(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    clock = Clock(datetime.combine(MONDAY, time(9, 0)))
    fake = start_fake(clock, client_secret=CLIENT_SECRET, tenant="t-4711")
    hashes = {"ADMIN_PASSWORD_HASH": generate_password_hash(ADMIN_PASSWORD, FAST_HASH),
              "STAFF_PASSWORD_HASH": generate_password_hash(STAFF_PASSWORD, FAST_HASH)}
    try:
        app = create_app({**untis_settings(fake), **hashes, "SECRET_KEY": SECRET_KEY,
                          "DAYS_AHEAD": 2, "REFRESH_SECONDS": 60,
                          "STATE_FILE": str(tmp_path / "state.json")}, clock=clock)
        runner = app.test_cli_runner()
        outputs = [runner.invoke(args=["signage", "sync", "--once"])]
        fake.expire_tokens()  # the next cycle meets a 401 and renews its token
        clock.advance(minutes=2)
        outputs.append(runner.invoke(args=["signage", "sync", "--once"]))
        fake.expire_tokens()
        fake.inject(Fault("token", status=401))  # and now the upstream refuses the secret
        outputs.append(runner.invoke(args=["signage", "sync", "--once"]))
        assert [o.exit_code for o in outputs] == [0, 0, 1], [o.output for o in outputs]
        tokens = {r.bearer for r in fake.requests if r.bearer}
    finally:
        fake.stop()
    assert len(tokens) >= 2

    responses = []
    anon, staff, admin, kiosk = (app.test_client() for _ in range(4))
    responses.append(log_in(anon, WRONG_PASSWORD))
    responses.append(log_in(staff, STAFF_PASSWORD))
    responses.append(log_in(admin, ADMIN_PASSWORD))
    responses.append(kiosk.get("/display"))
    pairing_secret = kiosk.get_cookie("signage_pairing").value
    display_id, _ = pair_display(app, admin, kiosk=kiosk, profile="staff")
    display_token = kiosk.get_cookie("signage_display").value
    paths = ["/", "/board/overview", "/board/class/5a", "/board/teacher/M%C3%9CL",
             "/api/v1/changes", "/api/v1/classes", "/api/v1/teachers", "/ical/class/5a.ics",
             "/healthz", "/metrics", "/status", "/login", "/board/class/6z",
             "/board/overview?date=x", "/nowhere", "/display", "/display?part=board"]
    admin_paths = ["/admin", "/admin/displays/new", f"/admin/displays/{display_id}",
                   "/admin/announcements/new", "/admin/displays/nope"]
    for client in (anon, staff, admin, kiosk):
        responses += [client.get(path) for path in paths]
    responses += [admin.get(path) for path in admin_paths]
    responses.append(admin.post("/admin/displays/new", data={"name": "no token"}))
    status = admin.get("/status").get_data(as_text=True)
    assert "HTTP 401" in status  # the refused token request is on the page, without secrets
    assert admin.get("/healthz").get_json()["last_error"]

    admin_hash, staff_hash = hashes.values()
    never = {"client secret": CLIENT_SECRET, "admin password": ADMIN_PASSWORD,
             "staff password": STAFF_PASSWORD, "mistyped password": WRONG_PASSWORD,
             "admin hash": admin_hash, "admin hash digest": admin_hash.rsplit("$", 1)[1],
             "staff hash": staff_hash, "secret key": SECRET_KEY,
             **{f"access token {n}": t for n, t in enumerate(sorted(tokens))}}
    cookies_only = {"display token": display_token, "pairing secret": pairing_secret}
    for response in responses:
        body = response.get_data(as_text=True)
        others = "\n".join(f"{k}: {v}" for k, v in response.headers.items()
                           if k.lower() != "set-cookie")
        cookies = "\n".join(response.headers.getlist("Set-Cookie"))
        where = f"{response.request.method} {response.request.path}"
        for what, secret in {**never, **cookies_only}.items():
            assert secret not in body and secret not in others, (what, where)
        for what, secret in never.items():
            assert secret not in cookies, (what, where)
    logs = "\n".join([caplog.text, *(r.getMessage() for r in caplog.records),
                      *(o.output for o in outputs)])
    assert "sync: full load" in logs and "failed login" in logs  # the logs were captured
    for what, secret in {**never, **cookies_only}.items():
        assert secret not in logs, what


@pytest.mark.parametrize(
    ("key", "value"),
    [("SECRET_KEY", "kurz-geheim"),
     ("ADMIN_PASSWORD_HASH", ADMIN_PASSWORD), ("STAFF_PASSWORD_HASH", STAFF_PASSWORD),
     ("UNTIS_URL", "https://schule:Passwort-xyz@example.webuntis.com/x?y"),
     ("REDIS_URL", "http://:Redis-Passwort-1@localhost")],
    ids=["short secret key",
         "a password where its hash belongs", "the staff password likewise",
         "credentials in the upstream URL", "credentials in a bad Redis URL"],
)
def test_a_rejected_secret_is_not_echoed_at_start_up(school, key, value):
    _, _, upstream = school
    with pytest.raises(ConfigError) as error:
        create_app({**upstream, key: value})
    message = str(error.value)
    assert f"SIGNAGE_{key}" in message and "(hidden)" in message
    for part in (value, "Passwort", "geheim"):
        assert part not in message
