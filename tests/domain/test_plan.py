"""The pure domain rules of signage/plan.py, table-driven (DESIGN.md §3 change rows, §4 rules)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest

from signage.domain.board import board_names, find_name, natural_key
from signage.domain.calendar import display_day, in_school_hours
from signage.domain.model import ADDED, REMOVED, ChangeRow, Period, Ref, Snapshot
from signage.domain.privacy import for_public
from signage.domain.rows import change_rows, classify, day_rows, rows_for

MONDAY = date(2026, 11, 23)
TUESDAY = MONDAY + timedelta(days=1)
# The day's bell times (1-based units); a 20-minute break lies between units 2 and 3.
BELLS = {
    1: (time(8, 0), time(8, 45)),
    2: (time(8, 50), time(9, 35)),
    3: (time(9, 55), time(10, 40)),
    4: (time(10, 45), time(11, 30)),
    5: (time(11, 50), time(12, 35)),
}
NAMES = {
    "classes": {1: "5a", 2: "5b", 3: "10a"},
    "teachers": {1: "MÜL", 2: "BEC", 3: "SCH"},
    "rooms": {1: "R101", 2: "R102", 3: "Bio1"},
    "subjects": {1: "M", 2: "D", 3: "Bio"},
}


def added(ref_id: int) -> Ref:
    return Ref(ref_id, ADDED)


def removed(ref_id: int) -> Ref:
    return Ref(ref_id, REMOVED)


def lesson(pid: int, unit: int, *, day: date = MONDAY, cls: int = 1,
           teachers: tuple[Ref, ...] = (Ref(1),), rooms: tuple[Ref, ...] = (Ref(1),),
           subjects: tuple[Ref, ...] | None = None, lesson_id: int | None = 101,
           **fields) -> Period:
    """Return a period of class `cls` in `unit` of `day`; all references REGULAR unless given."""
    start, end = BELLS[unit]
    return Period(
        id=pid,
        start=datetime.combine(day, start),
        end=datetime.combine(day, end),
        lesson_id=lesson_id,
        refs={
            "classes": (Ref(cls),),
            "teachers": teachers,
            "rooms": rooms,
            "subjects": subjects if subjects is not None else (Ref(1),),
        },
        **fields,
    )


def snapshot(*periods: Period, names: dict | None = None) -> Snapshot:
    return Snapshot(
        window_start=MONDAY,
        window_end=MONDAY + timedelta(days=6),
        periods={p.id: p for p in periods},
        names=NAMES if names is None else names,
        school="Testschule",
    )


def row(*, classes=("5a",), teachers=(), original_teachers=(), rooms=(), original_rooms=(),
        kinds=("changed",), start="08:00", end="08:45") -> ChangeRow:
    return ChangeRow(date=MONDAY, start=start, end=end, classes=classes, subjects=("M",),
                     teachers=teachers, original_teachers=original_teachers, rooms=rooms,
                     original_rooms=original_rooms, kinds=kinds, text="")


# --- change kinds -------------------------------------------------------------------------------

KIND_CASES = [
    pytest.param({}, None, id="lesson as planned is no row"),
    pytest.param({"status": "CANCELLED"}, ("cancelled",), id="lesson cancelled"),
    pytest.param({"status": "CHANGED", "teachers": (removed(1), added(2))}, ("substitution",),
                 id="substitute teacher"),
    pytest.param({"status": "CHANGED", "rooms": (removed(1), added(2))}, ("room_change",),
                 id="room change"),
    pytest.param({"status": "CHANGED", "teachers": (removed(1), added(2)),
                  "rooms": (removed(1), added(3))}, ("substitution", "room_change"),
                 id="substitute teacher with room change"),
    pytest.param({"status": "ADDITIONAL", "teachers": (added(2),), "rooms": (added(2),),
                  "subjects": (added(3),)}, ("additional",), id="extra lesson"),
    pytest.param({"status": "ADDITIONAL", "teachers": (removed(1), added(2)),
                  "rooms": (removed(1), added(2))}, ("additional",),
                 id="extra lesson is not also a substitution"),
    pytest.param({"type": "EXAM"}, ("exam",), id="exam period"),
    pytest.param({"exam": "Klassenarbeit Bruchrechnung"}, ("exam",),
                 id="class test written in a regular lesson"),
    pytest.param({"status": "CHANGED", "related_period": 999}, ("moved",),
                 id="lesson moved to another slot"),
    pytest.param({"status": "CHANGED", "related_period": 999,
                  "teachers": (removed(1), added(2))}, ("moved", "substitution"),
                 id="moved lesson taught by a substitute"),
    pytest.param({"status": "CANCELLED", "type": "EXAM"}, ("cancelled", "exam"),
                 id="exam cancelled"),
    pytest.param({"status": "CANCELLED", "teachers": (removed(1), added(2))}, ("cancelled",),
                 id="cancelled lesson is not also a substitution"),
    pytest.param({"status": "CHANGED", "text": "Bitte Atlas mitbringen"}, ("changed",),
                 id="changed lesson with only a note"),
    pytest.param({"status": "CHANGED"}, ("changed",), id="changed lesson with nothing visible"),
    pytest.param({"text": "Hausaufgaben in Raum R102 abgeben"}, ("changed",),
                 id="regular lesson with a planner's note"),
    pytest.param({"type": "FIELD_TRIP"}, ("changed",), id="a period type nobody knew of"),
    pytest.param({"status": "POSTPONED"}, ("changed",), id="a period status nobody knew of"),
    pytest.param({"teachers": (Ref(1, "SHADOWING"),)}, ("changed",),
                 id="a reference status nobody knew of"),
    pytest.param({"type": "FIELD_TRIP", "teachers": (removed(1), added(2))}, ("substitution",),
                 id="a period type nobody knew of, with a substitute"),
]


@pytest.mark.parametrize(("fields", "kinds"), KIND_CASES)
def test_a_period_is_classified_by_its_change_kinds(fields, kinds):
    period = lesson(1, 1, **fields)
    result = classify([period], snapshot(period))
    if kinds is None:
        assert result is None
    else:
        assert result is not None
        assert result.kinds == kinds


@pytest.mark.parametrize(("fields", "kinds"), KIND_CASES)
def test_change_rows_lists_exactly_the_changed_periods(fields, kinds):
    rows = change_rows(snapshot(lesson(1, 1, **fields)), MONDAY)
    assert [r.kinds for r in rows] == ([] if kinds is None else [kinds])


# --- row fields ---------------------------------------------------------------------------------

FIELD_CASES = [
    pytest.param(
        {"status": "CHANGED", "teachers": (removed(1), added(2)), "rooms": (removed(1), added(3)),
         "text": "Vertretung durch BEC"},
        {"teachers": ["BEC"], "original_teachers": ["MÜL"], "rooms": ["Bio1"],
         "original_rooms": ["R101"], "text": "Vertretung durch BEC"},
        id="substitute teacher with room change",
    ),
    pytest.param(
        {"status": "CANCELLED", "text": "Lehrer krank"},
        {"teachers": ["MÜL"], "original_teachers": [], "rooms": ["R101"], "original_rooms": [],
         "text": "Lehrer krank"},
        id="cancelled lesson keeps its planned teacher and room",
    ),
    pytest.param(
        {"status": "CHANGED", "teachers": (Ref(1), added(2)), "text": "Doppelbesetzung"},
        {"teachers": ["MÜL", "BEC"], "original_teachers": [], "rooms": ["R101"],
         "original_rooms": [], "text": "Doppelbesetzung"},
        id="second teacher joins the lesson",
    ),
    pytest.param(
        {"status": "CHANGED", "rooms": (removed(1), added(2))},
        {"teachers": ["MÜL"], "original_teachers": [], "rooms": ["R102"],
         "original_rooms": ["R101"], "text": ""},
        id="room change without a note",
    ),
    pytest.param(
        {"status": "ADDITIONAL", "teachers": (added(3),), "rooms": (added(3),),
         "subjects": (added(3),)},
        {"teachers": ["SCH"], "original_teachers": [], "rooms": ["Bio1"], "original_rooms": [],
         "subjects": ["Bio"], "text": ""},
        id="extra lesson lists its added teacher and room",
    ),
    pytest.param(
        {"status": "CHANGED", "teachers": (removed(1), added(7))},
        {"teachers": ["#7"], "original_teachers": ["MÜL"]},
        id="substitute missing from master data shows the id",
    ),
]


@pytest.mark.parametrize(("fields", "expected"), FIELD_CASES)
def test_a_change_row_names_current_and_original_references(fields, expected):
    rows = change_rows(snapshot(lesson(1, 3, **fields)), MONDAY)
    assert len(rows) == 1
    data = rows[0].to_json()
    assert {key: data[key] for key in expected} == expected
    assert (data["date"], data["start"], data["end"]) == ("2026-11-23", "09:55", "10:40")
    assert data["classes"] == ["5a"]


def test_times_are_zero_padded_hours_and_minutes():
    period = lesson(1, 1, status="CANCELLED")
    [only] = change_rows(snapshot(period), MONDAY)
    assert (only.start, only.end) == ("08:00", "08:45")


# --- double periods -----------------------------------------------------------------------------

def cancelled(pid: int, unit: int, **fields) -> Period:
    return lesson(pid, unit, **{"status": "CANCELLED", **fields})


DOUBLE_CASES = [
    pytest.param(
        [cancelled(1, 1), cancelled(2, 2)],
        [("08:00", "09:35", ("cancelled",), "")],
        id="cancelled double period is one row",
    ),
    pytest.param(
        [cancelled(1, 2), cancelled(2, 3)],
        [("08:50", "10:40", ("cancelled",), "")],
        id="double period across the big break is one row",
    ),
    pytest.param(
        [cancelled(1, 1), cancelled(2, 2), cancelled(3, 3)],
        [("08:00", "10:40", ("cancelled",), "")],
        id="triple period cancelled is one row",
    ),
    pytest.param(
        [lesson(pid, unit, status="CHANGED", teachers=(removed(1), added(2)),
                rooms=(removed(1), added(3))) for pid, unit in [(1, 1), (2, 2)]],
        [("08:00", "09:35", ("substitution", "room_change"), "")],
        id="double period with the same substitute and room",
    ),
    pytest.param(
        [lesson(1, 1), cancelled(2, 2)],
        [("08:50", "09:35", ("cancelled",), "")],
        id="double period, second half cancelled",
    ),
    pytest.param(
        [cancelled(1, 1), lesson(2, 2)],
        [("08:00", "08:45", ("cancelled",), "")],
        id="double period, first half cancelled",
    ),
    pytest.param(
        [cancelled(1, 1), lesson(2, 2, status="CHANGED", teachers=(removed(1), added(2)))],
        [("08:00", "08:45", ("cancelled",), ""), ("08:50", "09:35", ("substitution",), "")],
        id="first half cancelled, second half substituted",
    ),
    pytest.param(
        [lesson(1, 1, status="CHANGED", teachers=(removed(1), added(2))),
         lesson(2, 2, status="CHANGED", teachers=(removed(1), added(3)))],
        [("08:00", "08:45", ("substitution",), ""), ("08:50", "09:35", ("substitution",), "")],
        id="a different substitute in each half",
    ),
    pytest.param(
        [lesson(1, 1, status="CHANGED", rooms=(removed(1), added(2))),
         lesson(2, 2, status="CHANGED", rooms=(removed(1), added(3)))],
        [("08:00", "08:45", ("room_change",), ""), ("08:50", "09:35", ("room_change",), "")],
        id="a different replacement room in each half",
    ),
    pytest.param(
        [cancelled(1, 1, lesson_id=101), cancelled(2, 2, lesson_id=102)],
        [("08:00", "08:45", ("cancelled",), ""), ("08:50", "09:35", ("cancelled",), "")],
        id="two different courses back to back stay two rows",
    ),
    pytest.param(
        [cancelled(1, 1, exam="Klassenarbeit"), cancelled(2, 2)],
        [("08:00", "08:45", ("cancelled", "exam"), ""), ("08:50", "09:35", ("cancelled",), "")],
        id="class test in the first half only",
    ),
    pytest.param(
        [cancelled(1, 1, type="EXAM"), cancelled(2, 2)],
        [("08:00", "08:45", ("cancelled", "exam"), ""), ("08:50", "09:35", ("cancelled",), "")],
        id="exam period followed by a normal lesson",
    ),
    pytest.param(
        [cancelled(1, 1), lesson(2, 2, status="CHANGED", text="Raumtausch")],
        [("08:00", "08:45", ("cancelled",), ""), ("08:50", "09:35", ("changed",), "Raumtausch")],
        id="double period, halves with different status",
    ),
    pytest.param(
        [cancelled(1, 1), lesson(2, 2, cls=2), cancelled(3, 3)],
        [("08:00", "08:45", ("cancelled",), ""), ("09:55", "10:40", ("cancelled",), "")],
        id="a free unit between two lessons of the same course",
    ),
    pytest.param(
        [cancelled(1, 1, text="Lehrer krank"), cancelled(2, 2, text="Wandertag")],
        [("08:00", "09:35", ("cancelled",), "Lehrer krank / Wandertag")],
        id="double period with differing notes joins them",
    ),
    pytest.param(
        [cancelled(1, 1, text="Lehrer krank"), cancelled(2, 2, text="Lehrer krank")],
        [("08:00", "09:35", ("cancelled",), "Lehrer krank")],
        id="double period with the same note says it once",
    ),
    pytest.param(
        [cancelled(1, 1, lesson_id=None), cancelled(2, 2, lesson_id=None)],
        [("08:00", "08:45", ("cancelled",), ""), ("08:50", "09:35", ("cancelled",), "")],
        id="events without a lesson never merge",
    ),
    pytest.param(
        [cancelled(1, 1), cancelled(2, 2), cancelled(3, 1, cls=2, lesson_id=201),
         cancelled(4, 2, cls=2, lesson_id=201)],
        [("08:00", "09:35", ("cancelled",), ""), ("08:00", "09:35", ("cancelled",), "")],
        id="two classes with cancelled double periods side by side",
    ),
    pytest.param(
        [lesson(1, 1), lesson(2, 2, text="Treffpunkt am Haupteingang")],
        [("08:00", "09:35", ("changed",), "Treffpunkt am Haupteingang")],
        id="double period, note only on the second half",
    ),
    pytest.param(
        [cancelled(1, 2), cancelled(2, 3),
         Period(id=3, start=datetime(2026, 11, 23, 9, 35), end=datetime(2026, 11, 23, 9, 55),
                lesson_id=900, type="BREAK_SUPERVISION",
                refs={"teachers": (Ref(3),), "rooms": (Ref(3),)})],
        [("08:50", "10:40", ("cancelled",), "")],
        id="double period across a break with a break supervision",
    ),
]


@pytest.mark.parametrize(("periods", "expected"), DOUBLE_CASES)
def test_double_periods_merge_by_the_equivalence_rule(periods, expected):
    rows = change_rows(snapshot(*periods), MONDAY)
    assert [(r.start, r.end, r.kinds, r.text) for r in rows] == expected


def test_side_by_side_double_periods_are_ordered_by_class():
    periods = [cancelled(10 + i, unit, cls=cls, lesson_id=100 * cls)
               for i, (cls, unit) in enumerate([(3, 1), (3, 2), (2, 1), (2, 2), (1, 1), (1, 2)])]
    rows = change_rows(snapshot(*periods), MONDAY)
    assert [(r.classes, r.start, r.end) for r in rows] == [
        (("5a",), "08:00", "09:35"),
        (("5b",), "08:00", "09:35"),
        (("10a",), "08:00", "09:35"),
    ]


# --- the day's rows -----------------------------------------------------------------------------

def test_change_rows_lists_only_the_requested_day_sorted_by_time():
    periods = [
        cancelled(1, 4),
        cancelled(2, 1, day=TUESDAY, lesson_id=301),
        lesson(3, 3, status="CHANGED", teachers=(removed(1), added(2)), lesson_id=302),
        cancelled(4, 1, cls=2, lesson_id=303),
        lesson(5, 2, lesson_id=304),
        cancelled(6, 5, day=MONDAY - timedelta(days=1), lesson_id=305),
    ]
    rows = change_rows(snapshot(*periods), MONDAY)
    assert [(r.date, r.start, r.kinds) for r in rows] == [
        (MONDAY, "08:00", ("cancelled",)),
        (MONDAY, "09:55", ("substitution",)),
        (MONDAY, "10:45", ("cancelled",)),
    ]
    assert [r.start for r in change_rows(snapshot(*periods), TUESDAY)] == ["08:00"]


def test_a_day_without_changes_has_no_rows():
    periods = [lesson(1, 1), lesson(2, 2), lesson(3, 1, cls=2, lesson_id=201)]
    assert change_rows(snapshot(*periods), MONDAY) == []
    assert change_rows(snapshot(cancelled(4, 1)), TUESDAY) == []


# --- board selection ----------------------------------------------------------------------------

BOARD_ROWS = [
    row(classes=("5a",), teachers=("BEC",), original_teachers=("MÜL",), rooms=("R101",),
        kinds=("substitution",)),
    row(classes=("5b",), teachers=("SCH",), rooms=("R102",), original_rooms=("R101",),
        kinds=("room_change",)),
    row(classes=("10a",), teachers=("MÜL",), rooms=("Bio1",), kinds=("cancelled",)),
    row(classes=("5a", "5b"), teachers=("SCH",), rooms=("Bio1",), kinds=("additional",)),
]


@pytest.mark.parametrize(
    ("category", "name", "expected"),
    [
        pytest.param("classes", "5a", [0, 3], id="class board shows its own changes"),
        pytest.param("classes", "10a", [2], id="class 10a is not class 5a"),
        pytest.param("classes", "a", [], id="class board needs the whole name"),
        pytest.param("rooms", "R102", [1], id="room board shows a lesson moved into the room"),
        pytest.param("rooms", "R101", [0, 1], id="room board shows a lesson moved out of the room"),
        pytest.param("teachers", "BEC", [0], id="teacher board shows the substitute's lessons"),
        pytest.param("teachers", "MÜL", [0, 2],
                     id="teacher board shows the absent teacher's lessons"),
        pytest.param("teachers", "XYZ", [], id="teacher without changes has an empty board"),
    ],
)
def test_rows_for_selects_a_board(category, name, expected):
    assert rows_for(BOARD_ROWS, category, name) == [BOARD_ROWS[i] for i in expected]


def test_rows_for_refuses_a_category_without_boards():
    with pytest.raises(ValueError, match="subjects"):
        rows_for(BOARD_ROWS, "subjects", "M")


@pytest.mark.parametrize(
    ("names", "category", "expected"),
    [
        pytest.param({"classes": {1: "10a", 2: "5b", 3: "5a", 4: "Q1", 5: "6c"}}, "classes",
                     ["5a", "5b", "6c", "10a", "Q1"], id="classes in natural order"),
        pytest.param({"rooms": {1: "R10", 2: "R9", 3: "R101", 4: "Aula"}}, "rooms",
                     ["Aula", "R9", "R10", "R101"], id="rooms in natural order"),
        pytest.param({"classes": {1: "5a", 2: "5a"}}, "classes", ["5a"],
                     id="a name listed twice has one board"),
        pytest.param({"classes": {1: "5a"}}, "teachers", [], id="no teachers in master data"),
    ],
)
def test_board_names_are_naturally_ordered(names, category, expected):
    assert board_names(snapshot(names=names), category) == expected


@pytest.mark.parametrize(
    ("category", "wanted", "expected"),
    [
        pytest.param("classes", "5a", "5a", id="class as typed"),
        pytest.param("classes", "5A", "5a", id="class typed in capitals"),
        pytest.param("rooms", "r101", "R101", id="room typed in lower case"),
        pytest.param("teachers", "mül", "MÜL", id="teacher with an umlaut in lower case"),
        pytest.param("classes", "6a", None, id="unknown class"),
        pytest.param("teachers", "MÜLLER", None, id="teacher's full name is not the board name"),
        pytest.param("subjects", "m", "M", id="subjects are found the same way"),
    ],
)
def test_find_name_ignores_case(category, wanted, expected):
    assert find_name(snapshot(), category, wanted) == expected


def test_public_rows_have_no_teacher_names_and_no_notes():
    public = for_public(BOARD_ROWS)
    assert [(r.teachers, r.original_teachers, r.text) for r in public] == [
        ((), (), "")] * len(BOARD_ROWS)
    assert [(r.classes, r.rooms, r.original_rooms, r.kinds) for r in public] == [
        (r.classes, r.rooms, r.original_rooms, r.kinds) for r in BOARD_ROWS
    ]
    assert BOARD_ROWS[0].teachers == ("BEC",)  # the staff rows are untouched


NOTE_ROW = ChangeRow(date=date(2026, 11, 23), start="08:00", end="08:45", classes=("5a",),
                     subjects=("M",), teachers=("MÜL",), original_teachers=("BEC",),
                     rooms=("R101",), original_rooms=(), kinds=("substitution",),
                     text="Vertretung durch MÜL, BECKER bleibt")


@pytest.mark.parametrize(
    ("show_teachers", "show_notes", "teachers", "text"),
    [
        pytest.param(False, False, (), "", id="default: neither names nor notes"),
        pytest.param(False, True, (), "Vertretung durch …, BECKER bleibt",
                     id="notes opted in: the names in them blanked, not parts of words"),
        pytest.param(True, False, ("MÜL",), "", id="short names opted in, notes not"),
        pytest.param(True, True, ("MÜL",), "Vertretung durch MÜL, BECKER bleibt",
                     id="both opted in: the note as the planner wrote it"),
    ],
)
def test_public_opt_ins(show_teachers, show_notes, teachers, text):
    [row] = for_public([NOTE_ROW], ["MÜL", "BEC"], show_teachers=show_teachers,
                       show_notes=show_notes)
    assert (row.teachers, row.text) == (teachers, text)


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [
        pytest.param("5a", "10a", id="class 5a before class 10a"),
        pytest.param("5a", "5b", id="parallel classes alphabetically"),
        pytest.param("5B", "5c", id="letters ignore case"),
        pytest.param("R9", "R10", id="room 9 before room 10"),
        pytest.param("R101", "R1010", id="longer number is larger"),
        pytest.param("Q1", "Q2", id="upper school courses"),
        pytest.param("10a", "Q1", id="numbered classes before named groups"),
    ],
)
def test_natural_key_orders_numbers_by_value(smaller, larger):
    assert natural_key(smaller) < natural_key(larger)
    assert sorted([larger, smaller], key=natural_key) == [smaller, larger]


def test_natural_key_treats_case_variants_as_equal():
    assert natural_key("5A") == natural_key("5a")


# Monday to Wednesday and next Monday have lessons (units 1-4); the weekend has none.
FRIDAY = MONDAY + timedelta(days=4)
WEEK = snapshot(*(lesson(10 * d + u, u, day=MONDAY + timedelta(days=d))
                  for d in (0, 1, 2, 4) for u in (1, 2, 3, 4)))
SWITCH_AT = time(17, 0)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(datetime.combine(MONDAY, time(7, 0)), MONDAY, id="before the first lesson"),
        pytest.param(datetime.combine(MONDAY, time(11, 0)), MONDAY, id="during the last lesson"),
        pytest.param(datetime.combine(MONDAY, time(11, 30)), TUESDAY,
                     id="once the last lesson is over"),
        pytest.param(datetime.combine(TUESDAY, time(17, 0)), MONDAY + timedelta(days=2),
                     id="at the switch hour"),
        pytest.param(datetime.combine(MONDAY + timedelta(days=2), time(12, 0)), FRIDAY,
                     id="a day without lessons is skipped"),
        pytest.param(datetime.combine(MONDAY + timedelta(days=5), time(10, 0)),
                     MONDAY + timedelta(days=5), id="nothing left in the window: today"),
    ],
)
def test_boards_show_today_or_the_next_school_day(now, expected):
    assert display_day(WEEK, now, SWITCH_AT) == expected


def test_without_data_boards_show_today():
    assert display_day(None, datetime.combine(MONDAY, time(20, 0)), SWITCH_AT) == MONDAY


@pytest.mark.parametrize(
    ("now", "data", "expected"),
    [
        pytest.param(datetime.combine(MONDAY, time(9, 0)), WEEK, True, id="a school morning"),
        pytest.param(datetime.combine(MONDAY, time(5, 0)), WEEK, False, id="before hours"),
        pytest.param(datetime.combine(MONDAY, time(17, 0)), WEEK, False, id="at the end"),
        pytest.param(datetime.combine(MONDAY + timedelta(days=5), time(9, 0)), WEEK, False,
                     id="saturday morning"),
        pytest.param(datetime.combine(MONDAY + timedelta(days=5), time(9, 0)), None, True,
                     id="no data yet"),
    ],
)
def test_school_hours_are_the_hours_of_days_with_lessons(now, data, expected):
    assert in_school_hours(now, (time(6, 30), time(17, 0)), data) is expected


def test_day_rows_list_regular_periods_too_with_their_units():
    # The grid is read off the day's periods: every unit has a lesson somewhere in the school.
    data = snapshot(lesson(1, 1), lesson(2, 2), lesson(3, 3, status="CANCELLED"),
                    lesson(4, 5, cls=2, lesson_id=202), lesson(5, 4, cls=3, lesson_id=303))
    rows = day_rows(data, MONDAY)
    assert [(r.unit_label, r.kinds, r.classes) for r in rows] == [
        ("1-2", (), ("5a",)), ("3", ("cancelled",), ("5a",)), ("4", (), ("10a",)),
        ("5", (), ("5b",))]
    assert [r.unit_label for r in change_rows(data, MONDAY)] == ["3"]


def test_a_reference_of_unknown_status_counts_as_current():
    period = lesson(1, 1, cls=2, teachers=(Ref(1, "SHADOWING"), removed(2)))
    period = replace(period, refs={**period.refs, "classes": (Ref(2, "JOINED"),)})
    (found,) = change_rows(snapshot(period), MONDAY)
    assert (found.classes, found.teachers, found.original_teachers) == (("5b",), ("MÜL",),
                                                                        ("BEC",))
    assert rows_for([found], "classes", "5b") == [found]


@pytest.mark.parametrize(
    ("units", "labels"),
    [
        pytest.param({}, ["1-2", "3", "3"], id="no units from upstream: start times counted"),
        pytest.param({1: 2, 2: 3, 3: 4, 4: 4}, ["2-3", "4", "4"], id="the upstream's units"),
        pytest.param({1: 2, 2: 3, 4: 4}, ["2-3", "4", "4"],
                     id="a period without a unit takes the one of its start time"),
    ],
)
def test_day_rows_number_units_as_the_upstream_does_when_it_says(units, labels):
    # 5a's units 1 and 2 are a double period; 5b and 10a have unit 3. Upstream, the day starts
    # with a unit before 08:00 that holds no lesson, so 08:00 is its unit 2.
    periods = [lesson(1, 1), lesson(2, 2), lesson(3, 3, cls=2, lesson_id=202),
               lesson(4, 3, cls=3, lesson_id=303)]
    data = snapshot(*(replace(p, unit=units.get(p.id)) for p in periods))
    assert [r.unit_label for r in day_rows(data, MONDAY)] == labels


@pytest.mark.parametrize(
    ("note", "public"),
    [
        pytest.param("Vertretung durch MÜL", "Vertretung durch …", id="short name exactly"),
        pytest.param("die Klasse geht mit DIE", "die Klasse geht mit …",
                     id="a short name that is also a word: only as written"),
        pytest.param("Zwackelmanns Kurs", "… Kurs", id="genitive of a long name"),
        pytest.param("ZWACKELMANN kommt, zwackelmann's Buch", "… kommt, … Buch",
                     id="long name in any case"),
        pytest.param("Herr Zwackelmann_2", "Herr …_2", id="joined by an underscore"),
        pytest.param("Zwackelmannstraße 5", "Zwackelmannstraße 5",
                     id="a longer word that merely starts with a name stays"),
    ],
)
def test_names_in_public_notes_are_found_in_their_usual_forms(note, public):
    [row] = for_public([replace(NOTE_ROW, text=note)], ["DIE", "MÜL", "Zwackelmann"],
                       show_notes=True)
    assert row.text == public
