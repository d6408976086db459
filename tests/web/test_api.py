"""The JSON API and /healthz through the Flask test client, on a store filled by a real sync."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from signage import create_app
from signage.demo.server import Fault
from tests.conftest import MONDAY, untis_settings

ROW_KEYS = {"date", "start", "end", "classes", "subjects", "teachers", "original_teachers",
            "rooms", "original_rooms", "kinds", "text"}




def test_changes_of_today_as_the_contract_spells_them(client, changed, clock):
    body = client.get("/api/v1/changes").get_json()
    assert body["date"] == "2026-11-23"
    assert body["as_of"] == clock().isoformat()
    assert "window" not in body
    rows = body["changes"]
    assert all(set(row) == ROW_KEYS for row in rows)
    assert rows == [
        {"date": "2026-11-23", "start": "08:50", "end": "09:35", "classes": ["5a"],
         "subjects": ["M"], "teachers": ["BEC"], "original_teachers": ["MÜL"],
         "rooms": ["Bio1"], "original_rooms": ["R101"], "kinds": ["substitution", "room_change"],
         "text": "Buch mitbringen"},
        {"date": "2026-11-23", "start": "09:55", "end": "11:30", "classes": ["5b"],
         "subjects": ["D"], "teachers": ["BEC"], "original_teachers": [], "rooms": ["R102"],
         "original_rooms": [], "kinds": ["cancelled"], "text": ""},
    ]


@pytest.mark.parametrize(
    ("query", "classes"),
    [("class=5a", [["5a"]]), ("class=5A", [["5a"]]), ("class=10a", []),
     ("room=R101", [["5a"]]), ("room=Bio1", [["5a"]]), ("room=R102", [["5b"]]),
     ("teacher=MÜL", [["5a"]]), ("teacher=BEC", [["5a"], ["5b"]])],
    ids=["class", "class in other case", "class without changes", "room moved out of",
         "room moved into", "room of a cancellation", "absent teacher", "substitute teacher"],
)
def test_changes_filter_by_class_room_and_teacher(client, changed, query, classes):
    rows = client.get(f"/api/v1/changes?{query}").get_json()["changes"]
    assert [row["classes"] for row in rows] == classes


@pytest.mark.parametrize("query", ["class=5z", "room=R999", "teacher=XYZ"])
def test_unknown_names_answer_404_listing_the_known_ones(client, query):
    response = client.get(f"/api/v1/changes?{query}")
    assert response.status_code == 404
    body = response.get_json()
    assert "unknown" in body["error"] and body["status"] == 404
    assert "5a, 5b, 10a" in client.get("/api/v1/changes?class=x").get_json()["error"]


@pytest.mark.parametrize("value", ["2026-13-01", "yesterday", "23.11.2026", "2026-11-23T08:00"])
def test_a_bad_date_answers_400(client, value):
    response = client.get(f"/api/v1/changes?date={value}")
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.get_json()["error"]


def test_an_oversized_parameter_answers_400(client):
    response = client.get("/api/v1/changes?class=" + "x" * 5000)
    assert response.status_code == 400
    assert "longer than" in response.get_json()["error"]


def test_another_day_in_the_window(client, fake, clock, engine):
    clock.advance(minutes=2)
    fake.update_period(2030, status="CANCELLED")
    engine.run_cycle(clock())
    rows = client.get("/api/v1/changes?date=2026-11-24").get_json()["changes"]
    assert [(r["date"], r["classes"], r["kinds"]) for r in rows] == [
        ("2026-11-24", ["10a"], ["cancelled"])]


def test_a_day_outside_the_window_is_empty_and_names_the_window(client):
    body = client.get("/api/v1/changes?date=2026-12-24").get_json()
    assert body["changes"] == []
    assert body["window"] == {"start": "2026-11-23", "end": "2026-11-25"}


def test_the_etag_follows_the_snapshot_version(client, fake, clock, engine):
    first = client.get("/api/v1/changes")
    again = client.get("/api/v1/changes", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    clock.advance(minutes=2)
    fake.update_period(1010, status="CANCELLED")
    engine.run_cycle(clock())
    changed = client.get("/api/v1/changes", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and len(changed.get_json()["changes"]) == 1


def test_board_names(client):
    assert client.get("/api/v1/classes").get_json() == ["5a", "5b", "10a"]
    assert client.get("/api/v1/rooms").get_json() == ["Bio1", "R101", "R102"]
    assert client.get("/api/v1/teachers").get_json() == ["BEC", "MÜL", "SCH"]




def test_the_public_profile_shows_no_teacher_names(public_client, changed):
    response = public_client.get("/api/v1/changes")
    assert response.status_code == 200
    rows = response.get_json()["changes"]
    assert rows and all(r["teachers"] == [] and r["original_teachers"] == [] for r in rows)
    assert "MÜL" not in response.get_data(as_text=True)
    assert public_client.get("/api/v1/changes?teacher=MÜL").status_code == 403
    assert public_client.get("/api/v1/teachers").status_code == 403


def test_before_the_first_sync_the_api_says_so(fake):
    client = create_app(untis_settings(fake)).test_client()
    response = client.get("/api/v1/changes")
    assert response.status_code == 503
    assert "first sync" in response.get_json()["error"]
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"status": "never", "last_success": None, "age_seconds": None,
                                 "source": "untis", "last_error": None,
                                 "auth_paused_until": None}


def test_healthz_is_ok_while_fresh_and_503_when_stale(app, client, clock):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["age_seconds"] == 0 and body["source"] == "untis"
    assert body["last_success"] == clock().isoformat()
    clock.advance(seconds=app.extensions["signage"].settings.stale_after_s + 1)
    stale = client.get("/healthz")
    assert stale.status_code == 503 and stale.get_json()["status"] == "stale"


def test_healthz_reports_the_last_error_and_keeps_the_data(client, fake, clock, engine):
    fake.inject(Fault("timetable", 500))
    engine.run_cycle(clock.advance(minutes=1))
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and "HTTP 500" in body["last_error"]
    assert client.get("/api/v1/classes").status_code == 200


def test_unknown_pages_answer_a_page_not_a_traceback(client):
    response = client.get("/board/nothing/here")
    assert response.status_code == 404
    assert "<h1>404" in response.get_data(as_text=True)
    assert client.get("/api/v1/nothing").get_json()["status"] == 404


def test_the_index_lists_the_boards_grouped_with_links_that_keep_settings(client):
    page = client.get("/?lang=en&theme=dark").get_data(as_text=True)
    assert "Testschule" in page and "As of 09:00" in page
    assert "/board/class/10a?lang=en&amp;theme=dark" in page
    assert "/board/room/Bio1?lang=en&amp;theme=dark" in page
    assert "/board/teacher/M%C3%9CL?lang=en&amp;theme=dark" in page  # the app fixture is staff
    assert '<html lang="en">' in page
    assert page.index(">5a<") < page.index(">5b<") < page.index(">10a<")
    assert client.get("/?lang=xx").status_code == 400


def test_no_secret_reaches_a_response(client, fake):
    secret = fake.credentials[1]
    for path in ("/", "/healthz", "/api/v1/changes", "/api/v1/classes", "/nothing"):
        assert secret not in client.get(path).get_data(as_text=True)


@pytest.mark.parametrize(
    ("local", "expected"),
    [(time(9, 0), MONDAY), (time(11, 40), MONDAY + timedelta(days=1)),
     (time(17, 30), MONDAY + timedelta(days=1)), (time(23, 30), MONDAY + timedelta(days=1))],
    ids=["during lessons", "after the last period", "after the switch hour",
         "late evening"],
)
def test_without_a_date_the_api_shows_the_day_boards_show(client, clock, local, expected):
    clock.set_local(datetime.combine(MONDAY, local))
    assert client.get("/api/v1/changes").get_json()["date"] == expected.isoformat()


def test_a_quote_in_a_parameter_is_a_clean_404_not_a_500(client):
    response = client.get('/api/v1/changes?class="5a"')
    assert response.status_code == 404
    assert client.get('/api/v1/changes?x="').status_code == 200


def test_a_sync_without_changes_still_refreshes_as_of(client, clock, engine):
    first = client.get("/api/v1/changes")
    clock.advance(minutes=5)
    assert engine.run_cycle(clock()).version == 1  # nothing changed upstream
    again = client.get("/api/v1/changes", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    assert again.get_json()["as_of"] == clock().isoformat()


def test_a_wrong_method_answers_405_with_allow(client):
    response = client.post("/api/v1/changes")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]


def test_healthz_allows_the_longer_idle_interval_outside_school_hours(fake, clock, engine):
    app = create_app(untis_settings(fake), clock=clock, store=engine.store)
    rt = app.extensions["signage"]
    clock.set_local(datetime.combine(MONDAY, time(18, 0)))
    engine.run_cycle(clock())
    client = app.test_client()
    clock.advance(seconds=rt.settings.stale_after_s + 60)  # stale by the school-hours limit
    assert client.get("/healthz").get_json()["status"] == "ok"
    clock.advance(seconds=rt.settings.idle_stale_after_s)
    assert client.get("/healthz").status_code == 503


def test_a_date_must_have_two_digit_month_and_day(client):
    assert client.get("/api/v1/changes?date=2026-1-1").status_code == 400
    assert client.get("/?date=garbage").status_code == 400
