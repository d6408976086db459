"""Boards in real headless Chromium (Debian's package) against the real server process.

The server runs `flask signage serve` on the untis source, pointed at a fake WebUntis v3 server
in this process, polling every second; the kiosk script polls the board as often.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from werkzeug.security import generate_password_hash

from signage.demo.server import FakeUntis
from tests.conftest import TZ, fill_live_school, free_port, live_day, period, untis_settings

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENS = {"hd": (1920, 1080), "portrait": (1080, 1920), "uhd": (3840, 2160)}



class Server:
    """`flask signage serve` as a real process that can be stopped and started again."""

    def __init__(self, fake: FakeUntis, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNAGE_")}
        env.update({f"SIGNAGE_{k}": v for k, v in untis_settings(fake).items()})
        # Screens never sleep here (the fake schools have lessons tomorrow only); the power
        # schedule's own tests set SCREENS_ON.
        env.update(SIGNAGE_REFRESH_SECONDS="1", SIGNAGE_IDLE_REFRESH_SECONDS="1",
                   SIGNAGE_DEFAULT_PROFILE="staff", SIGNAGE_SCREENS_ON="always")
        env.update({f"SIGNAGE_{k}": v for k, v in settings.items()})
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "signage", "serve",
             "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:  # not listening yet, or too busy to answer in time
                time.sleep(0.1)
        raise AssertionError("the server did not become healthy within 15 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def today() -> str:
    """The day the boards are asked for: `live_day()`, inside the server's window all test long."""
    return live_day().isoformat()


@pytest.fixture
def live_fake():
    """A fake upstream on the real clock with the day's lessons for three classes, one cancelled."""
    fake = fill_live_school(FakeUntis(TZ, school="Testschule"), live_day())
    fake.update_period(1011, status="CANCELLED", substitutionText="Aufgaben in Moodle")
    fake.backdate(list(fake.periods), fake.clock() - timedelta(days=1))
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def server(live_fake):
    srv = Server(live_fake)
    srv.start()
    yield srv
    srv.stop()


class SharedClockBrowser:
    """Chromium whose pages read the test's wall clock. Chromium keeps the machine's clock; a
    shifted run (`make test-at`) moves the Python processes' one, so each page gets Playwright's
    clock set to the test's "now", running on from there."""

    def __init__(self, chromium: Browser) -> None:
        self.chromium = chromium

    def new_page(self, **options: Any) -> Page:
        return self._clocked(self.chromium.new_page(**options))

    def new_context(self, **options: Any) -> BrowserContext:
        return self._clocked(self.chromium.new_context(**options))

    def _clocked(self, target: Any) -> Any:
        if os.environ.get("TEST_CLOCK_OFFSET_S"):
            target.clock.install(time=time.time())
        return target


def admin_page(browser: SharedClockBrowser, url: str, password: str) -> Page:
    """Return a page of a new browser context logged in to the admin area at `url`."""
    page = browser.new_context().new_page()
    page.goto(f"{url}/admin")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    return page


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield SharedClockBrowser(chromium)
        chromium.close()


OVERFLOWING = """() => [...document.querySelectorAll('body *')].filter(e => {
  const r = e.getBoundingClientRect();
  return r.width > 0 && (r.right > innerWidth + 1 || r.bottom > innerHeight + 1 || r.left < -1);
}).map(e => e.className || e.tagName)"""


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("board", ["overview", "class/5a", "room/R101", "teacher/MÜL"])
def test_every_board_fits_each_screen_and_shows_its_freshness(browser, server, today,
                                                              tmp_path, board, screen):
    width, height = SCREENS[screen]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{server.url}/board/{board}?date={today}")
    page.wait_for_selector(".row")
    shot = tmp_path / f"{board.replace('/', '-')}-{screen}.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert page.evaluate(OVERFLOWING) == []
    assert "Stand " in page.inner_text(".freshness")
    assert page.is_hidden("#stale-badge")
    # Readable from 4 metres: body text at least ~2.2 % of the screen height.
    smallest = page.evaluate("() => Math.min(...[...document.querySelectorAll('.row span')]"
                             ".filter(e => e.textContent.trim())"
                             ".map(e => parseFloat(getComputedStyle(e).fontSize)))")
    assert smallest >= 0.0215 * height, smallest
    page.close()


def test_a_refresh_without_changes_leaves_the_dom_alone(browser, server, today):
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(f"{server.url}/board/overview?date={today}")
    page.evaluate("() => { document.querySelector('.content').dataset.mark = 'kept'; }")
    before = page.inner_html(".content")
    polls = []
    page.on("response", lambda r: polls.append(r.status) if "part=board" in r.url else None)
    page.wait_for_timeout(3500)  # three polls and syncs, each with a new "Stand"
    assert len(polls) >= 2
    assert page.evaluate("() => document.querySelector('.content').dataset.mark") == "kept"
    assert page.inner_html(".content") == before


def test_a_change_appears_within_a_poll_without_a_reload(browser, server, live_fake, today):
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(f"{server.url}/board/overview?date={today}")
    page.evaluate("() => { window.notReloaded = true; }")
    assert "Klausur" not in page.inner_text("#board")
    live_fake.update_period(1030, type="EXAM", exam={"id": 1})
    page.wait_for_function("() => document.querySelector('#board').innerText"
                           ".includes('Klausur')", timeout=5000)
    assert page.evaluate("() => window.notReloaded") is True
    assert page.is_visible(".kind-exam .badge.new")


def test_a_lost_server_leaves_the_board_with_the_stale_badge(browser, server, today):
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(f"{server.url}/board/class/5a?date={today}")
    rows = page.inner_text(".content")
    server.stop()
    page.wait_for_selector("#stale-badge", state="visible", timeout=5000)
    assert page.inner_text(".content") == rows
    assert page.url.startswith(server.url)  # no browser error page
    server.start()
    page.wait_for_selector("#stale-badge", state="hidden", timeout=15000)
    assert page.inner_text(".content") == rows


@pytest.fixture
def busy_fake():
    """A fake upstream with a busy day: 18 classes with five changed periods each."""
    fake = FakeUntis(TZ, school="Testschule")
    classes = {i: f"{5 + (i - 1) // 3}{'abc'[(i - 1) % 3]}" for i in range(1, 19)}
    fake.add_names("classes", classes)
    fake.add_names("teachers", {i: f"T{i:02d}" for i in range(1, 19)})
    fake.add_names("rooms", {i: f"R{100 + i}" for i in range(1, 19)})
    fake.add_names("subjects", {1: "M", 2: "D", 3: "E"})
    day = live_day()
    for cls in classes:
        for unit in range(5):
            fake.put_period(period(100 * cls + unit, day, unit, cls=cls, teacher=cls, room=cls,
                                   subject=1 + unit % 3, lesson=1000 * cls + unit,
                                   status="CANCELLED" if unit % 2 else "CHANGED",
                                   substitutionText="Aufgaben im Moodle bearbeiten"))
    fake.start()
    yield fake
    fake.stop()


@pytest.mark.parametrize("screen", SCREENS)
def test_a_busy_overview_pages_so_that_every_page_fits(browser, busy_fake, today, screen):
    server = Server(busy_fake)
    server.start()
    try:
        width, height = SCREENS[screen]
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(f"{server.url}/board/overview?date={today}")
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)  # a screen that needs fewer rows reloads once
        page.wait_for_selector(".page")
        bottoms = page.evaluate("""() => {  // each page alone, as the kiosk shows it
            const pages = [...document.querySelectorAll('.page')];
            const shown = pages.map(p => !p.hidden);
            const bottoms = pages.map(p => {
                pages.forEach(other => { other.hidden = other !== p; });
                return p.getBoundingClientRect().bottom; });
            pages.forEach((p, i) => { p.hidden = !shown[i]; });
            return bottoms; }""")
        assert len(bottoms) > 1 and max(bottoms) <= height
        assert "Seite 1/" in page.inner_text("#board")
    finally:
        server.stop()


def test_a_fresh_screen_shows_a_code_and_its_board_once_the_admin_pairs_it(browser, live_fake,
                                                                          tmp_path):
    srv = Server(live_fake, DEFAULT_PROFILE="public", STATE_FILE=str(tmp_path / "state.json"),
                 ADMIN_PASSWORD_HASH=generate_password_hash("the caretaker's pw",
                                                            "pbkdf2:sha256:1000"))
    srv.start()
    try:
        kiosk = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        refused = []
        kiosk.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text
                 else None)
        kiosk.goto(f"{srv.url}/display")
        code = kiosk.text_content("#pair-code")
        assert code and len(code) == 6

        admin = browser.new_context().new_page()
        admin.goto(f"{srv.url}/admin")
        assert "/login" in admin.url
        admin.fill("input[name=password]", "the caretaker's pw")
        admin.click("button[type=submit]")
        admin.click("text=New display")
        admin.fill("input[name=name]", "Foyer")
        admin.select_option("select[name=board]", "class")
        admin.fill("input[name=target]", "5a")
        admin.select_option("select[name=theme]", "dark")
        admin.click("form.stacked button[type=submit]")
        admin.fill("input[name=code]", code.lower())
        admin.click("form[action$='/pair'] button")
        assert "Paired" in admin.text_content(".flash")

        kiosk.wait_for_selector("#board .row", timeout=15_000)  # the board, without a touch
        assert kiosk.text_content("h1") == "Klasse 5a"
        assert "theme-dark" in kiosk.get_attribute("body", "class")
        assert "MÜL" not in kiosk.content()  # a public display: no teacher names
        admin.goto(f"{srv.url}/admin")
        admin.wait_for_function("document.querySelector('tr.display td.state')"
                                ".textContent.trim() === 'online'", timeout=10_000)
        # A change elsewhere (class 10a) is a new version but the same board: the heartbeat
        # still reports the version the screen has caught up with.
        live_fake.update_period(1030, status="CANCELLED")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            admin.goto(f"{srv.url}/admin")
            version = admin.text_content("th:text('Snapshot version') + td")
            shown = admin.text_content("tr.display td:nth-child(6)")
            if int(version) > 1 and shown.strip() == version.strip():
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the screen reports version {shown}, the store has {version}")

        admin.click("text=Revoke")
        kiosk.wait_for_selector("#pair-code", timeout=15_000)  # at its next poll
        assert kiosk.text_content("#pair-code") != code
        assert refused == []  # the CSP blocked nothing our pages need
    finally:
        srv.stop()
