"""The ICS feeds through the Flask test client, parsed back with icalendar."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import icalendar
import pytest

from signage import create_app
from signage.domain.rows import day_rows, rows_for
from signage.sync.engine import SyncEngine
from tests.conftest import MONDAY, SCHEDULE, TZ, untis_settings

TEACHERS = ("MÜL", "BEC", "SCH")




def feed(client, path: str) -> icalendar.Calendar:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.get_data())


def event_at(calendar: icalendar.Calendar, local: datetime) -> icalendar.Event:
    (event,) = [e for e in calendar.events if e.start == local.replace(tzinfo=TZ)]
    return event


def unfolded(response) -> str:
    return response.get_data(as_text=True).replace("\r\n ", "")


def test_one_event_per_row_of_the_window(app, client, changed):
    calendar = feed(client, "/ical/class/5a.ics")
    snapshot = app.extensions["signage"].store.snapshot()
    days = [MONDAY + timedelta(days=n) for n in range(3)]
    expected = [r for day in days for r in rows_for(day_rows(snapshot, day), "classes", "5a")]
    # Monday: the double period split by the change, then the D double; Tue and Wed: two doubles.
    assert len(calendar.events) == len(expected) == 7
    starts = [(e.start.date(), e.start.strftime("%H:%M"), e.end.strftime("%H:%M"))
              for e in calendar.events]
    assert starts == [(r.date, r.start, r.end) for r in expected]
    assert starts[:3] == [(MONDAY, "08:00", "08:45"), (MONDAY, "08:50", "09:35"),
                          (MONDAY, "09:55", "11:30")]


def test_the_calendar_names_itself_and_its_zone(client, changed):
    calendar = feed(client, "/ical/class/5a.ics")
    assert calendar["VERSION"] == "2.0"
    assert "signage" in calendar["PRODID"]
    assert calendar["X-WR-CALNAME"] == "Testschule – Klasse 5a"
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Berlin"]
    assert calendar.get_missing_tzids() == set()
    assert calendar.refresh_interval == timedelta(minutes=30)
    assert calendar["X-PUBLISHED-TTL"] == "PT30M"


def test_times_are_school_local_in_europe_berlin(client, changed):
    calendar = feed(client, "/ical/class/5a.ics")
    event = event_at(calendar, datetime.combine(MONDAY, time(8, 50)))
    assert event.start.tzinfo.key == event.end.tzinfo.key == "Europe/Berlin"
    assert event.start.utcoffset() == timedelta(hours=1)
    assert event.end == datetime.combine(MONDAY, time(9, 35), tzinfo=TZ)
    raw = client.get("/ical/class/5a.ics").get_data(as_text=True)
    assert "DTSTART;TZID=Europe/Berlin:20261123T085000" in raw


def test_a_substitution_says_so_with_its_room_and_note(client, changed):
    event = event_at(feed(client, "/ical/class/5a.ics"), datetime.combine(MONDAY, time(8, 50)))
    assert event["SUMMARY"] == "M 5a (Vertretung, Raumänderung)"
    assert event["STATUS"] == "CONFIRMED"
    assert event["LOCATION"] == "Bio1"
    description = event["DESCRIPTION"]
    assert "Buch mitbringen" in description and "Statt Raum: R101" in description
    assert "Lehrkraft: BEC" in description and "Statt Lehrkraft: MÜL" in description  # staff


def test_regular_periods_are_confirmed_without_change_words(client, changed):
    event = event_at(feed(client, "/ical/class/5a.ics"), datetime.combine(MONDAY, time(9, 55)))
    assert event["SUMMARY"] == "D 5a"
    assert event["STATUS"] == "CONFIRMED" and event["LOCATION"] == "R101"


def test_a_cancelled_period_is_status_cancelled(client, changed):
    calendar = feed(client, "/ical/class/5b.ics")
    event = event_at(calendar, datetime.combine(MONDAY, time(9, 55)))
    assert event["STATUS"] == "CANCELLED"
    assert event["SUMMARY"] == "D 5b (Entfall)"
    assert event.end == datetime.combine(MONDAY, time(11, 30), tzinfo=TZ)  # the whole double
    assert [e["STATUS"] for e in calendar.events].count("CANCELLED") == 1


def test_dtstamp_is_the_last_successful_sync(client, changed, clock):
    calendar = feed(client, "/ical/class/5a.ics")
    assert {e.DTSTAMP for e in calendar.events} == {clock()}


def test_uids_are_unique_and_stable(client, fake, clock, engine):
    def uids():
        return [str(e["UID"]) for e in feed(client, "/ical/class/5a.ics").events]

    first = uids()
    assert len(set(first)) == len(first) == 6
    assert uids() == first
    clock.advance(minutes=2)
    fake.update_period(1011, status="CANCELLED")  # splits Monday's double period
    assert engine.run_cycle(clock()).outcome == "delta"
    after = uids()
    assert len(set(after)) == len(after) == 7
    assert set(first) <= set(after)  # the calendar updates its events, it does not duplicate


def test_parallel_groups_of_a_class_get_distinct_uids(client, fake, clock, engine):
    clock.advance(minutes=2)
    fake.put_period({**fake.periods[1010], "id": 9001, "rooms": [{"id": 2, "status": "REGULAR"}],
                     "lessonId": 999})  # a second group of 5a: same slot, same subject
    assert engine.run_cycle(clock()).outcome == "delta"
    events = feed(client, "/ical/class/5a.ics").events
    monday_first = [e for e in events if e.start == datetime.combine(MONDAY, time(8), tzinfo=TZ)]
    assert len(monday_first) == 2
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == len(uids)


def test_a_room_feed_lists_lessons_moved_out_of_it_and_into_it(client, changed):
    moved = datetime.combine(MONDAY, time(8, 50))
    out = event_at(feed(client, "/ical/room/R101.ics"), moved)
    into = event_at(feed(client, "/ical/room/Bio1.ics"), moved)
    assert out["UID"] == into["UID"]
    assert out["LOCATION"] == "Bio1" and "Statt Raum: R101" in out["DESCRIPTION"]
    assert "Raumänderung" in out["SUMMARY"]
    assert feed(client, "/ical/room/R101.ics")["X-WR-CALNAME"] == "Testschule – Raum R101"




@pytest.mark.parametrize("path", ["/ical/class/5a.ics", "/ical/class/5b.ics",
                                  "/ical/room/R101.ics", "/ical/room/Bio1.ics"])
def test_the_public_profile_shows_no_teacher_names(public_client, client, changed, path):
    staff_text = unfolded(client.get(path))
    assert any(t in staff_text for t in TEACHERS)  # the staff feed does name them
    response = public_client.get(path)
    assert response.status_code == 200
    text = unfolded(response)
    assert not [t for t in TEACHERS if t in text]
    assert "Lehrkraft" not in text


def test_names_are_case_insensitive(client):
    calendar = feed(client, "/ical/class/5A.ics")
    assert calendar["X-WR-CALNAME"] == "Testschule – Klasse 5a"


@pytest.mark.parametrize("path", ["/ical/class/5z.ics", "/ical/room/R999.ics"])
def test_an_unknown_name_answers_404_listing_the_known_ones(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "unknown" in response.get_data(as_text=True)
    assert "5a, 5b, 10a" in client.get("/ical/class/x.ics").get_data(as_text=True)


def test_a_matching_etag_answers_304_without_building_the_calendar(client, monkeypatch):
    first = client.get("/ical/class/5a.ics")
    etag = first.headers["ETag"]

    def refuse(self, *args, **kwargs):
        raise AssertionError("the calendar was built for a matching ETag")

    monkeypatch.setattr(icalendar.Calendar, "to_ical", refuse)
    again = client.get("/ical/class/5a.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    monkeypatch.undo()
    other = client.get("/ical/class/5b.ics", headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_the_etag_follows_the_timetable_not_every_sync(client, fake, clock, engine):
    etag = client.get("/ical/class/5a.ics").headers["ETag"]
    clock.advance(minutes=2)
    assert engine.run_cycle(clock()).version == 1  # a sync that changes nothing
    assert client.get("/ical/class/5a.ics", headers={"If-None-Match": etag}).status_code == 304
    clock.advance(minutes=2)
    fake.update_period(1030, status="CANCELLED")  # another class: the version still moves
    engine.run_cycle(clock())
    changed = client.get("/ical/class/5a.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_before_the_first_sync_the_feed_answers_503(fake):
    client = create_app(untis_settings(fake)).test_client()
    response = client.get("/ical/class/5a.ics")
    assert response.status_code == 503
    assert "first sync" in response.get_data(as_text=True)


def test_an_etag_from_before_a_restart_does_not_match(client, fake, clock, engine):
    first = client.get("/ical/class/5a.ics")
    restarted = create_app({**untis_settings(fake), "DAYS_AHEAD": 2, "DEFAULT_PROFILE": "staff"},
                           clock=clock)
    rt = restarted.extensions["signage"]
    clock.advance(minutes=1)
    SyncEngine(engine.source, rt.store, TZ, 2, SCHEDULE).run_cycle(clock())
    assert rt.store.version() == 1  # the same version number as before the restart
    again = restarted.test_client().get("/ical/class/5a.ics",
                                        headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
