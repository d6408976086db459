"""Pairing by QR code: the waiting screen shows a QR code of the admin's pairing page for its
code; that page (login first) lists the displays, and choosing one pairs the screen."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import segno

from signage.views.security import CSP
from tests.web import test_admin
from tests.web.test_admin import ADMIN_PASSWORD, Admin, csrf_of, new_display, pairing_code

admin_app, admin = test_admin.admin_app, test_admin.admin  # the admin area's fixtures

SCREEN_HOST = "http://screens.school.example"  # the address the screen opened /display at


def qr_of(page: str) -> tuple[str, str]:
    """Return the pairing URL a waiting screen's page names and the QR code's SVG markup."""
    match = re.search(r'<div class="pair-qr-box"[^>]*data-pair-url="([^"]+)"[^>]*>(<svg.*?</svg>)'
                      r"</div>", page, re.DOTALL)
    assert match, "no QR code on the page"
    return unescape(match[1]), match[2]


def modules(svg: str) -> list[list[bool]]:
    """Return the dark modules that segno's SVG path draws, quiet zone included, row by row.

    The path is a run of moves (`M x y` absolute, `m dx dy` relative) to the middle of a
    module row, each followed by a horizontal line `h n` over n dark modules.
    """
    size = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    assert size and size[1] == size[2], "the QR code is not square"
    n = int(size[1])
    path = re.search(r'<path class="qrline" stroke="#000" d="([^"]+)"', svg)
    assert path, "no dark modules drawn in black"
    grid = [[False] * n for _ in range(n)]
    x = y = 0.0
    for command, args in re.findall(r"([MmHh])([-\d. ]+)", path[1]):
        numbers = [float(v) for v in args.split()]
        if command == "M":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            end = numbers[0] if command == "H" else x + numbers[0]
            for column in range(int(x), int(end)):
                grid[int(y)][column] = True
            x = end
    return grid


def test_a_waiting_screen_shows_a_qr_code_of_its_pairing_page(admin_app):
    kiosk = admin_app.test_client()
    page = kiosk.get("/display", base_url=SCREEN_HOST).get_data(as_text=True)
    code = re.search(r'id="pair-code">([A-Z0-9]{6})<', page)[1]
    url, svg = qr_of(page)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "screens.school.example",
                                                        "/admin/pair")
    assert parse_qs(parts.query) == {"code": [code]}
    # What the SVG draws is the QR code of that URL, module for module, with a 4-module quiet
    # zone, on white (the page itself is dark).
    expected = [[bool(v) for v in row] for row in segno.make(url, error="m").matrix_iter(border=4)]
    assert modules(svg) == expected
    assert f'<path fill="#fff" d="M0 0h{len(expected)}v{len(expected)}h-{len(expected)}z"/>' in svg
    assert "theme-dark" in page
    label = re.search(r'id="pair-qr" role="img" aria-label="([^"]{10,})" title="([^"]+)"', page)
    assert label and label[1] == label[2], "the QR code has no text alternative"


def test_the_pairing_page_keeps_the_strict_csp_without_inline_style_or_script(admin_app):
    response = admin_app.test_client().get("/display")
    page = response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"] == CSP
    assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP
    assert not re.search(r"\sstyle\s*=", page, re.IGNORECASE)
    assert not re.search(r"<style", page, re.IGNORECASE)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.IGNORECASE | re.DOTALL)
    assert scripts and all('src="/static/' in attrs and not body.strip()
                           for attrs, body in scripts)
    assert 'href="/static/pair.css"' in page


def test_the_qr_link_sends_a_stranger_to_the_login_and_back_to_the_code(admin, admin_app):
    new_display(admin, name="Foyer left")
    code = pairing_code(admin_app.test_client())
    phone = admin_app.test_client()
    response = phone.get(f"/admin/pair?code={code}")
    assert response.status_code == 302
    login = urlsplit(response.headers["Location"])
    assert login.path == "/login"
    assert parse_qs(login.query) == {"next": [f"/admin/pair?code={code}"]}
    form = phone.get(response.headers["Location"]).get_data(as_text=True)
    assert f'name="next" value="/admin/pair?code={code}"' in unescape(form)
    logged_in = phone.post("/login", data={"password": ADMIN_PASSWORD, "csrf_token": csrf_of(form),
                                           "next": f"/admin/pair?code={code}"})
    assert logged_in.headers["Location"] == f"/admin/pair?code={code}"
    page = phone.get(logged_in.headers["Location"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert code in text and "It is waiting" in text and "Foyer left" in text


def test_choosing_a_display_on_the_qr_page_pairs_the_screen(admin, admin_app):
    first, second = new_display(admin, name="Foyer left"), new_display(admin, name="Aula")
    kiosk = admin_app.test_client()
    code = pairing_code(kiosk)
    typed = f"{code[:3].lower()}-{code[3:]}"  # a code read out and typed into the address
    page = admin.client.get(f"/admin/pair?code={typed}").get_data(as_text=True)
    choices = page[page.index('<ul class="choices">'):]
    assert choices.index("Aula") < choices.index("Foyer left")  # by name
    assert f'action="/admin/displays/{second}/pair"' in page
    assert f'name="code" value="{code}"' in page
    chosen = admin.post(f"/admin/displays/{first}/pair", code=code)
    assert chosen.status_code == 303 and chosen.headers["Location"] == "/admin"
    assert "Paired: the screen shows “Foyer left”" in admin.client.get("/admin").get_data(
        as_text=True)
    registry = admin_app.extensions["signage"].registry
    assert registry.items("pairings")[code]["display_id"] == first
    again = admin.client.get(f"/admin/pair?code={code}").get_data(as_text=True)
    assert "already given to “Foyer left”" in again and "/pair\"" not in again
    assert kiosk.get("/display/pairing").get_json() == {"state": "paired"}
    assert "theme-dark" in kiosk.get("/display").get_data(as_text=True)
    assert registry.items("displays")[first]["token_hash"] is not None
    assert registry.items("displays")[second]["token_hash"] is None
    assert admin.client.get(f"/admin/pair?code={code}").status_code == 404  # used up


def test_without_displays_the_qr_page_creates_one_that_pairs_with_the_screen(admin, admin_app):
    kiosk = admin_app.test_client()
    code = pairing_code(kiosk)
    page = admin.client.get(f"/admin/pair?code={code}").get_data(as_text=True)
    assert "no displays yet" in page
    assert f'href="/admin/displays/new?code={code}"' in page
    form = admin.client.get(f"/admin/displays/new?code={code}").get_data(as_text=True)
    assert '<form method="post" class="stacked">' in form  # posts back to the URL with the code
    created = admin.client.post(f"/admin/displays/new?code={code}", data={
        "csrf_token": admin.csrf, "name": "Foyer", "board": "class", "target": "5a",
        "view": "day", "rows": "", "profile": "public", "language": "en", "theme": "light"})
    assert created.status_code == 303 and created.headers["Location"] == "/admin"
    dashboard = admin.client.get("/admin").get_data(as_text=True)
    assert "“Foyer” saved." in dashboard and "Paired: the screen shows “Foyer”" in dashboard
    assert kiosk.get("/display/pairing").get_json() == {"state": "paired"}
    assert "Class 5a" in kiosk.get("/display").get_data(as_text=True)


def test_an_unknown_or_expired_code_is_a_404_that_says_so(admin, admin_app, clock):
    expired = pairing_code(admin_app.test_client())
    clock.advance(minutes=31)
    for code in ("ZZZZZZ", expired):
        response = admin.client.get(f"/admin/pair?code={code}")
        assert response.status_code == 404
        assert ("This code is unknown or has expired: the screen shows a new one."
                in response.get_data(as_text=True))


@pytest.mark.parametrize("query", ["", "?code=", "?code=K7QX2", "?code=K7QX2MM", "?code=K0QX2M",
                                   "?code=%3Cb%3Ex%3C%2Fb%3E", "?code=" + "A" * 5000])
def test_a_missing_or_malformed_code_is_a_400_that_says_so(admin, query):
    response = admin.client.get(f"/admin/pair{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This link carries no valid pairing code" in page and "<b>x" not in page


def test_the_qr_page_needs_the_admin_not_staff(admin_app):
    staff = Admin(admin_app.test_client())
    staff.login(test_admin.STAFF_PASSWORD)
    assert staff.client.get("/admin/pair?code=ZZZZZZ").status_code == 403
