"""Pairing by QR code in real headless Chromium against the real server process: the QR code on
a waiting screen fits every screen next to its code, and the phone page it opens pairs it."""

from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from tests.web import test_browser
from tests.web.test_browser import Server

pytestmark = pytest.mark.browser

browser, live_fake = test_browser.browser, test_browser.live_fake  # Chromium, a fake upstream

SCREENS = {"hd": (1920, 1080), "portrait": (1080, 1920), "uhd": (3840, 2160),
           "laptop": (1366, 768), "phone": (390, 844)}
PASSWORD = "the caretaker's pw"
MIN_QR_PX = 150  # CSS px: a phone reads it from an arm's length even at 41+ modules

# The box of what an element draws: a text's glyphs (a Range), or the element itself.
DRAWN = """el => { const range = document.createRange(); range.selectNodeContents(el);
  const r = el instanceof SVGElement ? el.getBoundingClientRect() : range.getBoundingClientRect();
  return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width}; }"""


@pytest.fixture
def server(live_fake, tmp_path):
    srv = Server(live_fake, DEFAULT_PROFILE="public", STATE_FILE=str(tmp_path / "state.json"),
                 ADMIN_PASSWORD_HASH=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
    srv.start()
    yield srv
    srv.stop()


def _inside(box: dict, width: int, height: int) -> bool:
    return (box["left"] >= -1 and box["top"] >= -1 and box["right"] <= width + 1
            and box["bottom"] <= height + 1)


@pytest.mark.parametrize("screen", SCREENS)
def test_the_qr_code_fits_each_screen_beside_the_code(browser, server, tmp_path, screen):
    width, height = SCREENS[screen]
    page = browser.new_page(viewport={"width": width, "height": height})
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text
            else None)
    page.goto(f"{server.url}/display")
    page.screenshot(path=str(tmp_path / f"pairing-{screen}.png"))
    qr = page.locator("#pair-qr svg")
    assert qr.is_visible()
    box = qr.evaluate(DRAWN)
    assert _inside(box, width, height), box
    assert box["width"] >= MIN_QR_PX, box
    assert page.evaluate("getComputedStyle(document.querySelector('#pair-qr svg'))"
                         ".backgroundColor") == "rgb(255, 255, 255)"  # light, on the dark page
    for text in (".pair-intro", "#pair-code"):
        drawn = page.locator(text).evaluate(DRAWN)
        assert _inside(drawn, width, height), f"{text} leaves the {width}×{height} screen: {drawn}"
    assert refused == []  # the CSP blocked nothing: the SVG carries no style
    page.close()


def test_a_phone_pairs_a_screen_through_its_qr_code(browser, server, tmp_path):
    kiosk = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    kiosk.goto(f"{server.url}/display")
    code = kiosk.text_content("#pair-code")
    link = kiosk.get_attribute("#pair-qr", "data-pair-url")  # what a phone reads off the QR
    assert link == f"{server.url}/admin/pair?code={code}"

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True).new_page()
    phone.goto(link)
    assert "/login" in phone.url
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button[type=submit]")
    assert phone.url == link  # back at the code after the login
    assert phone.text_content("#code") == code
    assert "no displays yet" in phone.text_content("#state")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    phone.screenshot(path=str(tmp_path / "phone-code.png"), full_page=True)
    phone.click("text=Create a display for this screen")
    phone.fill("input[name=name]", "Foyer")
    phone.select_option("select[name=board]", "class")
    phone.fill("input[name=target]", "5a")
    phone.click("form.stacked button[type=submit]")
    assert "Paired" in phone.text_content(".flash-ok >> nth=-1")

    kiosk.wait_for_selector("#board .row", timeout=15_000)  # the board, without a touch
    assert kiosk.text_content("h1") == "Klasse 5a"
