"""Marking an upstream's plain current state against the copy (signage/reconcile.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from signage.domain.model import ADDED, REGULAR, REMOVED, Period, Ref, Snapshot
from signage.domain.rows import _kinds
from signage.sources.base import Batch
from signage.sync.apply import remove, upsert
from signage.sync.reconcile import mark, vanish

START, END = datetime(2026, 11, 23, 8), datetime(2026, 11, 23, 8, 45)


def lesson(teachers=(1,), rooms=(10,), status="REGULAR", **refs) -> Period:
    """A period as a plain upstream sends it: every reference REGULAR."""
    return Period(id=7, start=START, end=END, status=status,
                  refs={"classes": (Ref(5),), "teachers": tuple(Ref(t) for t in teachers),
                        "rooms": tuple(Ref(r) for r in rooms), **refs})


PLANNED = lesson()
# As an upstream that knows the planned room sends a moved lesson (UniTime's same-slot rule).
MOVED_ROOM = Period(id=7, start=START, end=END, status="CHANGED",
                    refs={"classes": (Ref(5),), "teachers": (Ref(1),),
                          "rooms": (Ref(10, REMOVED), Ref(11, ADDED))})


@pytest.mark.parametrize(
    ("old", "new", "day_known", "status", "teachers", "rooms", "kinds"),
    [
        pytest.param(None, PLANNED, False, REGULAR, [(1, REGULAR)], [(10, REGULAR)], (),
                     id="first seen on a new day: the plan"),
        pytest.param(None, PLANNED, True, "ADDITIONAL", [(1, REGULAR)], [(10, REGULAR)],
                     ("additional",), id="first seen on a day the copy covers: an extra lesson"),
        pytest.param(PLANNED, PLANNED, True, REGULAR, [(1, REGULAR)], [(10, REGULAR)], (),
                     id="unchanged"),
        pytest.param(PLANNED, lesson(teachers=(2,)), True, "CHANGED",
                     [(2, ADDED), (1, REMOVED)], [(10, REGULAR)], ("substitution",),
                     id="another teacher: a substitution"),
        pytest.param(PLANNED, lesson(rooms=(11,)), True, "CHANGED", [(1, REGULAR)],
                     [(11, ADDED), (10, REMOVED)], ("room_change",), id="another room"),
        pytest.param(mark(PLANNED, lesson(teachers=(2,)), True), lesson(teachers=(3,)), True,
                     "CHANGED", [(3, ADDED), (1, REMOVED)], [(10, REGULAR)], ("substitution",),
                     id="a second substitute still replaces the planned teacher"),
        pytest.param(mark(PLANNED, lesson(teachers=(2,)), True), PLANNED, True, REGULAR,
                     [(1, REGULAR)], [(10, REGULAR)], (), id="the planned teacher back"),
        pytest.param(PLANNED, lesson(teachers=()), True, "CHANGED", [(1, REMOVED)],
                     [(10, REGULAR)], ("changed",), id="teacher gone, nobody instead"),
        pytest.param(PLANNED, lesson(status="CANCELLED"), True, "CANCELLED", [(1, REGULAR)],
                     [(10, REGULAR)], ("cancelled",), id="the upstream's own cancellation"),
        pytest.param(vanish(PLANNED), PLANNED, True, REGULAR, [(1, REGULAR)], [(10, REGULAR)],
                     (), id="a vanished lesson back as planned"),
        pytest.param(None, MOVED_ROOM, True, "CHANGED", [(1, REGULAR)],
                     [(10, REMOVED), (11, ADDED)], ("room_change",),
                     id="first seen already moved: the upstream's own plan stands"),
        pytest.param(MOVED_ROOM, MOVED_ROOM, True, "CHANGED", [(1, REGULAR)],
                     [(11, ADDED), (10, REMOVED)], ("room_change",),
                     id="the upstream's room change again: still one room change"),
        pytest.param(PLANNED, MOVED_ROOM, True, "CHANGED", [(1, REGULAR)],
                     [(11, ADDED), (10, REMOVED)], ("room_change",),
                     id="the upstream's room change after the plan: one room change"),
        pytest.param(MOVED_ROOM, PLANNED, True, REGULAR, [(1, REGULAR)], [(10, REGULAR)], (),
                     id="moved back to the planned room"),
        pytest.param(mark(None, PLANNED, True), lesson(teachers=(2,)), True, "ADDITIONAL",
                     [(2, REGULAR)], [(10, REGULAR)], ("additional",),
                     id="an extra lesson stays extra when its teacher changes"),
    ],
)
def test_mark(old, new, day_known, status, teachers, rooms, kinds):
    marked = mark(old, new, day_known)
    assert marked.status == status
    assert [(r.id, r.status) for r in marked.ref_list("teachers")] == teachers
    assert [(r.id, r.status) for r in marked.ref_list("rooms")] == rooms
    assert _kinds([marked]) == kinds


def test_a_vanished_lesson_is_cancelled_and_a_vanished_extra_is_gone():
    assert vanish(mark(PLANNED, lesson(teachers=(2,)), True)).status == "CANCELLED"
    assert vanish(mark(None, PLANNED, True)) is None


def test_a_plain_lesson_moved_out_of_the_window_is_cancelled_as_a_full_load_finds_it():
    day = START.date()
    old = Snapshot(day, day, {7: PLANNED}, {}, "School")
    later = Period(id=7, start=START + timedelta(days=30), end=END + timedelta(days=30),
                   status=REGULAR, refs=PLANNED.refs)
    by_delta = {7: PLANNED}
    assert upsert(by_delta, {}, Batch(periods=[later], plain=True), day, day, old) == 1
    by_reload = {7: PLANNED}
    remove(by_reload, {7}, cancel=True)  # what a full load does with a lesson it no longer sees
    assert by_delta == by_reload and by_delta[7].status == "CANCELLED"
    assert by_delta[7].start == START  # still shown where it was planned


def test_a_lesson_with_statuses_moved_out_of_the_window_leaves_it():
    day = date(2026, 11, 23)
    later = Period(id=7, start=START + timedelta(days=30), end=END + timedelta(days=30),
                   status=REGULAR, refs=PLANNED.refs)
    periods = {7: PLANNED}
    assert upsert(periods, {}, Batch(periods=[later]), day, day) == 1
    assert periods == {}


def test_a_vanished_lesson_of_an_upstream_that_reports_cancellations_is_deleted():
    day = START.date()
    old = Snapshot(day, day, {7: PLANNED}, {}, "University")
    periods = {7: PLANNED}
    later = Period(id=7, start=START + timedelta(days=30), end=END + timedelta(days=30),
                   refs=PLANNED.refs)
    assert upsert(periods, {}, Batch(periods=[later], plain=True, vanished_cancelled=False),
                  day, day, old) == 1
    assert periods == {}
    periods = {7: PLANNED}
    assert remove(periods, {7}, cancel=False) == 1 and periods == {}


@pytest.mark.parametrize(
    ("first", "then", "kinds"),
    [
        pytest.param("group 14 only", "group 14 only", (), id="a standing note is no change"),
        pytest.param("group 14 only", "", (), id="a standing note taken away is no change"),
        pytest.param("", "bring your calculators", ("changed",), id="a new note is a change"),
        pytest.param("group 14 only", "group 15 only", ("changed",),
                     id="a standing note rewritten is a change"),
    ],
)
def test_notes_of_a_plain_upstream_are_news_only_when_they_differ_from_the_plan(first, then,
                                                                                kinds):
    plan = mark(None, Period(id=7, start=START, end=END, text=first, refs=PLANNED.refs), False)
    assert _kinds([plan]) == ()
    now = mark(plan, Period(id=7, start=START, end=END, text=then, refs=PLANNED.refs), True)
    assert _kinds([now]) == kinds
    again = mark(now, Period(id=7, start=START, end=END, text=then, refs=PLANNED.refs), True)
    assert _kinds([again]) == kinds  # a second sync of the same state says the same
