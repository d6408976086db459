"""Display groups in real Chromium: three screens side by side share one overview, screen k
showing page k, the group turning its pages together; a screen that drops out stops no other."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page
from werkzeug.security import generate_password_hash

from tests.web.test_browser import Server, admin_page, browser, busy_fake  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PASSWORD = "the caretaker's pw"
SCREENS = 3
ROWS = 5  # a class of the busy school per page: 18 pages


def shown_page(kiosk: Page) -> str:
    """Return the page number the screen shows ("Seite 4/18")."""
    return kiosk.evaluate("""() => [...document.querySelectorAll('.page')]
        .filter(p => !p.hidden).map(p => p.querySelector('.page-number').textContent)
        .join(' & ')""")


def until_next_round(kiosk: Page) -> float:
    """Return the seconds until the group turns its pages (by the screen's own clock)."""
    return kiosk.evaluate("""() => {
        const dwell = Number(document.querySelector('.region').dataset.groupDwellS) * 1000;
        return (dwell - Date.now() % dwell) / 1000; }""")


def read_round(kiosks: list[Page], dwell_s: float) -> list[str]:
    """Return what each screen shows, read in the middle of a round: screens turn within a
    moment of each other (their clocks agree with the server's to some milliseconds)."""
    left = until_next_round(kiosks[0])
    if not 2 < left < dwell_s - 2:
        time.sleep(left + 2)
    return [shown_page(k) for k in kiosks]


def test_a_group_shows_one_page_per_screen_and_turns_them_together(browser, busy_fake,  # noqa: F811
                                                                    tmp_path):
    srv = Server(busy_fake, DEFAULT_PROFILE="public", STATE_FILE=str(tmp_path / "state.json"),
                 ADMIN_PASSWORD_HASH=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
    srv.start()
    try:
        admin = admin_page(browser, srv.url, PASSWORD)
        kiosks = []
        for position in range(1, SCREENS + 1):
            kiosk = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            kiosk.goto(f"{srv.url}/display")
            code = kiosk.text_content("#pair-code")
            admin.goto(f"{srv.url}/admin/displays/new?code={code}")  # as the QR code opens it
            admin.fill("input[name=name]", f"Wall {position}")
            admin.fill("input[name=group]", "Foyer wall")
            admin.fill("input[name=position]", str(position))
            admin.fill("input[name=rows]", str(ROWS))
            admin.click("form.stacked button[type=submit]")
            kiosk.wait_for_selector("#board .page", state="attached", timeout=15_000)
            kiosks.append(kiosk)
        for kiosk in kiosks:  # the first screens learn of the later ones at their next poll
            kiosk.reload()
            kiosk.wait_for_selector("#board .page", state="attached")
        dwell_s = kiosks[0].evaluate(
            "() => Number(document.querySelector('.region').dataset.groupDwellS)")
        first = read_round(kiosks, dwell_s)
        number = int(first[0].split()[1].split("/")[0])
        assert first == [f"Seite {number + k}/18" for k in range(SCREENS)], first
        assert number % SCREENS == 1
        time.sleep(until_next_round(kiosks[0]) + 2)
        second = read_round(kiosks, dwell_s)
        following = number + SCREENS if number + SCREENS <= 18 else 1
        assert second == [f"Seite {following + k}/18" for k in range(SCREENS)], second
        kiosks[1].context.close()  # the middle screen drops out
        time.sleep(until_next_round(kiosks[0]) + 2)
        third = read_round([kiosks[0], kiosks[2]], dwell_s)
        after = following + SCREENS if following + SCREENS <= 18 else 1
        assert third == [f"Seite {after}/18", f"Seite {after + 2}/18"], third
        kiosks[0].screenshot(path=str(tmp_path / "group-screen-1.png"))
    finally:
        srv.stop()
