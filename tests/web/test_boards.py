"""HTML boards through the Flask test client, on a store filled by a real sync."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from flask import template_rendered

from signage import create_app
from signage.domain.board import Group, paginate
from signage.domain.model import ChangeRow
from signage.sync.engine import SyncEngine
from tests.conftest import MONDAY, SCHEDULE, TZ, cycle, period, untis_settings


@pytest.fixture
def awake_client(app, fake, clock, engine):
    """A client of the app with screens never asleep (SCREENS_ON=always), on the same store."""
    return create_app({**untis_settings(fake), "DAYS_AHEAD": 2, "DEFAULT_PROFILE": "staff",
                       "SCREENS_ON": "always"}, clock=clock, store=engine.store).test_client()


@pytest.fixture
def changed(app, fake, clock, engine):
    """5a: a substitution with a room change (unit 2); 5b: cancelled double period (3-4);
    10a: an exam, an extra lesson and a moved lesson."""
    clock.advance(minutes=2)
    fake.update_period(1011, status="CHANGED", substitutionText="Buch mitbringen",
                       teachers=[{"id": 1, "status": "REMOVED"}, {"id": 2, "status": "ADDED"}],
                       rooms=[{"id": 1, "status": "REMOVED"}, {"id": 3, "status": "ADDED"}])
    fake.update_period(1022, status="CANCELLED", substitutionText="Aufgaben in Moodle")
    fake.update_period(1023, status="CANCELLED", substitutionText="Aufgaben in Moodle")
    fake.update_period(1030, type="EXAM", exam={"id": 1})
    fake.update_period(1031, status="CHANGED", substitutionText="Zeit geändert")
    fake.update_period(1032, relatedPeriod=1033)
    fake.update_period(1033, status="ADDITIONAL", type="ADDITIONAL_PERIOD")
    assert engine.run_cycle(clock()).outcome == "delta"
    return app


def test_the_overview_lists_every_change_grouped_by_class(client, changed):
    page = client.get("/board/overview").get_data(as_text=True)
    for word in ("Vertretung", "Raumänderung", "Entfall", "Klausur", "Änderung", "Verlegung",
                 "Zusatzstunde"):
        assert word in page, word
    assert page.index("<h2>5a</h2>") < page.index("<h2>5b</h2>") < page.index("<h2>10a</h2>")
    assert "<del>MÜL</del>" in page and "<del>R101</del>" in page
    assert 'class="units">3-4</span>' in page  # the cancelled double period is one row
    assert "Stand 09:02" in page and "Montag, 23. November 2026" in page
    assert "Buch mitbringen" in page


def test_the_class_board_shows_the_whole_day_or_changes_only(client, changed):
    day = client.get("/board/class/5a").get_data(as_text=True)
    assert day.count('<div class="row ') == 3  # units 1, 2 and the double period 3-4
    assert "regular" in day
    changes = client.get("/board/class/5a?view=changes").get_data(as_text=True)
    assert changes.count('<div class="row ') == 1


def test_the_room_board_shows_lessons_moved_out_and_in(client, changed):
    out = client.get("/board/room/R101").get_data(as_text=True)
    assert "<del>R101</del>" in out
    into = client.get("/board/room/Bio1").get_data(as_text=True)
    assert "Vertretung" in into and "5a" in into


def test_the_teacher_board_lists_substitutions_first(client, changed):
    page = client.get("/board/teacher/BEC").get_data(as_text=True)
    first_row = page.index('class="row')
    assert "kind-substitution" in page[first_row:first_row + 80]


def test_the_public_profile_has_no_teacher_names_or_boards(public_client, changed):
    for path in ("/board/overview", "/board/class/5a", "/board/room/R101", "/"):
        text = public_client.get(path).get_data(as_text=True)
        assert "MÜL" not in text and "BEC" not in text, path
    assert public_client.get("/board/teacher/BEC").status_code == 403


def test_no_changes_is_a_friendly_state_distinct_from_no_data(client, fake, clock, engine):
    page = client.get("/board/overview").get_data(as_text=True)
    assert "Heute keine Änderungen." in page and "Noch keine Daten" not in page
    empty = create_app(untis_settings(fake)).test_client().get("/board/overview")
    assert empty.status_code == 503
    assert "Noch keine Daten" in empty.get_data(as_text=True)


def test_a_matching_etag_answers_304_before_rendering(app, client, changed):
    first = client.get("/board/overview")
    seen = []

    def record(sender, template, context, **extra):
        seen.append(template.name)

    with template_rendered.connected_to(record, app):  # Flask's own signal; nothing replaced
        again = client.get("/board/overview?part=board",
                           headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
        assert seen == []
        fresh = client.get("/board/overview?part=board")
    assert fresh.status_code == 200 and seen == ["_board_region.html"]
    assert "<html" not in fresh.get_data(as_text=True)


def test_the_page_carries_its_etag_and_poll_url_for_the_kiosk_script(client, changed):
    response = client.get("/board/class/5a?view=changes")
    page = response.get_data(as_text=True)
    assert response.headers["ETag"].strip('"') in page
    assert 'data-poll-url="/board/class/5a?view=changes&amp;part=board"' in page
    assert '<noscript><meta http-equiv="refresh" content="60"></noscript>' in page
    assert "<script>" not in page  # no inline script: CSP-friendly


@pytest.mark.parametrize(
    ("local", "expected"),
    [(time(9, 0), "Montag, 23. November 2026"), (time(12, 0), "Dienstag, 24. November 2026"),
     (time(17, 5), "Dienstag, 24. November 2026")],
    ids=["during lessons", "after the last period", "after the switch hour"],
)
def test_boards_switch_to_the_next_school_day(awake_client, clock, local, expected):
    clock.set_local(datetime.combine(MONDAY, local))
    assert expected in awake_client.get("/board/overview").get_data(as_text=True)


def test_a_date_overrides_the_day(client):
    page = client.get("/board/overview?date=2026-11-25").get_data(as_text=True)
    assert "Mittwoch, 25. November 2026" in page


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [("/board/class/5z", 404, "5a, 5b, 10a"), ("/board/room/R9", 404, "Bio1, R101, R102"),
     ("/board/overview?date=morgen", 400, "YYYY-MM-DD"),
     ("/board/overview?rows=0", 400, "from 1 to 200"), ("/board/nothing", 404, "404")],
)
def test_bad_input_gets_a_page_that_says_what_is_accepted(client, path, status, text):
    response = client.get(path)
    assert response.status_code == status
    assert text in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def row(name: str, start: str = "08:00") -> ChangeRow:
    return ChangeRow(MONDAY, start, "08:45", (name,), ("M",), (), (), (), (), ("cancelled",))


def group(name: str, size: int) -> Group:
    return Group(name, tuple(row(name, f"{8 + i:02d}:00") for i in range(size)))


@pytest.mark.parametrize(
    ("sizes", "capacity", "pages"),
    [
        ([3, 3, 3], 10, [["5a", "5b", "5c"]]),
        ([4, 4, 4], 10, [["5a", "5b"], ["5c"]]),
        ([2, 9, 2], 10, [["5a"], ["5b"], ["5c"]]),
        ([12], 5, [["5a"], ["5a+"], ["5a+"]]),
        ([2, 12, 1], 5, [["5a"], ["5b"], ["5b+"], ["5b+", "5c"]]),
        ([], 5, [[]]),
    ],
    ids=["all fit", "a group that does not fit opens a new page", "no group is split",
         "a group larger than a page continues", "continuation shares its last page",
         "no changes: one empty page"],
)
def test_overview_pages_never_split_a_class_group(sizes, capacity, pages):
    groups = [group(f"5{chr(97 + i)}", size) for i, size in enumerate(sizes)]
    result = paginate(groups, capacity)
    assert [[g.name + ("+" if g.continued else "") for g in p.groups] for p in result] == pages
    assert all(p.size <= capacity for p in result)
    assert sum(p.size for p in result) == sum(sizes)


def test_dwell_time_grows_with_the_rows_on_a_page():
    small, large = paginate([group("5a", 2)], 10)[0], paginate([group("5a", 9)], 10)[0]
    assert large.dwell_s > small.dwell_s


def test_the_overview_pages_with_page_numbers(client, changed):
    page = client.get("/board/overview?rows=1").get_data(as_text=True)
    assert "Seite 1/" in page and "(Fortsetzung)" in page


@pytest.mark.parametrize(
    ("lang", "words"),
    [("de", ["Montag, 23. November 2026", "Entfall", "Vertretung", "Stand 09:02"]),
     ("en", ["Monday, November 23, 2026", "Cancelled", "Substitution", "As of 09:02"]),
     ("da", ["mandag den 23. november 2026", "Aflyst", "Vikar", "Opdateret 09:02"]),
     ("nl", ["maandag 23 november 2026", "Vervalt", "Vervanging", "Stand 09:02"])],
)
def test_boards_speak_four_languages(client, changed, lang, words):
    page = client.get(f"/board/overview?lang={lang}").get_data(as_text=True)
    for word in words:
        assert word in page, (lang, word)
    assert f"lang={lang}" in page  # the kiosk keeps polling in its language


def test_the_default_language_comes_from_the_settings(fake, clock, engine, changed):
    app = create_app({**untis_settings(fake), "LANGUAGE": "nl"}, clock=clock, store=engine.store)
    assert "Roosterwijzigingen" in app.test_client().get("/board/overview").get_data(as_text=True)


@pytest.mark.parametrize("theme", ["light", "dark", "contrast"])
def test_themes_are_chosen_by_parameter(client, theme):
    page = client.get(f"/board/overview?theme={theme}").get_data(as_text=True)
    assert f"theme-{theme}" in page


@pytest.mark.parametrize(
    ("query", "text"),
    [("lang=fr", "lang must be one of de, en, da, nl"),
     ("theme=pink", "theme must be one of light, dark, contrast"),
     ("days=3", "days must be 1 (the shown day) or 2 (and the next school day); got &#39;3&#39;"),
     ("days=two", "days must be 1 (the shown day) or 2"), ("days=02", "days must be 1")],
)
def test_a_bad_language_or_theme_is_a_400_page(client, query, text):
    response = client.get(f"/board/overview?{query}")
    assert response.status_code == 400 and text in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["name=x", "endpoint=x", "_method=POST", "_anchor=x",
                                   "part=x", "view=changes&view=day"])
def test_odd_query_parameters_do_not_break_a_board(client, query):
    response = client.get(f"/board/class/5a?{query}")
    assert response.status_code == 200
    assert "part=board" in response.get_data(as_text=True)


def test_names_with_a_slash_have_boards(client, fake, clock, engine):
    clock.advance(minutes=2)
    fake.add_names("classes", {7: "Q1/Q2"})
    fake.put_period(period(7001, MONDAY, 0, cls=7, status="CANCELLED"))
    engine.run_cycle(clock())
    index = client.get("/").get_data(as_text=True)
    assert "/board/class/Q1/Q2" in index
    page = client.get("/board/class/Q1/Q2")
    assert page.status_code == 200 and "Q1/Q2" in page.get_data(as_text=True)
    assert client.get("/ical/class/Q1/Q2.ics").status_code == 200


def test_a_teacher_named_in_a_note_stays_hidden_in_the_public_profile(public_client, fake,
                                                                       clock, engine):
    clock.advance(minutes=2)
    fake.update_period(1010, status="CHANGED", substitutionText="Vertretung durch MÜL, Raum R101")
    engine.run_cycle(clock())
    for path in ("/board/overview", "/api/v1/changes", "/ical/class/5a.ics"):
        text = public_client.get(path).get_data(as_text=True)
        assert "MÜL" not in text and "M\\u00dcL" not in text, path
        assert "Vertretung durch" not in text, path  # notes stay off public screens by default
    opted_in = create_app({**untis_settings(fake), "DAYS_AHEAD": 2, "PUBLIC_NOTES": "true"},
                          clock=clock, store=engine.store)
    page = opted_in.test_client().get("/board/overview").get_data(as_text=True)
    assert "Vertretung durch …, Raum R101" in page and "MÜL" not in page


def test_before_the_first_sync_the_kiosk_polls_the_board_part(fake):
    response = create_app(untis_settings(fake)).test_client().get("/board/class/5a?theme=dark")
    assert response.status_code == 503
    assert 'data-poll-url="/board/class/5a?theme=dark&amp;part=board"' in response.get_data(
        as_text=True)


def _sections(page: str) -> list[tuple[str, str]]:
    """Return each day section's `data-today` and `<time datetime>`, in order."""
    return re.findall(r'<section class="day" data-today="(\w+)">\s*<h2 class="day-title">'
                      r'<time datetime="([\d-]+)">', page)


@pytest.mark.parametrize("board", ["overview", "class/5b", "room/R102", "teacher/BEC"])
def test_two_days_show_the_shown_day_and_the_next_school_day(client, changed, fake, clock,
                                                            engine, board):
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    fake.update_period(2020, status="CANCELLED", substitutionText="Wandertag")  # Tue, 5b
    cycle(engine, clock)
    page = client.get(f"/board/{board}?days=2").get_data(as_text=True)
    assert _sections(page) == [("yes", MONDAY.isoformat()), ("no", tuesday.isoformat())]
    monday_part, tuesday_part = page.split('<section class="day"')[1:]
    assert "Entfall" in monday_part and "Wandertag" not in monday_part
    assert "Wandertag" in tuesday_part
    one = client.get(f"/board/{board}").get_data(as_text=True)
    assert _sections(one) == [] and f'<time datetime="{MONDAY.isoformat()}">' in one
    assert 'class="days days-1"' in one and 'class="days days-2"' in page
    for period_id in [p for p in fake.periods if fake.periods[p]["start"].startswith(
            tuesday.isoformat())]:  # Tuesday off: the next school day is Wednesday
        fake.delete_period(period_id)
    cycle(engine, clock)
    page = client.get(f"/board/{board}?days=2").get_data(as_text=True)
    assert _sections(page) == [("yes", MONDAY.isoformat()), ("no", wednesday.isoformat())]


def test_each_day_pages_on_its_own_and_never_splits_a_class(client, changed, fake, clock,
                                                            engine):
    for period_id in (2010, 2012, 2020, 2022):  # Tuesday: 5a and 5b two changes each
        fake.update_period(period_id, status="CANCELLED")
    cycle(engine, clock)
    page = client.get("/board/overview?days=2&rows=3").get_data(as_text=True)
    monday_part, tuesday_part = page.split('<section class="day"')[1:]
    # Monday: 5a and 5b (a row each) on page 1, 10a's four rows on two pages of their own.
    monday_pages = monday_part.split('<div class="page"')[1:]
    assert [re.findall(r"<h3>(\w+)", p) for p in monday_pages] == [["5a", "5b"], ["10a"], ["10a"]]
    assert "Seite 1/3" in monday_pages[0] and "(Fortsetzung)" in monday_pages[2]
    # Tuesday: 5a's two rows and 5b's two do not share a page of three.
    tuesday_pages = tuesday_part.split('<div class="page"')[1:]
    assert [re.findall(r"<h3>(\w+)", p) for p in tuesday_pages] == [["5a"], ["5b"]]
    assert "Seite 2/2" in tuesday_pages[1] and "(Fortsetzung)" not in tuesday_part


def test_tomorrows_board_is_not_today(awake_client, clock):
    clock.set_local(datetime.combine(MONDAY, time(17, 30)))
    page = awake_client.get("/board/class/5a").get_data(as_text=True)
    assert 'data-today="no"' in page and "Dienstag" in page
    assert 'data-today="yes"' in awake_client.get(
        f"/board/class/5a?date={MONDAY.isoformat()}").get_data(as_text=True)


def _renders(app, path: str, client=None) -> list[str]:
    seen = []

    def record(sender, template, context, **extra):
        seen.append(template.name)

    with template_rendered.connected_to(record, app):
        assert (client or app.test_client()).get(path).status_code == 200
    return seen


def test_a_rendered_board_is_reused_until_the_data_changes(app, fake, clock, engine):
    assert _renders(app, "/board/overview") == ["board.html"]
    assert _renders(app, "/board/overview") == []  # the same ETag: the cached page
    clock.advance(minutes=2)
    fake.update_period(1010, status="CANCELLED")
    engine.run_cycle(clock())
    assert _renders(app, "/board/overview") == ["board.html"]


def test_workers_share_rendered_boards_through_redis(fake, clock, engine, redis_url,
                                                     redis_prefix, tmp_path):
    from signage.store.redis_store import RedisStore

    apps = []
    for _ in range(2):
        worker = create_app({**untis_settings(fake), "REDIS_URL": redis_url,
                             "REDIS_PREFIX": redis_prefix, "DAYS_AHEAD": 2,
                             "COPY_DIR": str(tmp_path)}, clock=clock)
        apps.append(worker)
    store = apps[0].extensions["signage"].store
    assert isinstance(store, RedisStore)
    SyncEngine(engine.source, store, TZ, 2, SCHEDULE).run_cycle(clock())
    try:
        assert _renders(apps[0], "/board/class/5a") == ["board.html"]
        assert _renders(apps[1], "/board/class/5a") == []  # rendered once, for both workers
    finally:
        for worker in apps:
            worker.extensions["signage"].store.close()


def test_a_moved_lesson_names_its_other_side_on_both_slots(client, fake, clock, engine):
    tuesday = MONDAY + timedelta(days=1)
    fake.put_period(period(5001, tuesday, 3, cls=3, teacher=3, room=3, subject=1,
                           status="ADDITIONAL", type="ADDITIONAL_PERIOD", relatedPeriod=1030))
    fake.update_period(1030, status="CANCELLED", relatedPeriod=5001)  # 10a, Monday unit 1
    fake.put_period(period(5002, MONDAY, 3, cls=1, teacher=1, room=1, subject=3,
                           status="ADDITIONAL", relatedPeriod=1010))  # 5a, the same day
    fake.update_period(1010, status="CANCELLED", relatedPeriod=5002)
    cycle(engine, clock)
    monday = client.get("/board/class/10a?lang=en&days=2").get_data(as_text=True)
    cancelled, moved_in = monday.split('<section class="day"')[1:]
    assert "→ Tue period 4" in cancelled and "from Mon period 1" in moved_in
    german = client.get(f"/board/class/10a?date={tuesday.isoformat()}").get_data(as_text=True)
    assert "von Mo. 1. Std." in german
    same_day = client.get("/board/class/5a?lang=en").get_data(as_text=True)
    assert "→ period 4" in same_day and "from period 1" in same_day
    assert "other_side" not in str(client.get("/api/v1/changes").get_json())  # boards only


def _supervision(pid: int, teachers: list[dict], room: int = 4) -> dict:
    return {**period(pid, MONDAY, 1, cls=1, teacher=1, room=room, subject=1),
            "start": f"{MONDAY.isoformat()}T09:35", "end": f"{MONDAY.isoformat()}T09:55",
            "type": "BREAK_SUPERVISION", "classes": [], "subjects": [], "teachers": teachers}


def test_the_staff_overview_names_absent_teachers_and_the_classes_with_changes(
        client, changed, fake, clock, engine):
    fake.update_period(1012, teachers=[{"id": 1, "status": "REMOVED"},
                                       {"id": 4, "status": "ADDED"}], status="CHANGED")
    fake.put_period(_supervision(6001, [{"id": 2, "status": "REMOVED"},
                                        {"id": 3, "status": "ADDED"}]))
    cycle(engine, clock)
    page = client.get("/board/overview?lang=en").get_data(as_text=True)
    info = page.split('<div class="staff-info">')[1].split("</div>")[0]
    # MÜL is out of 5a's units 2 and 3; BEC of a supervision (off the grid: no units).
    assert re.findall(r'<span class="absent">([^<]+)</span>', info) == ["BEC", "MÜL (2-3)"]
    assert "Classes with changes:</span> 5a, 5b, 10a" in info


def test_supervisions_show_on_teacher_boards_and_as_a_day_list(client, fake, clock, engine):
    fake.put_period(_supervision(6001, [{"id": 1, "status": "REGULAR"}]))
    fake.put_period(_supervision(6002, [{"id": 2, "status": "REMOVED"},
                                        {"id": 3, "status": "ADDED"}], room=3))
    cycle(engine, clock)
    mine = client.get("/board/teacher/MÜL?lang=en").get_data(as_text=True)
    assert "Break supervision" in mine and "09:35–09:55" in mine
    substitute = client.get("/board/teacher/SCH?lang=en&view=changes").get_data(as_text=True)
    assert "Break supervision" in substitute and "<del>BEC</del>" in substitute
    assert "Break supervision" not in client.get(
        "/board/teacher/MÜL?lang=en&view=changes").get_data(as_text=True)  # no change to it
    listing = client.get("/board/supervisions?lang=en").get_data(as_text=True)
    assert "Break supervisions" in listing and listing.count('class="row') == 2
    assert "kind-substitution" in listing
    changes = client.get("/board/supervisions?lang=en&view=changes").get_data(as_text=True)
    assert changes.count('class="row') == 1
    for path in ("/board/overview", "/board/class/5a", "/board/room/Aula"):
        assert "Break supervision" not in client.get(f"{path}?lang=en").get_data(as_text=True)
    assert all(row["classes"] for row in client.get("/api/v1/changes").get_json()["changes"])


def test_boards_tell_kiosks_the_servers_time_to_the_millisecond(client, clock):
    first = client.get("/board/overview?part=board")
    expected = str(int(clock().timestamp() * 1000))
    assert first.headers["X-Signage-Now"] == expected
    clock.advance(seconds=1.25)
    again = client.get("/board/overview?part=board",
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert int(again.headers["X-Signage-Now"]) - int(expected) == 1250
