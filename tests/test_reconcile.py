"""Marking an upstream's plain current state against the copy (signage/reconcile.py)."""

from __future__ import annotations

from datetime import datetime

import pytest

from signage.model import ADDED, REGULAR, REMOVED, Period, Ref
from signage.plan import _kinds
from signage.reconcile import mark, vanish

START, END = datetime(2026, 11, 23, 8), datetime(2026, 11, 23, 8, 45)


def lesson(teachers=(1,), rooms=(10,), status="REGULAR", **refs) -> Period:
    """A period as a plain upstream sends it: every reference REGULAR."""
    return Period(id=7, start=START, end=END, status=status,
                  refs={"classes": (Ref(5),), "teachers": tuple(Ref(t) for t in teachers),
                        "rooms": tuple(Ref(r) for r in rooms), **refs})


PLANNED = lesson()


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
