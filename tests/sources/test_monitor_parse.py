"""Cells and rows of the public WebUntis monitor, as `monitor_parse` reads them (no HTTP: the
cells are the reference's own examples; `test_monitor_source.py` covers the wire)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from signage.domain.board import absent_teachers, affected_classes
from signage.domain.model import ADDED, ADDITIONAL, CANCELLED, CHANGED, REGULAR, REMOVED
from signage.sources.base import SourceError
from signage.sources.monitor_parse import (
    DayAnswer,
    Entry,
    MonitorRefusal,
    RowReader,
    columns_of,
    entries,
    unwrap,
)

NEW = '<span class="substMonitorSubstElem">{}</span>'
STRUCK = '<span class="cancelStyle">{}</span>'
DAY = date(2026, 11, 23)


@pytest.mark.parametrize(("cell", "expected"), [
    ("MÜL", [Entry("MÜL", None, False)]),
    (NEW.format("SCH") + " (MÜL)", [Entry("SCH", "MÜL", True)]),
    (NEW.format("SCH") + f" ({STRUCK.format('M&Uuml;L')})", [Entry("SCH", "MÜL", True)]),
    ("--- (KEIL), BURG, GEIB",
     [Entry(None, "KEIL", False), Entry("BURG", None, False), Entry("GEIB", None, False)]),
    (STRUCK.format("---") + " (BEC)", [Entry(None, "BEC", False)]),
    (NEW.format("BEC"), [Entry("BEC", None, True)]),
    (NEW.format("BEC") + " (---)", [Entry("BEC", None, True)]),
    ("11A BZ, 12A BZ", [Entry("11A BZ", None, False), Entry("12A BZ", None, False)]),
    ("Raum&auml;nderung", [Entry("Raumänderung", None, False)]),
    ("Aula (EG)", [Entry("Aula (EG)", None, False)]),  # no markup: a name, not a change
    (NEW.format("F106") + " (D13)", [Entry("F106", "D13", True)]),
    ("", []),
    ("---", []),
])
def test_cells_give_new_and_original_values(cell, expected):
    assert entries(cell) == expected


@pytest.mark.parametrize(("flags", "columns"), [
    (dict.fromkeys(("showHour", "showTime", "showClass", "showSubject", "showRoom",
                    "showTeacher", "showInfo", "showSubstText"), True),
     ("hour", "time", "classes", "subject", "room", "teacher", "info", "text")),
    ({"showHour": True, "showRoom": True, "showTeacher": True, "showInfo": True,
      "showSubstText": True, "showClass": False}, ("hour", "room", "teacher", "info", "text")),
    ({"showSubstText": True, "showHour": True, "showTime": 1}, ("hour", "text")),  # not a bool
])
def test_columns_follow_the_flags_in_the_monitors_order(flags, columns):
    assert columns_of(flags) == columns


def test_an_error_object_is_a_refusal_and_no_payload_is_broken():
    with pytest.raises(MonitorRefusal, match="-8500: invalid schoolname"):
        unwrap({"error": {"code": -8500, "message": "invalid schoolname", "data": None}}, "x")
    for broken in ({}, {"payload": []}, [], "<html>"):
        with pytest.raises(SourceError, match="neither a payload"):
            unwrap(broken, "x")


COLUMNS = ("hour", "time", "classes", "subject", "room", "teacher", "info", "text")


def answer(rows, **extra) -> DayAnswer:
    return DayAnswer.of({"date": 20261123, "nextDate": 20261124, "lastUpdate":
                         "23.11.2026 07:41:03", "rows": rows, **extra}, "test")


def row(*cells, cancelled=False, group="5a"):
    marks = {str(i): ["cancelStyle"] for i in (2, 3, 4, 5)} if cancelled else {}
    return {"data": list(cells), "group": group, "cellClasses": marks, "cssClasses": []}


def read(*rows, columns=COLUMNS, group_by=1):
    reader = RowReader(columns, group_by)
    reader.add(answer(list(rows)), "test")
    return reader


def refs(reader, period):
    return {c: sorted((reader.names[c][r.id], r.status) for r in rs)
            for c, rs in period.refs.items()}


@pytest.mark.parametrize(("cells", "cancelled", "status", "expected", "text"), [
    (("2", "08:50-09:35", "5a", "M", "R101", NEW.format("SCH") + " (MÜL)", "Vertretung", ""),
     False, CHANGED, {"teachers": [("MÜL", REMOVED), ("SCH", ADDED)],
                      "rooms": [("R101", REGULAR)]}, ""),
    (("3", "09:55-10:40", "5a", "M", NEW.format("Bio1") + " (R101)", "MÜL",
      "Raum&auml;nderung", ""),
     False, CHANGED, {"rooms": [("Bio1", ADDED), ("R101", REMOVED)]}, ""),
    (("3 - 4", "09:55-11:30", "5b", "D", "R102", STRUCK.format("---") + " (BEC)", "Entfall",
      ""), True, CANCELLED, {"teachers": [("BEC", REGULAR)], "rooms": [("R102", REGULAR)]},
     ""),
    (("5", "11:50-12:35", "5b", NEW.format("D"), NEW.format("R102"), NEW.format("BEC"),
      "Zusatzunterricht", ""),
     False, ADDITIONAL, {"teachers": [("BEC", REGULAR)], "subjects": [("D", REGULAR)]}, ""),
    (("6", "12:40-13:25", "5a", "E", "R101", "MÜL", "Vertretung", "Buch mitbringen"),
     False, CHANGED, {"teachers": [("MÜL", REGULAR)]}, "Buch mitbringen"),
    (("1", "08:00-08:45", "5a", "M", "R101", "MÜL", "Verlegung nach 11.6. / 10:20", ""),
     True, CANCELLED, {"classes": [("5a", REGULAR)]}, "Verlegung nach 11.6. / 10:20"),
])
def test_a_rows_kind_comes_from_its_markers(cells, cancelled, status, expected, text):
    reader = read(row(*cells, cancelled=cancelled))
    [period] = reader.periods.values()
    assert period.status == status
    found = refs(reader, period)
    for category, pairs in expected.items():
        assert found[category] == pairs
    assert period.text == text


def test_a_lesson_range_is_one_period_spanning_both_units():
    reader = read(row("3 - 4", "09:55-11:30", "5b", "D", "R102", "BEC", "Entfall", "",
                      cancelled=True))
    [period] = reader.periods.values()
    assert (period.start, period.end) == (datetime(2026, 11, 23, 9, 55),
                                          datetime(2026, 11, 23, 11, 30))
    assert (period.unit, period.end_unit) == (3, 4)


def test_a_lesson_listed_under_each_class_is_one_period_and_identity_is_stable():
    cells = ("2", "08:50-09:35", "5a, 5b", "M", "R101", NEW.format("SCH") + " (MÜL)",
             "Vertretung", "")
    reader = read(row(*cells, group="5a"), row(*cells, group="5b"))
    [period] = reader.periods.values()
    assert [n for n, _ in refs(reader, period)["classes"]] == ["5a", "5b"]
    again = read(row(*cells, group="5b"))
    assert list(again.periods) == list(reader.periods)  # the same content, the same id
    other = read(row(*cells[:5], NEW.format("BEC") + " (MÜL)", *cells[6:]))
    assert list(other.periods) != list(reader.periods)


def test_without_a_class_column_the_group_names_the_class_and_listings_merge():
    columns = ("hour", "time", "room", "teacher", "info")
    cells = ("2", "08:50-09:35", "R101", NEW.format("SCH") + " (MÜL)", "Vertretung")
    reader = read(row(*cells, group="5a"), row(*cells, group="5b"), columns=columns)
    [period] = reader.periods.values()
    assert [n for n, _ in refs(reader, period)["classes"]] == ["5a", "5b"]


def test_a_row_of_the_wrong_width_is_a_source_error():
    with pytest.raises(SourceError, match="3 cells where the format shows 8 columns"):
        read(row("2", "08:50-09:35", "5a"))


@pytest.mark.parametrize("time_cell", ["ganzt&auml;gig", "8.50 Uhr", "25:00-26:00",
                                       "10:40-09:55"])
def test_a_row_whose_time_is_no_span_is_skipped_and_named_the_others_stay(time_cell):
    good = ("2", "08:50-09:35", "5a", "M", "R101", NEW.format("SCH") + " (MÜL)", "Vertretung",
            "")
    reader = read(row("", time_cell, "5a", "", "Aula", "", "Veranstaltung", "Sportfest"),
                  row(*good))
    assert [p.unit for p in reader.periods.values()] == [2]
    [skipped] = reader.skipped
    assert "row 1 skipped" in skipped and "is not HH:MM-HH:MM" in skipped


@pytest.mark.parametrize(("info", "classes", "kind", "supervision"), [
    ("Pausenaufsicht", "", "BREAK_SUPERVISION", True),
    ("Aufsicht", "", "BREAK_SUPERVISION", True),  # no class: a break's
    ("Klausuraufsicht", "10a", "EXAM", False),  # a class's exam, on its board
    ("Klausuraufsicht", "", "EXAM", False),  # an exam's supervision, whatever the class cell
    ("Aufsicht", "5a", "NORMAL_TEACHING_PERIOD", False),
])
def test_a_supervision_is_a_break_supervision_only_by_name_or_without_a_class(
        info, classes, kind, supervision):
    reader = read(row("3", "09:35-09:55", classes, "", "Hof", NEW.format("SCH") + " (MÜL)",
                      info, ""))
    [period] = reader.periods.values()
    assert period.type == kind
    assert (period.type == "BREAK_SUPERVISION") is supervision


@pytest.mark.parametrize(("info", "status", "moved"), [
    ("Vertretung", CHANGED, False),  # the absent teacher hidden (showAbsentTeacher off)
    ("Statt-Vertretung", CHANGED, False),
    ("Vertr.", CHANGED, False),  # a school's abbreviation
    ("Betreuung", CHANGED, False),  # a teacher minding a class whose teacher is away
    ("Mitbetreuung", CHANGED, False),
    ("Zusatzunterricht", ADDITIONAL, False),
    ("Unterricht statt Sport", ADDITIONAL, False),  # "statt" alone says no substitution
    ("Lehrertausch", CHANGED, False),  # a teacher swapped, the lesson stays
    ("Sondereinsatz", ADDITIONAL, False),
    ("", ADDITIONAL, False),  # nothing to compare with and no word: an extra lesson
    ("Verlegung von 23.11. / 08:50", ADDITIONAL, True),
    ("Tausch", ADDITIONAL, True),
])
def test_a_new_value_without_an_original_is_extra_only_when_no_substitution_word_says_otherwise(
        info, status, moved):
    reader = read(row("2", "08:50-09:35", "5a", "M", "R101", NEW.format("SCH"), info, ""))
    [period] = reader.periods.values()
    assert period.status == status
    assert (period.related_period is not None) is moved
    if status == CHANGED:
        assert refs(reader, period)["teachers"] == [("SCH", ADDED)]


@pytest.mark.parametrize(("info", "kinds_moved"), [
    ("Raumverlegung", False), ("Raumtausch", False), ("Raum-Verlegung", False),
    ("Raum verlegt", False), ("Verlegung in Raum B12", False), ("verlegt nach Raum Bio1", False),
    ("Raum getauscht", False), ("Schüleraustausch", False), ("Austausch", False),
    ("Lehrertausch", False), ("moved to room Bio1", False),
    ("Verlegung nach 24.11. / 08:00", True), ("Stundentausch", True), ("verschoben", True),
    ("Tausch mit 4. Std.", True), ("Unterrichtstausch", True), ("lesson moved", True)])
def test_a_rooms_move_is_a_room_change_not_a_moved_lesson(info, kinds_moved):
    reader = read(row("2", "08:50-09:35", "5a", "M", NEW.format("Bio1") + " (R101)", "MÜL",
                      info, ""))
    [period] = reader.periods.values()
    assert (period.related_period is not None) is kinds_moved
    assert refs(reader, period)["rooms"] == [("Bio1", ADDED), ("R101", REMOVED)]


def test_with_group_by_teacher_the_groups_are_teachers_met():
    columns = ("hour", "time", "classes", "room", "info")
    reader = read(row("2", "08:50-09:35", "5a", "R101", "Vertretung", group="SCH"),
                  row("2", "08:50-09:35", "5b", "R102", "Vertretung", group="M&Uuml;L"),
                  columns=columns, group_by=2)
    assert reader.people == {DAY: {"SCH", "MÜL"}}
    assert "teachers" not in reader.names  # not a column: the rows name no teacher


def test_a_list_without_a_time_column_is_named():
    with pytest.raises(SourceError, match="no time column"):
        read(row("2", "5a"), columns=("hour", "classes"))


def test_the_answers_day_follows_showing_next_date_and_the_header_is_read():
    told = answer([], showingNextDate=True, absentElements=[
        {"elementType": 2, "elementName": "M&Uuml;L", "absences": [
            {"type": "FROM_TO", "startTime": 800, "endTime": 1130, "startUnit": "1",
             "endUnit": "4", "isEvent": False}]},
        {"elementType": 2, "elementName": "BEC", "absences": [
            {"type": "ALL_DAY", "startTime": 0, "endTime": 2359}]},
        {"elementType": 1, "elementName": "7c", "absences": []}],
        affectedElements={"1": ["5a", "5b"]},
        messageData={"messages": [{"subject": "Heute", "body": "<b>Wandertag</b> 7c"},
                                  {"subject": "", "body": "Mensa zu"}]})
    assert told.day == date(2026, 11, 24)
    assert told.notice.absent_teachers == (("MÜL", "1-4"), ("BEC", ""))
    assert told.notice.absent_classes == (("7c", ""),)
    assert told.notice.affected_classes == ("5a", "5b")
    assert told.messages == ("Heute: Wandertag 7c", "Mensa zu")
    assert (told.asked, told.next_day) == (DAY, date(2026, 11, 24))
    assert answer([], affectedElements={"1": ["5a"], "2": ["M&Uuml;L"]}).notice.teachers == (
        "MÜL",)


@pytest.mark.parametrize(("payload", "message"), [
    ({"date": 20261123}, "no list of rows"),
    ({"date": "23.11.2026", "rows": []}, "date is not a date"),
    ({"date": 20261123, "rows": [], "affectedElements": ["5a"]}, "affectedElements"),
    ({"date": 20261123, "rows": [], "lastUpdate": 5}, "lastUpdate is not text"),
])
def test_broken_answers_are_a_source_error(payload, message):
    with pytest.raises(SourceError, match=message):
        DayAnswer.of(payload, "test")


def test_legacy_nulls_are_read():
    told = DayAnswer.of({"date": "20261123", "nextDate": None, "rows": [],
                         "importInProgress": None, "regularFreeData": [],
                         "absentElements": None, "affectedElements": None,
                         "messageData": None}, "test")
    assert (told.day, told.next_day, told.importing) == (DAY, None, False)


def test_the_upstreams_own_absences_join_those_the_rows_tell():
    assert absent_teachers([], told=(("KEIL", "1-2"), ("MÜL", ""))) == [("KEIL", "1-2"),
                                                                       ("MÜL", "")]
    assert affected_classes([], told=("7c", "10a", "5a")) == ["5a", "7c", "10a"]
