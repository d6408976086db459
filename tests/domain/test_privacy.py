"""Privacy profiles end to end: from a school full of teacher names and planners' notes, the
public profile shows none of them on any board, in the JSON API, the feeds, the operator pages
or the error pages; staff logins, staff displays and the schools' opt-ins do show them."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from urllib.parse import quote

import markupsafe
import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from signage import create_app
from signage.demo.server import FakeUntis
from signage.sources.http import make_session
from signage.sources.untis import UntisSource
from signage.store import MemoryStore
from signage.sync.engine import SyncEngine
from tests.conftest import MONDAY, SCHEDULE, TZ, Clock, period, untis_settings

# Names no page chrome, translation or random token can contain by chance: an apostrophe and an
# ampersand-free umlaut test the HTML- and JSON-escaped forms, "ÄQX" a real-looking abbreviation.
TEACHERS = {1: "Zwackelmann", 2: "Quaxtorf", 3: "Brömmelkamp", 4: "O'Quirrel",
            5: "Ypsilanti-Hübsch", 6: "ÄQX"}
CLASSES = {1: "5a", 2: "5b", 3: "10a", 4: "Q1"}
ROOMS = {1: "R101", 2: "R102", 3: "Bio1", 4: "Aula"}
SUBJECTS = {1: "M", 2: "D", 3: "Bio"}
NOTE_MARK = "Flamingoquartett"  # in every planner's note, and nowhere else
DAYS = [MONDAY + timedelta(days=n) for n in range(3)]  # the synced window (DAYS_AHEAD=2)
OUTSIDE = MONDAY + timedelta(days=5)
ADMIN_PASSWORD = "Admin-Passwort-7731"
STAFF_PASSWORD = "Lehrerzimmer-4420"
FAST_HASH = "pbkdf2:sha256:1000"  # the login flow, not the hash's strength, is under test


def school_periods() -> Iterator[dict]:
    """Yield three days of five units for four classes, most of them changed: substitutions,
    cancellations, room changes with team teaching, notes, extra lessons, exams; every note
    names teachers."""
    pid = 0
    for offset, day in enumerate(DAYS):
        for cls in CLASSES:
            for unit in range(5):
                pid += 1
                turn = cls + unit + offset
                planned, other = 1 + turn % 6, 1 + (turn + 3) % 6
                p, q = TEACHERS[planned], TEACHERS[other]
                base = period(pid, day, unit, cls=cls, teacher=planned, room=cls,
                              subject=1 + unit % 3, lesson=pid)
                case = turn % 7
                if case == 1:  # substitution
                    base |= {"status": "CHANGED",
                             "teachers": [{"id": planned, "status": "REMOVED"},
                                          {"id": other, "status": "ADDED"}],
                             "substitutionText": f"Vertretung durch {q} statt {p}, {NOTE_MARK}"}
                elif case == 2:  # cancellation
                    base |= {"status": "CANCELLED",
                             "substitutionText": f"Entfall: {p} auf Klassenfahrt ({NOTE_MARK})"}
                elif case == 3:  # room change, two teachers
                    base |= {"status": "CHANGED",
                             "teachers": [{"id": planned, "status": "REGULAR"},
                                          {"id": other, "status": "REGULAR"}],
                             "rooms": [{"id": cls, "status": "REMOVED"},
                                       {"id": 1 + cls % 4, "status": "ADDED"}],
                             "substitutionText": f"Raumtausch mit {q} {NOTE_MARK}"}
                elif case == 4:  # a note only
                    base |= {"status": "CHANGED",
                             "substitutionText": f"Bitte bei {p}/{q} melden. {NOTE_MARK}"}
                elif case == 5:  # an extra lesson
                    base |= {"status": "ADDITIONAL", "type": "ADDITIONAL_PERIOD",
                             "teachers": [{"id": other, "status": "ADDED"}],
                             "substitutionText": f"Zusatzstunde {NOTE_MARK}"}
                elif case == 6:  # an exam, supervised by a substitute
                    base |= {"type": "EXAM", "exam": {"id": pid},
                             "teachers": [{"id": planned, "status": "REMOVED"},
                                          {"id": other, "status": "ADDED"}],
                             "substitutionText": f"Klausuraufsicht {q}; {NOTE_MARK}"}
                yield base  # case 0: a regular lesson, its teacher on the day view
        for n, (planned, other) in enumerate([(5, 5), (6, 4)]):  # break supervisions: staff only
            pid += 1
            yield {**period(pid, day, 1, cls=1, teacher=planned, room=n + 1, subject=1),
                   "start": f"{day.isoformat()}T09:35", "end": f"{day.isoformat()}T09:55",
                   "type": "BREAK_SUPERVISION", "classes": [], "subjects": [],
                   "teachers": ([{"id": planned, "status": "REGULAR"}] if planned == other else
                                [{"id": planned, "status": "REMOVED"},
                                 {"id": other, "status": "ADDED"}])}


@pytest.fixture(scope="module")
def school():
    """The store after one full load of the school from a fake server, and the settings that
    point at it; built once: the views only read it."""
    clock = Clock(datetime.combine(MONDAY, time(9, 0)))
    fake = FakeUntis(TZ, clock=clock, school="Testschule")
    for category, names in (("classes", CLASSES), ("teachers", TEACHERS), ("rooms", ROOMS),
                            ("subjects", SUBJECTS)):
        fake.add_names(category, names)
    for p in school_periods():
        fake.put_period(p)
    fake.start()
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

    def make(**settings) -> Flask:
        app = create_app({**upstream, "DAYS_AHEAD": 2,
                          "STATE_FILE": str(tmp_path / "state.json"), **settings},
                         clock=clock, store=store)
        return app
    return make


# --- finding names ----------------------------------------------------------------------------

def spellings(text: str) -> set[str]:
    """Return the forms `text` can take in a response: raw, HTML-, JSON-, URL- and ICS-escaped."""
    return {text, html.escape(text), html.escape(text, quote=False), str(markupsafe.escape(text)),
            json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1],
            quote(text), quote(text, safe=""), text.replace(",", "\\,").replace(";", "\\;")}


PRIVATE = {name: spellings(name) for name in [*TEACHERS.values(), NOTE_MARK]}


def found(response) -> set[str]:
    """Return the teacher names and the note mark a response shows, in its body or headers."""
    body = response.get_data(as_text=True).replace("\r\n ", "")  # unfold ICS lines
    text = "\n".join([body, *(f"{k}: {v}" for k, v in response.headers.items())]).casefold()
    return {name for name, forms in PRIVATE.items()
            if any(form.casefold() in text for form in forms)}


def walk(client: FlaskClient) -> Iterator[tuple[str, object]]:
    """Yield (path, response) for every route a public visitor can reach, every board of every
    day of the window (and one day outside), both views, page and kiosk region."""
    dates = [d.isoformat() for d in [*DAYS, OUTSIDE]]
    paths = ["/", "/?lang=en", f"/?date={dates[1]}", "/board/overview", "/api/v1/changes",
             "/board/overview?days=2", "/board/class/5a?days=2", "/board/room/R101?days=2",
             "/api/v1/classes", "/api/v1/rooms", "/healthz", "/status", "/metrics", "/login",
             "/display", "/display/pairing"]
    for lang in ("de", "en", "da", "nl"):
        paths += [f"/board/overview?lang={lang}", f"/board/class/5a?lang={lang}&view=changes"]
    for day in dates:
        paths += [f"/board/overview?date={day}", f"/board/overview?date={day}&part=board",
                  f"/board/overview?date={day}&rows=3&theme=dark", f"/api/v1/changes?date={day}"]
        for kind, names in (("class", CLASSES), ("room", ROOMS)):
            for name in names.values():
                board = f"/board/{kind}/{quote(name)}?date={day}"
                paths += [board, f"{board}&part=board", f"{board}&view=changes",
                          f"{board}&view=changes&part=board",
                          f"/api/v1/changes?date={day}&{kind}={quote(name)}"]
    for kind, names in (("class", CLASSES), ("room", ROOMS)):
        for name in names.values():
            paths.append(f"/ical/{kind}/{quote(name)}.ics")
    paths += ["/board/class/6z", "/board/room/R999", "/api/v1/changes?class=6z",
              "/api/v1/changes?room=R999", "/ical/class/6z.ics", "/ical/room/R999.ics",
              "/board/overview?date=gestern", "/api/v1/changes?date=2026-13-01",
              "/board/overview?lang=fr", "/board/nothing", "/api/v1/nothing"]
    for path in paths:
        yield path, client.get(path)


def shown(client: FlaskClient) -> set[str]:
    """Return every name and note the whole walk shows, checking no request failed on the way."""
    seen: set[str] = set()
    for path, response in walk(client):
        assert response.status_code < 500 or path == "/healthz", (path, response.status_code)
        seen |= found(response)
    return seen


# --- the public profile -----------------------------------------------------------------------

# What only staff boards say: break supervisions and the overview's header of absent teachers.
STAFF_WORDS = ["Pausenaufsicht", "Break supervision", "Pauzetoezicht", "Frikvartersvagt",
               "Abwesende", "Absent teachers", "Afwezige", "Fraværende", "Betroffene Klassen",
               "Classes with changes"]


def test_the_public_profile_shows_no_teacher_name_or_note_anywhere(make_app):
    client = make_app().test_client()
    statuses = {}
    for path, response in walk(client):
        statuses[path] = response.status_code
        assert found(response) == set(), path
        body = response.get_data(as_text=True)
        assert [w for w in STAFF_WORDS if w in body] == [], path
    # The walk reached real content, and the error pages it meant to.
    assert statuses["/board/overview"] == statuses["/api/v1/changes"] == 200
    assert statuses["/ical/room/Aula.ics"] == statuses["/board/room/Bio1?date=2026-11-25"] == 200
    assert statuses["/board/class/6z"] == statuses["/ical/class/6z.ics"] == 404
    assert statuses["/board/overview?date=gestern"] == 400
    assert len(statuses) > 200


def test_the_walk_finds_every_name_and_note_in_the_staff_profile(make_app):
    # The detector is the one the public test relies on: here it must find everything.
    client = make_app(DEFAULT_PROFILE="staff").test_client()
    assert shown(client) == set(PRIVATE)
    overview = client.get("/board/overview?lang=en").get_data(as_text=True)
    assert "Absent teachers" in overview and "Classes with changes" in overview
    assert "Break supervision" in client.get("/board/supervisions?lang=en").get_data(as_text=True)


def test_public_pages_still_show_the_changes_without_their_names(make_app):
    client = make_app().test_client()
    rows = client.get(f"/api/v1/changes?date={MONDAY}").get_json()["changes"]
    kinds = {kind for row in rows for kind in row["kinds"]}
    assert {"substitution", "cancelled", "room_change", "additional", "exam", "changed"} <= kinds
    assert all(row["teachers"] == row["original_teachers"] == [] for row in rows)
    assert all(row["text"] == "" for row in rows)
    assert {row["classes"][0] for row in rows} == set(CLASSES.values())
    page = client.get("/board/overview").get_data(as_text=True)
    assert "Vertretung" in page and "Entfall" in page and "<del>R101</del>" in page


@pytest.mark.parametrize(
    "path",
    ["/board/teacher/Zwackelmann", "/board/teacher/Nobody", "/board/teacher/%C3%84QX?part=board",
     "/board/supervisions", "/board/supervisions?part=board&days=2",
     "/api/v1/teachers", "/api/v1/changes?teacher=Quaxtorf", "/api/v1/changes?teacher=Nobody",
     f"/api/v1/changes?class=5a&date={MONDAY}&teacher=Quaxtorf"],
    ids=["teacher board", "unknown teacher board (no list of the known ones)",
         "teacher board region", "supervisions", "supervisions region", "teacher list",
         "teacher filter", "unknown teacher filter", "teacher filter with a class filter"],
)
def test_teacher_endpoints_answer_403_in_public(make_app, path):
    response = make_app().test_client().get(path)
    assert response.status_code == 403
    asked = {n for n in TEACHERS.values() if quote(n) in path or n in path}
    assert found(response) - asked == set()


def test_the_index_lists_classes_and_rooms_but_no_teachers_in_public(make_app):
    public = make_app().test_client().get("/").get_data(as_text=True)
    staff = make_app(DEFAULT_PROFILE="staff").test_client().get("/").get_data(as_text=True)
    for name in [*CLASSES.values(), *ROOMS.values()]:
        assert f">{name}</a>" in public and f">{name}</a>" in staff
    assert "/board/teacher/" not in public
    assert 'href="/board/teacher/Zwackelmann">Zwackelmann</a>' in staff


# --- logins and opt-ins -----------------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: FlaskClient, path: str, **kwargs) -> str:
    """Return the CSRF token of the form on `path`."""
    page = client.get(path, **kwargs)
    assert page.status_code == 200, (path, page.status_code)
    return CSRF.search(page.get_data(as_text=True))[1]


def log_in(client: FlaskClient, password: str, **kwargs):
    """Log in through the form, as a browser does; return the POST's response."""
    token = csrf(client, "/login", **kwargs)
    return client.post("/login", data={"password": password, "csrf_token": token}, **kwargs)


def password_settings() -> dict[str, str]:
    return {"ADMIN_PASSWORD_HASH": generate_password_hash(ADMIN_PASSWORD, FAST_HASH),
            "STAFF_PASSWORD_HASH": generate_password_hash(STAFF_PASSWORD, FAST_HASH)}


def pair_display(app: Flask, admin: FlaskClient, kiosk: FlaskClient | None = None,
                 **fields) -> tuple[str, FlaskClient]:
    """Create a display as the logged-in `admin`, pair a kiosk (a new one unless given) with
    it; return the display's id and the kiosk (holding its display cookie)."""
    form = {"name": "Foyer", "board": "overview", "target": "", "view": "day", "rows": "",
            "profile": "public", "language": "de", "theme": "light", **fields}
    token = csrf(admin, "/admin/displays/new")
    created = admin.post("/admin/displays/new", data={**form, "csrf_token": token})
    assert created.status_code == 303, created.get_data(as_text=True)
    display_id = created.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    kiosk = app.test_client() if kiosk is None else kiosk
    code = re.search(r'id="pair-code">(\w+)<', kiosk.get("/display").get_data(as_text=True))[1]
    token = csrf(admin, f"/admin/displays/{display_id}")
    paired = admin.post(f"/admin/displays/{display_id}/pair",
                        data={"code": code, "csrf_token": token})
    assert paired.status_code == 303 and paired.headers["Location"].endswith("/admin")
    assert kiosk.get("/display/pairing").get_json() == {"state": "paired"}
    assert kiosk.get_cookie("signage_display") is not None
    return display_id, kiosk


@pytest.mark.parametrize("password", [ADMIN_PASSWORD, STAFF_PASSWORD], ids=["admin", "staff"])
def test_a_staff_login_shows_names_and_notes_until_logout(make_app, password):
    client = make_app(**password_settings()).test_client()
    assert found(client.get("/board/overview")) == set()
    assert log_in(client, password).status_code == 302
    assert found(client.get("/board/overview")) == set(PRIVATE)
    assert client.get("/api/v1/teachers").get_json() == sorted(TEACHERS.values(),
                                                                key=str.casefold)
    assert client.get("/board/teacher/Zwackelmann").status_code == 200
    assert "Lehrkraft: Zwackelmann" in client.get("/ical/class/5a.ics").get_data(as_text=True)
    token = CSRF.search(client.get("/login").get_data(as_text=True))[1]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert found(client.get("/board/overview")) == set()
    assert client.get("/api/v1/teachers").status_code == 403


def test_a_wrong_password_keeps_the_public_profile(make_app):
    client = make_app(**password_settings()).test_client()
    assert log_in(client, "Zwackelmann").status_code == 401
    assert client.get("/api/v1/teachers").status_code == 403
    assert found(client.get(f"/api/v1/changes?date={MONDAY}")) == set()


def test_public_teacher_abbreviations_show_names_but_no_notes(make_app):
    client = make_app(PUBLIC_TEACHER_ABBREVIATIONS=True).test_client()
    assert shown(client) == set(TEACHERS.values())
    rows = client.get(f"/api/v1/changes?date={MONDAY}").get_json()["changes"]
    assert any(row["original_teachers"] for row in rows) and all(not r["text"] for r in rows)
    # Still the public profile: no teacher boards, no teacher list.
    assert client.get("/board/teacher/Zwackelmann").status_code == 403
    assert client.get("/api/v1/teachers").status_code == 403


def test_public_notes_show_the_notes_with_teacher_names_taken_out(make_app):
    client = make_app(PUBLIC_NOTES=True).test_client()
    assert shown(client) == {NOTE_MARK}
    rows = client.get(f"/api/v1/changes?date={MONDAY}").get_json()["changes"]
    texts = {row["text"] for row in rows if row["text"]}
    assert f"Vertretung durch … statt …, {NOTE_MARK}" in texts
    assert f"Bitte bei …/… melden. {NOTE_MARK}" in texts
    assert all(row["teachers"] == row["original_teachers"] == [] for row in rows)


def test_both_opt_ins_show_names_and_whole_notes(make_app):
    client = make_app(PUBLIC_TEACHER_ABBREVIATIONS=True, PUBLIC_NOTES=True).test_client()
    page = client.get(f"/board/overview?date={MONDAY}")
    assert found(page) == set(PRIVATE)


# --- displays ---------------------------------------------------------------------------------

def test_a_public_display_stays_public_where_the_school_default_is_staff(make_app):
    app = make_app(DEFAULT_PROFILE="staff", **password_settings())
    admin = app.test_client()
    log_in(admin, ADMIN_PASSWORD)
    _, kiosk = pair_display(app, admin, profile="public")
    assert found(app.test_client().get("/board/overview")) == set(PRIVATE)  # the default
    board = kiosk.get("/display")
    assert board.status_code == 200 and 'class="row' in board.get_data(as_text=True)
    for path in ("/display", "/display?part=board", "/board/overview", "/api/v1/changes",
                 "/board/class/5a", "/ical/class/5a.ics", "/"):
        assert found(kiosk.get(path)) == set(), path
    assert kiosk.get("/api/v1/teachers").status_code == 403


@pytest.mark.parametrize(
    ("path", "headers"),
    [("/display?profile=staff", {}), ("/display?part=board&profile=staff&role=admin", {}),
     ("/board/overview?profile=staff", {}), ("/api/v1/changes?profile=staff", {}),
     ("/board/overview", {"X-Signage-Profile": "staff"}),
     ("/api/v1/changes", {"X-Forwarded-User": "admin", "Authorization": "Basic YWRtaW46eA=="})],
    ids=["display query", "display region query", "board query", "api query", "header",
         "proxy user and basic auth"],
)
def test_a_public_display_cannot_be_upgraded_by_the_request(make_app, path, headers):
    app = make_app(**password_settings())
    admin = app.test_client()
    log_in(admin, ADMIN_PASSWORD)
    _, kiosk = pair_display(app, admin, profile="public")
    response = kiosk.get(path, headers=headers)
    assert response.status_code == 200
    assert found(response) == set()
    assert kiosk.get("/api/v1/teachers?profile=staff", headers=headers).status_code == 403


def test_a_session_cookie_signed_with_another_key_grants_nothing(make_app):
    app = make_app(**password_settings(), SECRET_KEY="the-real-key-0123456789")
    forger = Flask("forger")
    forger.secret_key = "a-guessed-key-0123456789"
    forged = SecureCookieSessionInterface().get_signing_serializer(forger).dumps(
        {"role": "admin"})
    client = app.test_client()
    client.set_cookie("signage_session", forged)
    assert client.get("/api/v1/teachers").status_code == 403
    assert found(client.get("/board/overview")) == set()
    assert client.get("/admin").status_code == 302  # to the login


def test_a_staff_display_shows_names_until_it_is_revoked(make_app):
    app = make_app(**password_settings())
    admin = app.test_client()
    log_in(admin, ADMIN_PASSWORD)
    display_id, kiosk = pair_display(app, admin, profile="staff", board="teacher",
                                     target="Zwackelmann")
    assert "Zwackelmann" in found(kiosk.get("/display"))
    assert found(kiosk.get("/board/overview")) == set(PRIVATE)
    token = csrf(admin, f"/admin/displays/{display_id}")
    assert admin.post(f"/admin/displays/{display_id}/revoke",
                      data={"csrf_token": token}).status_code == 303
    assert kiosk.get("/display?part=board").status_code == 410
    assert found(kiosk.get("/board/overview")) == set()
    assert kiosk.get("/board/teacher/Zwackelmann").status_code == 403
