"""Screens that sleep on purpose (issue 20), through the Flask client with the clock passed in:
the asleep page, `/api/v1/power`, an emergency waking every screen, "wake now", the states in
the admin list and /metrics. The fixture school has lessons Mon 23 - Wed 25 Nov 2026, 08:00-11:30
(auto: awake 07:15-12:00)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from signage import create_app
from signage.demo.server import FakeUntis
from signage.sources.untis import UntisSource
from signage.store import MemoryStore
from signage.sync.engine import SyncEngine
from tests.conftest import (
    MONDAY,
    NAMES,
    SCHEDULE,
    TZ,
    Clock,
    cycle,
    period,
    untis_settings,
)
from tests.web.test_admin import DISPLAY_FORM, _display_row, local, new_display, pair

ASLEEP = 'data-screen="asleep"'


def at(clock, day, hour, minute=0):
    clock.set_local(datetime.combine(day, time(hour, minute)))


@pytest.mark.parametrize(("hour", "minute", "on", "until", "reason"), [
    (7, 14, False, "2026-11-23T07:15:00+01:00", "before school"),
    (7, 15, True, "2026-11-23T12:00:00+01:00", "school day"),
    (12, 0, False, "2026-11-24T07:15:00+01:00", "after school"),
])
def test_the_power_api_follows_the_school_day(admin_app, clock, hour, minute, on, until,
                                              reason):
    at(clock, MONDAY, hour, minute)
    answer = admin_app.test_client().get("/api/v1/power")
    assert answer.get_json() == {"on": on, "until": until, "reason": reason}
    assert answer.headers["Cache-Control"] == "no-store"


def test_a_board_outside_its_hours_is_a_black_page_that_polls_slowly(admin_app, clock):
    client = admin_app.test_client()
    at(clock, MONDAY, 9)
    assert ASLEEP not in client.get("/board/overview").get_data(as_text=True)
    at(clock, MONDAY, 18)
    page = client.get("/board/overview")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f"<body class=\"asleep\" {ASLEEP}>" in html
    assert 'data-poll-url="/board/overview?part=board"' in html and "asleep.js" in html
    assert "Bildschirm ruht bis 07:15" in html and "<script>" not in html
    assert "Vertretungsplan" not in html  # no board, no light
    region = client.get("/board/overview?part=board")
    assert ASLEEP in region.get_data(as_text=True) and "ETag" not in region.headers
    # A person asking for a day, or logged in, gets the board at any hour.
    assert ASLEEP not in client.get(f"/board/overview?date={MONDAY}").get_data(as_text=True)


def test_a_holiday_inside_the_window_sleeps_all_day(admin_app, fake, clock, engine):
    tuesday = MONDAY + timedelta(days=1)
    for pid in [p for p in fake.periods if fake.periods[p]["start"].startswith(str(tuesday))]:
        fake.delete_period(pid)
    cycle(engine, clock)
    at(clock, tuesday, 10)
    assert admin_app.test_client().get("/api/v1/power").get_json() == {
        "on": False, "until": "2026-11-25T07:15:00+01:00", "reason": "no lessons today"}


def test_an_emergency_wakes_every_screen_at_once(admin, admin_app, clock):
    display_id = new_display(admin, name="Foyer")
    kiosk = admin_app.test_client()
    pair(admin, kiosk, display_id)
    at(clock, MONDAY, 20)
    assert ASLEEP in kiosk.get("/display").get_data(as_text=True)
    admin.post("/admin/announcements/new", text="Feueralarm: Gebäude verlassen",
               style="emergency", target="all", start=local(clock, minutes=-1),
               end=local(clock, hours=1))
    assert "Feueralarm" in kiosk.get("/display?part=board").get_data(as_text=True)
    assert admin_app.test_client().get("/api/v1/power?display=foyer").get_json()["reason"] == (
        "emergency announcement")
    clock.advance(hours=2)  # the emergency is over: back to sleep
    assert ASLEEP in kiosk.get("/display?part=board").get_data(as_text=True)


def test_wake_now_lasts_until_the_next_scheduled_change(admin, admin_app, clock):
    display_id = new_display(admin, name="Staff room")
    kiosk = admin_app.test_client()
    pair(admin, kiosk, display_id)
    at(clock, MONDAY, 19)
    kiosk.get("/display?part=board")  # its heartbeat
    row = _display_row(admin, display_id)
    assert ">asleep (scheduled until 24.11. 07:15)<" in row and "Wake now" in row
    assert admin.post(f"/admin/displays/{display_id}/wake").status_code == 303
    assert ASLEEP not in kiosk.get("/display").get_data(as_text=True)
    assert "(woken)" in _display_row(admin, display_id)
    assert admin_app.test_client().get("/api/v1/power?display=Staff%20room").get_json() == {
        "on": True, "until": "2026-11-24T07:15:00+01:00", "reason": "woken by an admin"}
    at(clock, MONDAY + timedelta(days=1), 12, 5)  # the next school day is over: asleep again
    assert ASLEEP in kiosk.get("/display").get_data(as_text=True)


def test_a_display_has_its_own_hours_and_the_week_shows_them(admin, admin_app, clock):
    display_id = new_display(admin, name="Staff room", screens_on="06:30-17:00")
    kiosk = admin_app.test_client()
    pair(admin, kiosk, display_id)
    at(clock, MONDAY, 16)
    assert ASLEEP not in kiosk.get("/display").get_data(as_text=True)  # the school's: asleep
    assert ASLEEP in admin_app.test_client().get("/board/overview").get_data(as_text=True)
    dashboard = admin.client.get("/admin").get_data(as_text=True)
    week = dashboard.split("On-hours this week")[1]
    assert "06:30–17:00" in week and "off" in week  # Thursday on: beyond the window, unknown
    bad = admin.post(f"/admin/displays/{display_id}", **{**DISPLAY_FORM, "screens_on": "late"})
    assert bad.status_code == 400 and "auto, always or on-hours" in bad.get_data(as_text=True)


def test_states_tell_sleep_from_silence_and_metrics_count_them(admin, admin_app, clock):
    sleeper, silent = new_display(admin, name="A"), new_display(admin, name="B")
    kiosks = [admin_app.test_client(), admin_app.test_client()]
    pair(admin, kiosks[0], sleeper)
    pair(admin, kiosks[1], silent)
    at(clock, MONDAY, 9)
    for kiosk in kiosks:
        kiosk.get("/display?part=board")
    clock.advance(minutes=11)  # in on-hours, unheard for 11 minutes: silent
    kiosks[0].get("/display?part=board")
    assert "SILENT" in _display_row(admin, silent) and ">online<" in _display_row(admin, sleeper)
    at(clock, MONDAY, 21)  # at night neither is silent, whether it polls or not
    kiosks[0].get("/display?part=board")
    assert "asleep" in _display_row(admin, silent) and "asleep" in _display_row(admin, sleeper)
    metrics = admin_app.test_client().get("/metrics").get_data(as_text=True)
    assert 'signage_displays{state="asleep"} 2' in metrics


def test_an_unknown_display_name_is_a_404(admin_app):
    response = admin_app.test_client().get("/api/v1/power?display=Nowhere")
    assert response.status_code == 404 and "no display is named" in response.get_data(
        as_text=True)


def test_an_awake_board_polled_after_hours_tells_its_page_to_sleep(admin_app, clock):
    client = admin_app.test_client()
    at(clock, MONDAY, 11)
    tag = client.get("/board/overview?part=board").headers["ETag"]
    at(clock, MONDAY, 12, 1)
    polled = client.get("/board/overview?part=board", headers={"If-None-Match": tag})
    assert polled.status_code == 200 and ASLEEP in polled.get_data(as_text=True)


def test_admins_are_never_asleep(admin, clock):
    at(clock, MONDAY, 22)
    assert ASLEEP not in admin.client.get("/board/overview").get_data(as_text=True)


@pytest.fixture
def autumn(session):
    """A school around the night the clocks go back (Sun 25 Oct 2026): lessons 08:00-12:35 on
    Fri 23, Mon 26, Tue 27 and Thu 29 Oct; Wed 28 is a holiday. Returns its app, engine, clock."""
    clock = Clock(datetime(2026, 10, 23, 9, 0))
    fake = FakeUntis(TZ, clock=clock, school="Herbstschule")
    for category, names in NAMES.items():
        fake.add_names(category, names)
    for n, day in enumerate([datetime(2026, 10, d).date() for d in (23, 26, 27, 29)]):
        for unit in range(5):
            fake.put_period(period(100 * n + unit, day, unit))
    fake.start()
    client_id, secret = fake.credentials
    upstream = UntisSource(fake.url, fake.tenant, client_id, secret, TZ, session)
    engine = SyncEngine(upstream, MemoryStore(), TZ, days_ahead=7, schedule=SCHEDULE)
    app = create_app({**untis_settings(fake), "DAYS_AHEAD": 7}, clock=clock, store=engine.store)
    yield app, engine, clock
    fake.stop()


@pytest.mark.parametrize(("local_now", "on", "until", "reason"), [
    (datetime(2026, 10, 26, 10, 0), True, "2026-10-26T13:05:00+01:00", "school day"),
    (datetime(2026, 10, 24, 10, 0), False, "2026-10-26T07:15:00+01:00", "no lessons today"),
    (datetime(2026, 10, 28, 10, 0), False, "2026-10-29T07:15:00+01:00", "no lessons today"),
    (datetime(2026, 10, 25, 2, 30), False, "2026-10-26T07:15:00+01:00", "no lessons today"),
    (datetime(2026, 10, 23, 14, 0), False, "2026-10-26T07:15:00+01:00", "after school"),
], ids=["school day", "saturday", "holiday", "the night the clocks go back", "friday afternoon"])
def test_the_schedule_page_and_api_on_each_kind_of_day(autumn, local_now, on, until, reason):
    app, engine, clock = autumn
    clock.set_local(local_now)
    assert engine.run_cycle(clock(), force=True).outcome in ("full", "delta")
    client = app.test_client()
    assert client.get("/api/v1/power").get_json() == {"on": on, "until": until, "reason": reason}
    page = client.get("/board/class/5a").get_data(as_text=True)
    assert (ASLEEP in page) is not on
    if not on:
        assert f"Bildschirm ruht bis {until[11:16]}" in page
