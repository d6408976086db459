"""Affect IT day-one readiness: every form of sync list the reference allows, requests that are
exactly the documented ones, a fake as strict as the reference (and no stricter), tolerance of
what the reference leaves open. All through the fake over real HTTP."""

from __future__ import annotations

import pytest
import requests

from signage.sources.affectit import AffectItSource
from signage.sync.engine import SyncEngine
from tests.conftest import BELLS, MONDAY, NAMES, SCHEDULE, TZ, cycle, rows
from tests.fakes.affectit_server import SYNC_FORMS, FakeAffectIt

SUBSTITUTED = [("08:50", "09:35", ("5a",), ("BEC",), ("MÜL",), ("R101",), (), ("substitution",))]


def school(clock, **options) -> FakeAffectIt:
    """A started fake: Monday's four lessons of class 1 (teacher 1, room 1), two courses."""
    fake = FakeAffectIt(TZ, clock=clock, **options)
    for category, names in NAMES.items():
        fake.add_names(category, names)
    for unit in range(4):
        fake.add_lesson(1010 + unit, MONDAY, *BELLS[unit], cls=1, teacher=1, room=1,
                        subject=1 + unit // 2, course=101 + unit // 2)
    return fake.start()


@pytest.fixture
def fake(clock):
    server = school(clock)
    yield server
    server.stop()


def get(fake: FakeAffectIt, path: str, key: str | None = None, **headers: str):
    """Send one GET as a client of the API would, the key in `X-API-KEY` unless told."""
    headers.setdefault("X-API-KEY", key or fake.api_key)
    return requests.get(fake.url + path, headers=headers, timeout=5)


# --- 1. sync lists in every form ----------------------------------------------------------------
@pytest.mark.parametrize("form", SYNC_FORMS)
def test_each_sync_list_form_loads_fully_then_syncs_a_change(clock, session, store, form):
    fake = school(clock, sync_form=form)
    try:
        engine = SyncEngine(AffectItSource(fake.url, fake.api_key, TZ, session), store, TZ,
                            days_ahead=2, schedule=SCHEDULE)
        assert engine.run_cycle(clock()).outcome == "full"
        assert len(store.snapshot().periods) == 4 and store.snapshot().school == fake.school
        fake.substitute(1011, teacher=2)
        fake.delete(1013)
        assert cycle(engine, clock) == "delta"
        assert rows(engine)[0] == SUBSTITUTED[0]
        assert [r[-1] for r in rows(engine)] == [("substitution",), ("cancelled",)]
        stamp = get(fake, "/teachers?untis_ids=1").json()[0]["last_update"]
        assert get(fake, "/teachers").json()[0] == {
            "last_update": {"untis_id": 1, "last_update": stamp},
            "timestamp": {"untis_id": 1, "timestamp": stamp},
            "id": {"id": 1, "last_update": stamp},
            "pairs": [1, stamp]}[form]
    finally:
        fake.stop()


def test_objects_carry_their_timestamp_in_last_update_as_documented(fake):
    lesson = get(fake, "/lessons?untis_ids=1010").json()[0]
    assert lesson["untis_id"] == 1010 and lesson["last_update"].endswith("Z")
    assert "timestamp" not in lesson


# --- 2. requests as documented, a fake as strict as the reference ---------------------------------
def test_our_requests_are_the_documented_ones(fake, session, store, clock):
    engine = SyncEngine(AffectItSource(fake.url, fake.api_key, TZ, session), store, TZ,
                        days_ahead=2, schedule=SCHEDULE)
    engine.run_cycle(clock())
    fake.substitute(1011, teacher=2)
    assert cycle(engine, clock) == "delta"
    assert {r.method for r in fake.requests} == {"HEAD", "GET"}
    assert {r.status for r in fake.requests} == {200}
    assert {name for r in fake.requests for name in r.params} == {"untis_ids"}
    assert fake.ignored == []  # no parameter the API does not know


def test_the_fake_ignores_an_unknown_parameter_as_the_api_does_and_records_it(fake):
    answer = get(fake, "/teachers?ids=1,2")
    assert answer.status_code == 200 and "name" not in answer.json()[0]  # the sync list
    assert fake.ignored == ["GET teachers: ids"]


@pytest.mark.parametrize("ids", ["a,b", "1,,2", "1.5"], ids=["letters", "empty id", "a decimal"])
def test_the_fake_refuses_ids_that_are_no_integers_with_400(fake, ids):
    assert get(fake, f"/lessons?untis_ids={ids}").status_code == 400


@pytest.mark.parametrize("header", ["X-API-TOKEN", "Authorization"])
def test_the_fake_refuses_the_key_in_another_header_with_401(fake, header):
    answer = requests.get(fake.url + "/teachers", headers={header: fake.api_key}, timeout=5)
    assert answer.status_code == 401


def test_the_fake_limits_the_url_like_apache_not_the_number_of_ids(fake):
    assert get(fake, "/lessons?untis_ids=" + ",".join(str(1010 + i) for i in range(150))) \
        .status_code == 200  # 100 is the reference's advice, not a limit
    long_url = "/lessons?untis_ids=" + ",".join(str(10**9 + i) for i in range(900))
    assert get(fake, long_url).status_code == 414


# --- 3. tolerance where the reference is silent ---------------------------------------------------
@pytest.mark.parametrize("value", [None, "absent"], ids=["null", "omitted"])
@pytest.mark.parametrize("field", ["groups", "teachers", "locations", "subjects", "course"])
def test_a_lesson_without_an_optional_list_keeps_the_cycle_going(fake, session, store, clock,
                                                                  field, value):
    engine = SyncEngine(AffectItSource(fake.url, fake.api_key, TZ, session), store, TZ,
                        days_ahead=2, schedule=SCHEDULE)
    engine.run_cycle(clock())
    lesson = dict(fake.objects["lessons"][1011])
    if value == "absent":
        del lesson[field]
    else:
        lesson[field] = value
    fake.put_lesson(lesson)
    assert cycle(engine, clock) == "delta"
    assert 1011 in store.snapshot().periods
