"""A board that sleeps on purpose, in real Chromium (issue 20): outside its on-hours it is a
black page; an emergency wakes it and it goes back to sleep when the emergency ends, each time
by itself, without anybody reloading it."""

from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from tests.web.test_browser import Server, admin_page, browser, live_fake  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PASSWORD = "the caretaker's pw"


def test_a_board_sleeps_wakes_for_an_emergency_and_sleeps_again_by_itself(
        browser, live_fake, tmp_path):  # noqa: F811
    # The fake school has lessons tomorrow only: today the screens sleep ("no lessons today").
    srv = Server(live_fake, DEFAULT_PROFILE="public", SCREENS_ON="auto",
                 STATE_FILE=str(tmp_path / "state.json"),
                 ADMIN_PASSWORD_HASH=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
    srv.start()
    try:
        kiosk = browser.new_page(viewport={"width": 1920, "height": 1080})
        loads = []
        kiosk.on("load", lambda: loads.append(kiosk.url))
        kiosk.goto(f"{srv.url}/board/overview")
        assert kiosk.get_attribute("body", "data-screen") == "asleep"
        lit = kiosk.evaluate("""() => [...document.querySelectorAll('body *')]
            .map(e => getComputedStyle(e).color).filter(c => c !== 'rgba(0, 0, 0, 0)')""")
        assert lit and all(c == "rgb(118, 118, 118)" for c in lit)  # one dim grey, on black
        kiosk.screenshot(path=str(tmp_path / "asleep.png"))

        admin = admin_page(browser, srv.url, PASSWORD)
        admin.goto(f"{srv.url}/admin/announcements/new")
        admin.fill("textarea[name=text]", "Feueralarm: Gebäude verlassen")
        admin.select_option("select[name=style]", "emergency")
        admin.fill("input[name=end]", "")
        admin.click("form.stacked button[type=submit]")

        kiosk.wait_for_selector(".emergency", timeout=15_000)  # awake, by itself
        assert kiosk.get_attribute("body", "data-screen") is None
        assert "Feueralarm" in kiosk.inner_text(".emergency")

        admin.goto(f"{srv.url}/admin")
        admin.click("text=End now")
        kiosk.wait_for_selector("body[data-screen=asleep]", timeout=15_000)  # asleep again
        kiosk.wait_for_load_state("load")
        kiosk.wait_for_timeout(500)  # the load event reaches the test
        assert len(loads) == 3  # the first load, and one load by the page itself each time
    finally:
        srv.stop()
