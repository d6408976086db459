"""The admin's "check the connection" (issue 16): the dashboard asks, the sync process probes the
source with `signage check`'s own probe and stores the report, the page shows it."""

from __future__ import annotations

import re
import subprocess
import time
from html import unescape

import pytest
import requests
from werkzeug.security import generate_password_hash

from signage import create_app
from signage.sync.scheduler import answer_check_request, build_sync
from tests.conftest import free_port, untis_settings
from tests.system.test_cli import FLASK, ROOT, _env
from tests.web import test_admin
from tests.web.test_admin import ADMIN_PASSWORD, CHEAP, Admin, csrf_of

admin_app, admin = test_admin.admin_app, test_admin.admin  # the admin area's fixtures


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_the_dashboard_asks_and_the_sync_process_answers(admin, admin_app, fake):
    dashboard = admin.client.get("/admin").get_data(as_text=True)
    assert 'action="/admin/check"' in dashboard
    assert admin.client.get("/admin/check").get_data(as_text=True).count("No check has run") == 1
    asked = admin.post("/admin/check")
    assert asked.status_code == 303 and asked.headers["Location"].endswith("/admin/check")
    waiting = admin.client.get("/admin/check").get_data(as_text=True)
    assert 'data-check="running"' in waiting and 'http-equiv="refresh"' in waiting
    rt = admin_app.extensions["signage"]
    process = build_sync(rt)
    try:
        assert answer_check_request(rt, process)
        assert not answer_check_request(rt, process)  # answered: not probed again
    finally:
        process.close()
    page = admin.client.get("/admin/check").get_data(as_text=True)
    assert 'data-check="ok"' in page and 'http-equiv="refresh"' not in page
    text = _text(page)
    assert "credentials: accepted" in text
    assert "ok: the source can feed the boards" in text
    assert fake.credentials[1] not in page
    # The probe used a store of its own: the boards' snapshot is the sync's, untouched.
    assert rt.store.version() == 1


def test_a_refused_secret_is_reported_on_the_page_without_the_secret(fake, clock, tmp_path):
    wrong = "not-the-secret-0815"
    app = create_app({**untis_settings(fake), "UNTIS_CLIENT_SECRET": wrong,
                      "ADMIN_PASSWORD_HASH": generate_password_hash(ADMIN_PASSWORD, CHEAP),
                      "STATE_FILE": str(tmp_path / "state.json")}, clock=clock)
    rt = app.extensions["signage"]
    browser = Admin(app.test_client())
    browser.login()
    browser.post("/admin/check")
    process = build_sync(rt)
    try:
        assert answer_check_request(rt, process)
    finally:
        process.close()
    page = browser.client.get("/admin/check").get_data(as_text=True)
    assert 'data-check="problems"' in page
    assert "SIGNAGE_UNTIS_CLIENT_SECRET" in page
    assert wrong not in page and "Traceback" not in page


def test_a_request_nobody_answers_says_which_process_to_start(admin, admin_app, clock):
    admin.post("/admin/check")
    clock.advance(minutes=3)
    page = admin.client.get("/admin/check").get_data(as_text=True)
    assert "No sync process has answered" in page and "signage sync" in page
    assert 'http-equiv="refresh"' not in page  # no reload loop on a page that will not change


def test_only_an_admin_may_ask(admin_app):
    stranger = admin_app.test_client()
    assert stranger.post("/admin/check").status_code == 401
    assert stranger.get("/admin/check").status_code == 302


@pytest.mark.system
def test_the_button_works_in_the_embedded_server(live_fake, tmp_path):
    port = free_port()
    settings = {**untis_settings(live_fake), "STATE_FILE": str(tmp_path / "state.json"),
                "ADMIN_PASSWORD_HASH": generate_password_hash(ADMIN_PASSWORD, CHEAP)}
    process = subprocess.Popen(FLASK + ["serve", "--port", str(port)], cwd=ROOT,
                               env=_env(**settings), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    browser = requests.Session()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                login = browser.get(f"{base}/login", timeout=2)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline and process.poll() is None, "no server"
                time.sleep(0.2)
        browser.post(f"{base}/login", data={"password": ADMIN_PASSWORD,
                                            "csrf_token": csrf_of(login.text)}, timeout=5)
        dashboard = browser.get(f"{base}/admin", timeout=5)
        asked = browser.post(f"{base}/admin/check", data={"csrf_token": csrf_of(dashboard.text)},
                             timeout=5)
        assert asked.status_code == 200 and asked.url.endswith("/admin/check")
        deadline = time.monotonic() + 60
        page = asked.text
        while 'data-check="ok"' not in page and 'data-check="problems"' not in page:
            assert time.monotonic() < deadline, _text(page)
            time.sleep(0.5)
            page = browser.get(f"{base}/admin/check", timeout=5).text
        assert 'data-check="ok"' in page, _text(page)
        assert "credentials: accepted" in _text(page)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert "Traceback" not in output, output
    assert live_fake.credentials[1] not in output
