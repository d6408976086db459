"""The admin area, displays and announcements, through the app's real routes (issue 5)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from werkzeug.security import generate_password_hash

from signage import create_app
from tests.conftest import TZ, untis_settings

ADMIN_PASSWORD = "correct horse battery"
STAFF_PASSWORD = "staff room kettle"
CHEAP = "pbkdf2:sha256:1000"  # tests need speed, not strength


def csrf_of(html: str) -> str:
    """Return the CSRF token a page's form carries."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match[1]


class Admin:
    """A logged-in admin's browser: a test client that knows its CSRF token."""

    def __init__(self, client) -> None:
        self.client = client
        self.csrf = csrf_of(client.get("/login").get_data(as_text=True))

    def login(self, password: str = ADMIN_PASSWORD):
        response = self.client.post("/login", data={"password": password,
                                                    "csrf_token": self.csrf})
        # A login starts a new session, and with it a new CSRF token (as a browser would see).
        self.csrf = csrf_of(self.client.get("/login").get_data(as_text=True))
        return response

    def post(self, path: str, **form):
        return self.client.post(path, data={"csrf_token": self.csrf, **form})


@pytest.fixture
def admin_app(fake, clock, engine, tmp_path):
    """The app with an admin and a staff password, on the synced store, public by default."""
    app = create_app({**untis_settings(fake), "DAYS_AHEAD": 2,
                      "ADMIN_PASSWORD_HASH": generate_password_hash(ADMIN_PASSWORD, CHEAP),
                      "STAFF_PASSWORD_HASH": generate_password_hash(STAFF_PASSWORD, CHEAP),
                      "STATE_FILE": str(tmp_path / "state.json")}, clock=clock, store=engine.store)
    assert engine.run_cycle(clock()).outcome == "full"
    return app


@pytest.fixture
def admin(admin_app) -> Admin:
    browser = Admin(admin_app.test_client())
    assert browser.login().status_code == 302
    return browser


DISPLAY_FORM = {"name": "Foyer", "board": "overview", "target": "", "view": "day", "rows": "",
                "profile": "public", "language": "de", "theme": "dark"}


def new_display(admin: Admin, **fields) -> str:
    """Create a display through the form; return its id."""
    response = admin.post("/admin/displays/new", **{**DISPLAY_FORM, **fields})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def pairing_code(kiosk) -> str:
    """Open /display as a fresh kiosk; return the code it shows."""
    page = kiosk.get("/display")
    assert page.status_code == 200
    match = re.search(r'id="pair-code">([A-Z0-9]{6})<', page.get_data(as_text=True))
    assert match, "no pairing code on the page"
    return match[1]


def pair(admin: Admin, kiosk, display_id: str) -> None:
    """Pair `kiosk` with a display the way a caretaker does: code on screen, typed by admin."""
    code = pairing_code(kiosk)
    assert admin.post(f"/admin/displays/{display_id}/pair", code=code.lower()).status_code == 303
    answer = kiosk.get("/display/pairing")
    assert answer.get_json() == {"state": "paired"}


ADMIN_GETS = ["/admin", "/admin/displays/new", "/admin/announcements/new", "/admin/displays/x1"]
ADMIN_POSTS = ["/admin/displays/new", "/admin/displays/x1", "/admin/displays/x1/pair",
               "/admin/displays/x1/revoke", "/admin/displays/x1/delete",
               "/admin/announcements/new", "/admin/announcements/a1/end",
               "/admin/announcements/a1/delete"]


@pytest.mark.parametrize("path", ADMIN_GETS)
def test_admin_pages_send_strangers_to_the_login(admin_app, path):
    response = admin_app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin")


@pytest.mark.parametrize("path", ADMIN_POSTS)
def test_admin_posts_without_a_session_are_401(admin_app, path):
    assert admin_app.test_client().post(path, data={"name": "x"}).status_code == 401


@pytest.mark.parametrize("path", ADMIN_POSTS)
def test_admin_posts_without_a_csrf_token_are_400(admin, path):
    response = admin.client.post(path, data={"name": "x", "code": "ABCDEF"})
    assert response.status_code == 400
    assert "not sent from this site" in response.get_data(as_text=True)


def test_a_staff_login_sees_teachers_but_not_the_admin_area(admin_app):
    staff = Admin(admin_app.test_client())
    assert staff.client.get("/api/v1/teachers").status_code == 403
    assert staff.login(STAFF_PASSWORD).status_code == 302
    assert staff.client.get("/api/v1/teachers").status_code == 200
    assert staff.client.get("/admin").status_code == 403


def test_login_with_a_wrong_password_is_401_and_the_sixth_try_in_a_minute_is_429(admin_app):
    browser = Admin(admin_app.test_client())
    for _ in range(5):
        assert browser.login("wrong").status_code == 401
    blocked = browser.login(ADMIN_PASSWORD)  # even the right one, until the window passes
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "60"
    assert browser.client.get("/admin").status_code == 302


def test_login_does_not_redirect_off_site(admin_app):
    browser = Admin(admin_app.test_client())
    response = browser.client.post("/login", data={"password": ADMIN_PASSWORD,
                                                   "csrf_token": browser.csrf,
                                                   "next": "//evil.example/"})
    assert response.headers["Location"] == "/"


def test_admin_is_off_without_a_password_hash(client):
    assert client.get("/admin").status_code == 404
    assert client.get("/login").status_code == 404


def test_logout_ends_the_session(admin):
    assert admin.post("/logout").status_code == 302
    assert admin.client.get("/admin").status_code == 302


def test_a_bad_display_form_says_what_is_wrong_and_saves_nothing(admin):
    response = admin.post("/admin/displays/new", name="", board="class", target="9z",
                          profile="secret", language="fr", theme="neon", rows="0", days="3")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for hint in ("a name of 1 to 80", "the name of a class", "one of public, staff",
                 "one of de, en, da, nl", "one of light, dark, contrast", "1 to 200",
                 "1 (the shown day) or 2 (and the next school day)"):
        assert hint in page
    assert "Foyer" not in admin.client.get("/admin").get_data(as_text=True)


def test_pairing_shows_the_board_with_the_displays_settings(admin, admin_app):
    display_id = new_display(admin, name="Staff room", board="class", target="5A",
                             profile="staff", language="en", theme="contrast")
    kiosk = admin_app.test_client()
    assert kiosk.get("/display/pairing").get_json()["state"] == "expired"  # no code yet
    code = pairing_code(kiosk)
    assert kiosk.get("/display/pairing").get_json() == {"state": "waiting", "code": code}
    assert pairing_code(kiosk) == code  # a reload keeps the code
    pair(admin, kiosk, display_id)
    board = kiosk.get("/display").get_data(as_text=True)
    assert "Class 5a" in board and "theme-contrast" in board and 'lang="en"' in board
    assert "MÜL" in board  # the staff profile shows teacher names
    cookie = kiosk.get_cookie("signage_display")
    assert len(cookie.value) >= 22 and cookie.http_only and cookie.max_age >= 365 * 24 * 3600
    stored = str(admin_app.extensions["signage"].registry.items("displays"))
    assert cookie.value not in stored  # only its hash is kept


def test_a_display_set_to_two_days_shows_the_next_school_day_too(admin, admin_app):
    display_id = new_display(admin, name="Staff room", board="overview", days="2")
    assert 'value="2" selected' in admin.client.get(f"/admin/displays/{display_id}").get_data(
        as_text=True)
    kiosk = admin_app.test_client()
    pair(admin, kiosk, display_id)
    board = kiosk.get("/display").get_data(as_text=True)
    assert board.count('<h2 class="day-title"><time datetime=') == 2
    admin.post(f"/admin/displays/{display_id}", **DISPLAY_FORM, days="1")
    board = kiosk.get("/display").get_data(as_text=True)
    assert 'class="days days-1"' in board and "day-title" not in board


def test_a_code_can_be_used_once_and_a_wrong_code_is_refused(admin, admin_app):
    first, second = new_display(admin, name="A"), new_display(admin, name="B")
    kiosk = admin_app.test_client()
    code = pairing_code(kiosk)
    wrong = admin.post(f"/admin/displays/{first}/pair", code="ZZZZZZ")
    assert wrong.status_code == 303
    assert "No screen shows the code ZZZZZZ" in admin.client.get(
        wrong.headers["Location"]).get_data(as_text=True)
    assert admin.post(f"/admin/displays/{first}/pair", code=code).status_code == 303
    admin.post(f"/admin/displays/{second}/pair", code=code)
    kiosk.get("/display/pairing")
    assert "Foyer" not in kiosk.get("/display").get_data(as_text=True)
    assert admin_app.extensions["signage"].registry.items("displays")[second]["token_hash"] is None


def test_an_expired_code_cannot_be_entered(admin, admin_app, clock):
    display_id = new_display(admin)
    kiosk = admin_app.test_client()
    code = pairing_code(kiosk)
    clock.advance(minutes=31)
    admin.post(f"/admin/displays/{display_id}/pair", code=code)
    assert kiosk.get("/display/pairing").get_json() == {"state": "expired"}
    assert pairing_code(kiosk) != code  # the kiosk shows a fresh one


def test_revoking_stops_the_screen_at_its_next_poll(admin, admin_app):
    display_id = new_display(admin)
    kiosk = admin_app.test_client()
    pair(admin, kiosk, display_id)
    page = kiosk.get("/display")
    etag = page.headers["ETag"]
    assert kiosk.get("/display?part=board", headers={"If-None-Match": etag}).status_code == 304
    assert admin.post(f"/admin/displays/{display_id}/revoke").status_code == 303
    poll = kiosk.get("/display?part=board", headers={"If-None-Match": etag})
    assert poll.status_code == 410
    assert kiosk.get_cookie("signage_display") is None
    assert 'id="pair-code"' in kiosk.get("/display").get_data(as_text=True)


def test_a_deleted_display_stops_its_screen_too(admin, admin_app):
    display_id = new_display(admin)
    kiosk = admin_app.test_client()
    pair(admin, kiosk, display_id)
    admin.post(f"/admin/displays/{display_id}/delete")
    assert kiosk.get("/display?part=board").status_code == 410


def test_the_heartbeat_shows_on_the_admin_list_and_silence_is_marked(admin, admin_app, clock):
    display_id = new_display(admin, name="Foyer left")
    kiosk = admin_app.test_client()
    pair(admin, kiosk, display_id)
    assert "paired, not seen yet" in admin.client.get("/admin").get_data(as_text=True)
    version = admin_app.extensions["signage"].store.version()
    kiosk.get("/display?part=board", headers={"X-Signage-Shown": str(version),
                                              "X-Signage-Screen": "1920x1080",
                                              "X-Signage-App": "0.5.0"})
    row = _display_row(admin, display_id)
    assert ">online<" in row and "1920x1080" in row and "0.5.0" in row
    assert f">{version}<" in row
    clock.advance(minutes=11)  # Monday 09:11 local: school hours
    assert "SILENT &gt; 10 min" in _display_row(admin, display_id)


def test_a_screen_quiet_at_night_is_not_marked_silent(admin, admin_app, clock):
    display_id = new_display(admin)
    kiosk = admin_app.test_client()
    pair(admin, kiosk, display_id)
    kiosk.get("/display?part=board")
    clock.advance(hours=9)  # 18:00: after school hours, screens sleep
    row = _display_row(admin, display_id)
    assert ">asleep (scheduled until 24.11. 07:15)<" in row and "SILENT" not in row


def test_a_forged_heartbeat_is_stored_harmlessly(admin, admin_app):
    display_id = new_display(admin)
    kiosk = admin_app.test_client()
    pair(admin, kiosk, display_id)
    kiosk.get("/display?part=board", headers={"X-Signage-Screen": "<script>", "X-Signage-App":
                                              "x" * 500, "X-Signage-Shown": "9" * 40})
    beat = admin_app.extensions["signage"].registry.items("heartbeats")[display_id]
    assert (beat["screen"], beat["app_version"], beat["version"]) == ("", "", None)


def _display_row(admin: Admin, display_id: str) -> str:
    page = admin.client.get("/admin").get_data(as_text=True)
    match = re.search(rf'<tr class="display[^"]*" data-display="{display_id}">(.*?)</tr>', page,
                      re.S)
    assert match, "the display is not listed"
    return match[1]


def local(clock, **delta) -> str:
    """Return the school-local time `delta` from now, as a datetime-local field sends it."""
    return (clock().astimezone(TZ) + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize(
    ("target", "board", "shown"),
    [
        pytest.param("all", "/board/room/R101", True, id="for all: on a room board"),
        pytest.param("board:class:5a", "/board/class/5a", True, id="for 5a: on 5a's board"),
        pytest.param("board:class:5a", "/board/class/5b", False, id="for 5a: not on 5b's"),
        pytest.param("board:overview", "/board/overview", True, id="for the overview"),
    ],
)
def test_a_banner_reaches_the_boards_it_targets(admin, admin_app, clock, target, board, shown):
    response = admin.post("/admin/announcements/new", text="Elternsprechtag ab 16 Uhr",
                          style="banner", target=target, start=local(clock, minutes=-1),
                          end=local(clock, hours=2))
    assert response.status_code == 303, response.get_data(as_text=True)
    page = admin_app.test_client().get(board).get_data(as_text=True)
    assert ("Elternsprechtag ab 16 Uhr" in page) is shown


def test_a_message_shows_from_its_start_until_its_end(admin, admin_app, clock):
    admin.post("/admin/announcements/new", text="Bus fällt aus", style="ticker", target="all",
               start=local(clock, hours=1), end=local(clock, hours=2))
    viewer = admin_app.test_client()
    first = viewer.get("/board/overview")
    assert "Bus fällt aus" not in first.get_data(as_text=True)
    clock.advance(hours=1, minutes=1)
    poll = viewer.get("/board/overview?part=board",
                      headers={"If-None-Match": first.headers["ETag"]})
    assert poll.status_code == 200 and 'class="ticker"' in poll.get_data(as_text=True)
    clock.advance(hours=1)
    assert "Bus fällt aus" not in viewer.get("/board/overview").get_data(as_text=True)


def test_a_display_targeted_message_reaches_only_that_display(admin, admin_app, clock):
    display_id = new_display(admin)
    kiosk = admin_app.test_client()
    pair(admin, kiosk, display_id)
    admin.post("/admin/announcements/new", text="Nur im Foyer", style="banner",
               target=f"display:{display_id}", end=local(clock, hours=1))
    assert "Nur im Foyer" in kiosk.get("/display").get_data(as_text=True)
    assert "Nur im Foyer" not in admin_app.test_client().get("/board/overview").get_data(
        as_text=True)


def test_an_emergency_takes_every_screen_until_ended(admin, admin_app):
    display_id = new_display(admin, board="room", target="R101")
    kiosk = admin_app.test_client()
    pair(admin, kiosk, display_id)
    response = admin.post("/admin/announcements/new", text="Bitte das Gebäude verlassen",
                          style="emergency", target="board:class:5a", end="")
    assert response.status_code == 303
    for page in (kiosk.get("/display"), admin_app.test_client().get("/board/class/5b")):
        html = page.get_data(as_text=True)
        assert '<div class="emergency" role="alert"><p>Bitte das Gebäude verlassen</p>' in html
    [notice_id] = admin_app.extensions["signage"].registry.items("announcements")
    assert admin.post(f"/admin/announcements/{notice_id}/end").status_code == 303
    assert "Bitte das Gebäude" not in kiosk.get("/display").get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "hint"),
    [
        pytest.param({"text": "", "style": "banner"}, "a message of 1 to 500", id="no text"),
        pytest.param({"text": "x", "style": "banner", "end": ""}, "only an emergency stays",
                     id="a banner without an end"),
        pytest.param({"text": "x", "style": "blink"}, "one of ticker, banner, emergency",
                     id="unknown style"),
        pytest.param({"text": "x", "style": "banner", "start": "2026-11-23T10:00",
                      "end": "2026-11-23T09:00"}, "a time after the start",
                     id="end before start"),
        pytest.param({"text": "x", "style": "banner", "end": "tomorrow"}, "a date and time",
                     id="end not a time"),
        pytest.param({"text": "x", "style": "banner", "target": "board:class:9z",
                      "end": "2026-11-23T23:00"}, "one of the listed", id="unknown target"),
    ],
)
def test_a_bad_announcement_says_what_is_wrong_and_saves_nothing(admin, admin_app, form, hint):
    response = admin.post("/admin/announcements/new", **{"target": "all", **form})
    assert response.status_code == 400 and hint in response.get_data(as_text=True)
    assert admin_app.extensions["signage"].registry.items("announcements") == {}


def test_displays_survive_a_restart_in_embedded_mode(admin, admin_app, fake, tmp_path):
    display_id = new_display(admin, name="Aula")
    kiosk = admin_app.test_client()
    pair(admin, kiosk, display_id)
    restarted = create_app({**untis_settings(fake), "STATE_FILE": str(tmp_path / "state.json")},
                           store=admin_app.extensions["signage"].store,
                           clock=admin_app.extensions["signage"].clock)
    client = restarted.test_client()
    client.set_cookie("signage_display", kiosk.get_cookie("signage_display").value)
    assert "theme-dark" in client.get("/display").get_data(as_text=True)


def test_the_dashboard_says_when_the_sync_pauses_after_refused_credentials(admin, admin_app,
                                                                          clock):
    store = admin_app.extensions["signage"].store
    until = clock() + timedelta(hours=1)
    store.write_status(replace(store.status(), auth_failures=3, auth_paused_until=until))
    page = admin.client.get("/admin").get_data(as_text=True)
    assert "refused our credentials 3 times in a row" in page
    assert "pauses until 23.11.2026 10:00" in page  # school time
    clock.advance(hours=1, seconds=1)
    assert "pauses until" not in admin.client.get("/admin").get_data(as_text=True)


def test_a_public_display_of_a_teacher_board_is_refused(admin, admin_app):
    response = admin.post("/admin/displays/new", name="Flur", board="teacher", target="MÜL",
                          profile="public", language="de", theme="light")
    assert response.status_code == 400
    assert "a teacher&#39;s board shows teacher names" in response.get_data(as_text=True)


def test_a_kiosk_on_an_error_page_tries_again_by_itself(admin, admin_app):
    display_id = new_display(admin, board="class", target="10a")
    kiosk = admin_app.test_client()
    pair(admin, kiosk, display_id)
    registry = admin_app.extensions["signage"].registry
    gone = {**registry.items("displays")[display_id], "target": "10z"}  # a class of last year
    registry.put("displays", display_id, gone)
    page = kiosk.get("/display")
    assert page.status_code == 404
    assert '<meta http-equiv="refresh" content="30">' in page.get_data(as_text=True)


def test_answers_that_depend_on_who_asks_are_not_shared_by_caches(admin, admin_app):
    public = admin_app.test_client().get("/api/v1/changes")
    assert "Cookie" in public.headers["Vary"]
    staff = admin.client.get("/api/v1/changes")
    assert "Cookie" in staff.headers["Vary"] and "private" in staff.headers["Cache-Control"]


def _group_attrs(page: str) -> tuple[str, str]:
    found = re.search(r'data-group-position="(\d+)" data-group-size="(\d+)" '
                      r'data-group-dwell-s="\d*"', page)
    assert found, "no group on the board"
    return found[1], found[2]


def test_displays_of_a_group_each_know_their_page_and_a_gap_closes(admin, admin_app):
    ids = [new_display(admin, name=f"Wall {n}", group="Foyer wall", position=str(n))
           for n in (3, 1, 2)]  # created in another order than their places
    kiosks = {}
    for display_id in ids:
        kiosks[display_id] = admin_app.test_client()
        pair(admin, kiosks[display_id], display_id)
    assert [_group_attrs(kiosks[i].get("/display").get_data(as_text=True)) for i in ids] == [
        ("3", "3"), ("1", "3"), ("2", "3")]
    assert admin.post(f"/admin/displays/{ids[1]}/delete").status_code in (302, 303)
    assert [_group_attrs(kiosks[i].get("/display").get_data(as_text=True))
            for i in (ids[0], ids[2])] == [("2", "2"), ("1", "2")]
    alone = new_display(admin, name="Alone")
    kiosk = admin_app.test_client()
    pair(admin, kiosk, alone)
    assert "data-group-size" not in kiosk.get("/display").get_data(as_text=True)


@pytest.mark.parametrize(("fields", "hint"), [
    ({"board": "class", "target": "5a", "group": "Wall", "position": "1"},
     "only overview displays share pages in a group"),
    ({"group": "Wall", "position": ""}, "the screen&#39;s place in the group, 1 to 20"),
    ({"group": "Wall", "position": "21"}, "1 to 20"),
    ({"group": "W" * 81, "position": "1"}, "a name of at most 80 characters"),
])
def test_a_bad_group_is_named_and_nothing_is_saved(admin, fields, hint):
    response = admin.post("/admin/displays/new", **{**DISPLAY_FORM, "name": "Wall 9", **fields})
    assert response.status_code == 400 and hint in response.get_data(as_text=True)
    assert "Wall 9" not in admin.client.get("/admin").get_data(as_text=True)
