"""The public WebUntis monitor source against its fake over real HTTP, through the real engine:
two formats with different columns, the server's variants the reference leaves open, the quiet
cycle counted at the fake, identity without ids, messages and the staff header, privacy on the
public boards, and every fault keeping the last good boards."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta

import pytest

from signage import create_app
from signage.config import ConfigError
from signage.demo.server import Fault
from signage.domain.calendar import display_day, in_school_hours
from signage.domain.power import LISTED_HOURS, PowerPlan, PowerState, power_state
from signage.domain.rows import change_rows, supervision_rows
from signage.sources.base import SourceSetupError
from signage.sources.http import make_session
from signage.sources.monitor import OVERRIDES, SAFETY_READ, MonitorSource
from signage.store import MemoryStore
from signage.sync.engine import SyncEngine
from tests.conftest import BELLS, MONDAY, NAMES, SCHEDULE, TZ, Clock
from tests.fakes.monitor_server import REFUSALS, FakeMonitor

TUESDAY, WEDNESDAY = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
FULL = "Vertretung Schüler"  # every column, hour to text
SHORT = "Aushang"  # no class and no subject column (the group names the class), no ticker
BARE = "Flur"  # neither time nor teacher column
SCHOOL = "FHG Radolfzell"  # a login name with a space


def fake_monitor(clock: Clock, **knobs) -> FakeMonitor:
    fake = FakeMonitor(TZ, clock=clock, school=SCHOOL, bells=list(BELLS), **knobs)
    for category, names in NAMES.items():
        fake.add_names(category, names)
    fake.add_format(FULL, showTicker=False)
    fake.add_format(SHORT, showClass=False, showSubject=False, showTicker=False)
    fake.add_format(BARE, showTime=False, showTeacher=False, showTicker=False)
    for offset, day in enumerate((MONDAY, TUESDAY, WEDNESDAY)):
        for cls in (1, 2, 3):
            for unit in range(4):
                fake.add_lesson(1000 * (offset + 1) + 10 * cls + unit, day, *BELLS[unit],
                                cls=cls, teacher=cls, room=cls, subject=1 + unit // 2,
                                lesson=100 * cls + 1 + unit // 2)
    return fake.start()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.combine(MONDAY, time(7, 0)))


@pytest.fixture
def monitor(clock):
    fake = fake_monitor(clock)
    yield fake
    fake.stop()


def make_engine(fake: FakeMonitor, session, format_name: str = FULL,
                store: MemoryStore | None = None) -> SyncEngine:
    source = MonitorSource.from_settings({"MONITOR_URL": fake.url, "MONITOR_SCHOOL": fake.school,
                                          "MONITOR_FORMAT": format_name}, TZ, session)
    return SyncEngine(source, store or MemoryStore(), TZ, days_ahead=7, schedule=SCHEDULE)


def rows_of(engine: SyncEngine, day: date = MONDAY) -> list[tuple]:
    return [(r.start, r.end, r.unit_label, r.classes, r.subjects, r.teachers,
             r.original_teachers, r.rooms, r.original_rooms, r.kinds, r.text)
            for r in change_rows(engine.store.snapshot(), day)]


def later(clock: Clock) -> None:
    """Let a moment pass before the next change upstream: `lastUpdate` counts whole seconds."""
    clock.advance(minutes=2)


def counted_cycle(engine: SyncEngine, fake: FakeMonitor, clock: Clock,
                  force: bool = False) -> tuple[str, list[str]]:
    """Run one cycle now; return its outcome and the endpoints it asked, in order."""
    before = len(fake.bodies)
    outcome = engine.run_cycle(clock(), force=force).outcome
    return outcome, [endpoint for endpoint, _ in fake.bodies[before:]]


def quiet_until_a_safety_read(engine: SyncEngine, clock: Clock) -> None:
    """Run quiet cycles at the 2-minute poll until the next one is the safety read (it comes
    one poll after SAFETY_READ has passed since the last full read: the source learns the
    time from the engine's cursor, which is the last cycle's)."""
    for _ in range(int(SAFETY_READ / timedelta(minutes=2))):
        clock.advance(minutes=2)
        before = engine.store.version()
        assert engine.run_cycle(clock(), force=True).outcome == "delta"
        assert engine.store.version() == before


def stage_changes(fake: FakeMonitor) -> None:
    """A substitution (5a, 2nd), a room change (5a, 3rd), a cancelled double period (5b, 3rd-4th)
    and an extra lesson (5b, 5th) on Monday; a substitution on Tuesday."""
    fake.substitute(1011, teacher=3)
    fake.change_room(1012, room=3)
    fake.cancel(1022)
    fake.cancel(1023)
    fake.add_extra(9001, MONDAY, *BELLS[4], cls=2, teacher=2, room=2, subject=2)
    fake.substitute(2031, teacher=1)


EXPECTED_MONDAY = [
    ("08:50", "09:35", "2", ("5a",), ("M",), ("SCH",), ("MÜL",), ("R101",), (), ("substitution",),
     ""),
    ("09:55", "10:40", "3", ("5a",), ("D",), ("MÜL",), (), ("Bio1",), ("R101",),
     ("room_change",), ""),
    ("09:55", "11:30", "3-4", ("5b",), ("D",), ("BEC",), (), ("R102",), (), ("cancelled",), ""),
    ("11:50", "12:35", "5", ("5b",), ("D",), ("BEC",), (), ("R102",), (), ("additional",), ""),
]


@pytest.fixture
def engine(monitor, session):
    return make_engine(monitor, session)


@pytest.mark.parametrize(("format_name", "honour", "columns"), [
    (FULL, True, "hour time classes subject room teacher info text"),
    (FULL, False, "hour time classes subject room teacher info text"),
    (SHORT, True, "hour time classes subject room teacher info text"),  # as we asked
    (SHORT, False, "hour time room teacher info text"),  # as the school set it
])
def test_changes_become_change_rows_whatever_the_formats_columns(clock, session, format_name,
                                                                 honour, columns):
    fake = fake_monitor(clock, honour_body_flags=honour)
    try:
        engine = make_engine(fake, session, format_name)
        assert engine.run_cycle(clock()).outcome == "full"
        assert rows_of(engine) == []  # a list of changes: the regular plan is never listed
        later(clock)
        stage_changes(fake)
        later(clock)
        assert engine.run_cycle(clock()).outcome == "delta"
        assert engine.source.layout == tuple(columns.split())
        subjects = ("M",) if "subject" in columns else ()
        expected = EXPECTED_MONDAY if subjects else [(*r[:4], (), *r[5:])
                                                     for r in EXPECTED_MONDAY]
        assert rows_of(engine) == expected
        assert rows_of(engine, TUESDAY) == [("08:50", "09:35", "2", ("10a",), subjects,
                                             ("MÜL",), ("SCH",), ("Bio1",), (),
                                             ("substitution",), "")]
    finally:
        fake.stop()


def test_a_list_without_teachers_gives_rows_without_them(clock, session):
    fake = fake_monitor(clock)
    try:
        stage_changes(fake)
        engine = make_engine(fake, session, BARE)
        assert engine.run_cycle(clock()).outcome == "full"
        assert "teacher" not in engine.source.layout  # never asked for what the school hid
        assert [(r[2], r[5], r[6], r[9]) for r in rows_of(engine)] == [
            ("2", (), (), ("changed",)), ("3", (), (), ("room_change",)),
            ("3-4", (), (), ("cancelled",)), ("5", (), (), ("additional",))]
    finally:
        fake.stop()


def test_the_format_is_read_then_one_data_request_per_listed_day(engine, monitor, clock):
    engine.run_cycle(clock())
    assert [r.endpoint for r in monitor.requests] == ["format", "data", "data", "data"]
    assert all(r.gzip for r in monitor.requests)
    asked = [body["date"] for endpoint, body in monitor.bodies if endpoint == "data"]
    assert asked == [20261123, 20261124, 20261125]  # Monday and the next two school days
    snapshot = engine.store.snapshot()
    assert (snapshot.window_start, snapshot.window_end) == (MONDAY, WEDNESDAY)


def test_our_request_sends_the_formats_flags_changed_only_where_we_must(monitor, session,
                                                                        clock):
    monitor.add_format("Ohne Lehrer", showTeacher=False, showOnlyFutureSub=True,
                       enableSubstitutionFrom=True, showSubstitutionFrom=1200)
    make_engine(monitor, session, "Ohne Lehrer").run_cycle(clock())
    endpoint, body = monitor.bodies[1]
    assert endpoint == "data"
    stored = monitor.formats["Ohne Lehrer"]
    assert body["showTeacher"] is False  # never a column the school hid
    assert (body["showTime"], body["showOnlyFutureSub"], body["enableSubstitutionFrom"],
            body["dateOffset"]) == (True, False, False, 0)
    assert body["schoolName"] == SCHOOL and body["formatName"] == "Ohne Lehrer"
    assert {k: v for k, v in body.items() if k in stored and k not in OVERRIDES} == {
        k: v for k, v in stored.items() if k not in OVERRIDES}
    assert [r.params["school"] for r in monitor.requests] == [[SCHOOL]] * len(monitor.requests)


def test_a_quiet_cycle_costs_one_request_and_applies_nothing(engine, monitor, clock):
    stage_changes(monitor)
    engine.run_cycle(clock())
    version = engine.store.version()
    for _ in range(3):
        later(clock)
        assert counted_cycle(engine, monitor, clock) == ("delta", ["data"])
    assert engine.store.version() == version
    monitor.substitute(1013, teacher=2)  # lastUpdate moves: every shown day is asked again
    later(clock)
    assert counted_cycle(engine, monitor, clock) == ("delta", ["data"] * 3)
    assert engine.store.version() > version


def test_a_row_that_does_not_change_keeps_its_identity(engine, monitor, clock):
    stage_changes(monitor)
    engine.run_cycle(clock())
    before = dict(engine.store.snapshot().periods)
    later(clock)
    monitor.substitute(1013, teacher=2)
    later(clock)
    engine.run_cycle(clock())
    after = engine.store.snapshot().periods
    assert set(before) < set(after)
    assert all(after[pid] == period for pid, period in before.items())
    monitor.withdraw(1011)  # the substitution is withdrawn: the lesson takes place as planned
    later(clock)
    engine.run_cycle(clock())
    assert [r[5] for r in rows_of(engine)].count(("SCH",)) == 0


def test_a_withdrawn_change_goes_even_when_the_engine_refused_the_answer_once(engine, monitor,
                                                                            clock):
    """The only change is withdrawn: the window's answer is empty, which the engine refuses
    once. The next cycle sees the same lastUpdate, and must not take it for a quiet one."""
    monitor.substitute(1011, teacher=3)
    assert engine.run_cycle(clock()).outcome == "full"
    assert len(rows_of(engine)) == 1
    later(clock)
    monitor.withdraw(1011)
    later(clock)
    refused = engine.run_cycle(clock())
    assert refused.outcome == "failed" and "answered no periods" in refused.error
    assert len(rows_of(engine)) == 1  # the last good copy, for now
    later(clock)
    assert engine.run_cycle(clock(), force=True).outcome == "delta"  # confirmed: taken
    assert rows_of(engine) == []
    later(clock)
    assert counted_cycle(engine, monitor, clock) == ("delta", ["data"])  # and quiet again


def test_a_cycle_that_failed_after_reading_is_read_again_not_taken_as_quiet(monitor, session,
                                                                             clock):
    """The ticker refuses after the days were read (a format made private meanwhile): the
    next cycle reads the days again instead of trusting the lastUpdate of the failed one."""
    monitor.formats[FULL]["showTicker"] = True
    engine = make_engine(monitor, session)
    monitor.substitute(1011, teacher=3)
    engine.run_cycle(clock())
    later(clock)
    monitor.substitute(1012, teacher=3)
    monitor.inject(Fault("ticker", status=403, body=b"<html><title>Login</title></html>"))
    later(clock)
    failed = engine.run_cycle(clock())
    assert failed.outcome == "failed" and "not public" in failed.error
    later(clock)
    assert engine.run_cycle(clock(), force=True).outcome == "delta"
    assert [r[5] for r in rows_of(engine)] == [("SCH",), ("SCH",)]


def test_a_change_in_the_second_of_our_last_read_is_read_by_the_safety_read(engine, monitor,
                                                                           clock):
    """lastUpdate counts whole seconds: a change made in the second we last read the list
    leaves it as it was. A full read at least every SAFETY_READ picks it up."""
    monitor.substitute(1011, teacher=3)
    engine.run_cycle(clock())
    # The same instant: lastUpdate does not move, nor does the day's header (5a is affected
    # already, nobody else is absent).
    monitor.change_room(1012, room=3)
    quiet_until_a_safety_read(engine, clock)
    assert [r[9] for r in rows_of(engine)] == [("substitution",)]
    clock.advance(minutes=2)
    assert counted_cycle(engine, monitor, clock) == ("delta", ["format"] + ["data"] * 3)
    assert [r[9] for r in rows_of(engine)] == [("substitution",), ("room_change",)]


def test_the_safety_read_comes_while_changes_keep_coming(engine, monitor, clock):
    """A school changing its plan every ten minutes still gets its format read again within
    SAFETY_READ and a poll: its hidden teachers are not asked for the rest of the day."""
    monitor.substitute(1011, teacher=3)
    engine.run_cycle(clock())
    monitor.formats[FULL]["showTeacher"] = False  # the school hides its teachers' names
    changes = iter([(1012, 3), (1013, 3), (1021, 1), (1022, 1), (1031, 2), (1032, 2)])
    started, read_after = clock(), None
    while read_after is None and clock() - started < 2 * SAFETY_READ:
        clock.advance(minutes=2)
        if (clock() - started) % timedelta(minutes=10) == timedelta(0):
            monitor.substitute(*next(changes))
        outcome, asked = counted_cycle(engine, monitor, clock)
        assert outcome == "delta"
        if "format" in asked:
            read_after = clock() - started
    assert read_after is not None and read_after <= SAFETY_READ + timedelta(minutes=4)
    assert "teacher" not in engine.source.layout


def test_a_list_without_last_update_is_read_whole_every_cycle(clock, session):
    """Nothing tells a quiet list without lastUpdate: a change on Tuesday, which leaves
    Monday's answer as it was, is read at the next cycle."""
    fake = fake_monitor(clock, send_last_update=False)
    try:
        engine = make_engine(fake, session)
        assert engine.run_cycle(clock()).outcome == "full"
        later(clock)
        fake.substitute(2031, teacher=1)
        later(clock)
        assert counted_cycle(engine, fake, clock) == ("delta", ["data"] * 3)
        assert [r[9] for r in rows_of(engine, TUESDAY)] == [("substitution",)]
        assert engine.source.describe()[-1] == "monitor lastUpdate: not sent"
    finally:
        fake.stop()


def test_after_midnight_the_window_rolls_by_the_day_it_gains_and_is_quiet_again(engine, monitor,
                                                                                clock):
    """Between midnight and the nightly reload the engine asks the gained day alone, then the
    window's changes: the gained day's answer is no stamp of the window, so after the roll's
    cycle (and the safety read a long night makes due) a quiet cycle costs one request."""
    monitor.substitute(1011, teacher=3)
    monitor.substitute(2031, teacher=1)
    engine.run_cycle(clock())
    clock.set_local(datetime.combine(TUESDAY, time(0, 2)))
    before = len(monitor.bodies)
    assert engine.run_cycle(clock(), force=True).outcome == "delta"
    asked = [body.get("date") for _, body in monitor.bodies[before:]]
    assert asked == [None, 20261126, 20261124, 20261125, 20261126]  # format, Thursday, window
    snapshot = engine.store.snapshot()
    assert (snapshot.window_start, snapshot.window_end) == (TUESDAY, TUESDAY + timedelta(days=2))
    assert [r[9] for r in rows_of(engine, TUESDAY)] == [("substitution",)]
    costs = []
    for _ in range(3):
        clock.advance(minutes=2)
        outcome, asked = counted_cycle(engine, monitor, clock, force=True)
        assert outcome == "delta"
        costs.append(len(asked))
    assert costs == [4, 1, 1]  # the safety read, then quiet


def test_a_format_whose_teachers_a_school_turns_off_is_read_again(engine, monitor, clock):
    monitor.substitute(1011, teacher=3)
    engine.run_cycle(clock())
    assert "teacher" in engine.source.layout
    monitor.formats[FULL]["showTeacher"] = False  # the school hides its teachers' names
    quiet_until_a_safety_read(engine, clock)
    clock.advance(minutes=2)
    engine.run_cycle(clock())
    assert "teacher" not in engine.source.layout
    assert [body["showTeacher"] for endpoint, body in monitor.bodies[-4:]
            if endpoint == "data"][-1] is False  # never asked for again
    assert [r[5] for r in rows_of(engine)] == [()]


def test_a_message_of_the_day_is_read_although_last_update_stands_still(engine, monitor,
                                                                         clock):
    engine.run_cycle(clock())
    later(clock)
    monitor.add_message("", "Mensa heute geschlossen")  # no change of the plan
    later(clock)
    # The day's answer differed: every day read.
    assert counted_cycle(engine, monitor, clock) == ("delta", ["data"] * 3)
    assert engine.store.snapshot().messages == ("Mensa heute geschlossen",)


def test_a_substitute_shown_without_the_teacher_replaced_is_no_extra_lesson(clock, session):
    """With `showAbsentTeacher` off the teacher cell holds the substitute alone, marked new:
    the info's "Vertretung" says it is a substitution, not an additional lesson."""
    fake = fake_monitor(clock)
    try:
        fake.add_format("Ohne Abwesende", showAbsentTeacher=False)
        fake.substitute(1011, teacher=3)
        engine = make_engine(fake, session, "Ohne Abwesende")
        engine.run_cycle(clock())
        assert [(r[5], r[6], r[9]) for r in rows_of(engine)] == [(("SCH",), (), ("changed",))]
        assert all(body["showAbsentTeacher"] is False  # as the school set it
                   for endpoint, body in fake.bodies if endpoint == "data")
    finally:
        fake.stop()


@pytest.mark.parametrize("honour", [True, False])
def test_a_format_with_a_student_group_column(clock, session, honour):
    """Where the student group's column stands is not known: we ask without it; a server
    that lays the list out by the format alone gets a message naming the setting."""
    fake = fake_monitor(clock, honour_body_flags=honour)
    try:
        fake.add_format("Gruppen", showStudentgroup=True)
        stage_changes(fake)
        engine = make_engine(fake, session, "Gruppen")
        result = engine.run_cycle(clock())
        assert fake.bodies[1][1]["showStudentgroup"] is False
        if honour:
            assert result.outcome == "full" and rows_of(engine) == EXPECTED_MONDAY
        else:
            assert result.outcome == "failed"
            assert "student group column (showStudentgroup) off" in result.error
    finally:
        fake.stop()


@pytest.mark.parametrize("knobs", [
    {"honour_body_flags": False},
    {"offset_counts": "calendar"},
    {"encode_names": True},
    {"legacy_nulls": True},
    {"cancel_teacher": "dashes"},
    {"added_original": "dashes"},
], ids=lambda knobs: next(iter(knobs)))
def test_every_plausible_server_variant_gives_the_same_rows(clock, session, knobs):
    fake = fake_monitor(clock, **knobs)
    try:
        engine = make_engine(fake, session)
        stage_changes(fake)
        assert engine.run_cycle(clock()).outcome == "full"
        assert rows_of(engine) == EXPECTED_MONDAY
    finally:
        fake.stop()


def test_a_server_that_ignores_our_flags_is_read_by_the_stored_formats_columns(clock, session,
                                                                               caplog):
    fake = fake_monitor(clock, honour_body_flags=False)
    try:
        fake.add_format("Ohne Zeit", showTime=False)
        stage_changes(fake)
        with caplog.at_level(logging.WARNING, "signage.sources.monitor"):
            full = make_engine(fake, session, SHORT).run_cycle(clock())
        assert "lays out the list by its stored format" in caplog.text
        assert full.outcome == "full"
        bare = make_engine(fake, session, "Ohne Zeit").run_cycle(clock())
        assert bare.outcome == "failed"
        assert "shows no times" in bare.error and "ticks the time column (showTime)" in bare.error
    finally:
        fake.stop()


def test_the_list_switching_days_early_is_read_as_the_next_days(clock, session):
    fake = fake_monitor(clock, honour_body_flags=False)
    try:
        fake.add_format("Ab Mittag", enableSubstitutionFrom=True, showSubstitutionFrom=1200)
        stage_changes(fake)
        fake.cancel(3011)  # and a change on Wednesday, the day after the one shown early
        clock.set_local(datetime.combine(MONDAY, time(13, 0)))
        engine = make_engine(fake, session, "Ab Mittag")
        assert engine.run_cycle(clock()).outcome == "full"
        snapshot = engine.store.snapshot()
        assert rows_of(engine, TUESDAY)  # Tuesday's change, on Tuesday
        assert all(r.date == TUESDAY for r in change_rows(snapshot, TUESDAY))
        # The walk goes on from the day shown: Wednesday is read, and both are school days.
        assert [r[9] for r in rows_of(engine, WEDNESDAY)] == [("cancelled",)]
        assert {TUESDAY, WEDNESDAY} <= set(snapshot.notices)
    finally:
        fake.stop()


def test_messages_and_the_ticker_become_the_boards_ticker(monitor, session, clock):
    monitor.add_message("Heute", "<b>Wandertag</b> der 7c")
    monitor.add_message("", "Mensa geschlossen")
    monitor.ticker = ["Elternsprechtag am Freitag"]
    monitor.formats[FULL]["showTicker"] = True
    engine = make_engine(monitor, session)
    engine.run_cycle(clock())
    assert engine.store.snapshot().messages == (
        "Heute: Wandertag der 7c", "Mensa geschlossen", "Elternsprechtag am Freitag")
    later(clock)
    monitor.inject(Fault("ticker", status=500))
    monitor.substitute(1011, teacher=3)
    later(clock)
    assert engine.run_cycle(clock()).outcome == "delta"  # a ticker is not worth stale boards
    assert monitor.count("ticker") == 2
    assert "Elternsprechtag am Freitag" in engine.store.snapshot().messages  # its last lines
    monitor.ticker = []
    monitor.substitute(1012, teacher=3)
    later(clock)
    engine.run_cycle(clock())
    assert engine.store.snapshot().messages == ("Heute: Wandertag der 7c", "Mensa geschlossen")


def app_on(engine: SyncEngine, clock: Clock, tmp_path, profile: str):
    return create_app({"DEFAULT_PROFILE": profile, "STATE_FILE": str(tmp_path / "s.json")},
                      store=engine.store, clock=clock)


def test_absent_and_affected_elements_feed_the_staff_header(clock, session, tmp_path):
    fake = fake_monitor(clock)
    try:
        fake.add_format("Kopf", showAbsentElements=[1, 2], showAffectedElements=[1])
        stage_changes(fake)
        engine = make_engine(fake, session, "Kopf")
        engine.run_cycle(clock())
        notice = engine.store.snapshot().notices[MONDAY]
        assert notice.absent_teachers and notice.affected_classes
        client = app_on(engine, clock, tmp_path, "staff").test_client()
        page = client.get(f"/board/overview?date={MONDAY}").get_data(as_text=True)
        assert "Abwesende Lehrkräfte:" in page and "Betroffene Klassen:</span> 5a, 5b" in page
        for name, _ in notice.absent_teachers:
            assert name in page
        public = app_on(engine, clock, tmp_path, "public").test_client()
        assert "Abwesende" not in public.get(f"/board/overview?date={MONDAY}").get_data(
            as_text=True)
    finally:
        fake.stop()


def test_teacher_names_the_list_publishes_never_reach_a_public_board(engine, monitor, clock,
                                                                    tmp_path):
    stage_changes(monitor)
    monitor.set_text(1013, "Vertretung durch BEC, Buch mitbringen")
    engine.run_cycle(clock())
    assert any("SCH" in r[5] for r in rows_of(engine))  # the list shows teachers ...
    client = app_on(engine, clock, tmp_path, "public").test_client()
    pages = [client.get(f"/board/{board}?date={MONDAY}").get_data(as_text=True)
             for board in ("overview", "class/5a", "class/5b", "room/Bio1")]
    pages.append(client.get(f"/api/v1/changes?date={MONDAY}").get_data(as_text=True))
    for page in pages:  # ... our public boards do not
        for teacher in NAMES["teachers"].values():
            assert teacher not in page
        assert "Buch mitbringen" not in page
    assert client.get("/board/teacher/SCH").status_code in (403, 404)


def test_teacher_names_in_the_lists_messages_are_blanked_on_public_boards(engine, monitor,
                                                                          clock, tmp_path):
    stage_changes(monitor)
    monitor.add_message("Heute", "Frau MÜL begleitet die 7c, Herr BEC vertritt in der 5b")
    engine.run_cycle(clock())
    public = app_on(engine, clock, tmp_path, "public").test_client()
    for board in ("overview", "class/5a"):
        page = public.get(f"/board/{board}?date={MONDAY}").get_data(as_text=True)
        assert "Heute: Frau … begleitet die 7c, Herr … vertritt in der 5b" in page
        assert "MÜL" not in page and "BEC" not in page
    staff = app_on(engine, clock, tmp_path, "staff").test_client()
    page = staff.get(f"/board/overview?date={MONDAY}").get_data(as_text=True)
    assert "Frau MÜL begleitet die 7c, Herr BEC vertritt" in page


@pytest.mark.parametrize("flags", [
    {"groupBy": 2, "showAffectedElements": [1]},  # rows grouped under their teachers
    {"groupBy": 1, "showAffectedElements": [1, 2]},  # the header names affected teachers
], ids=["grouped-by-teacher", "affected-teachers"])
def test_names_known_only_from_the_lists_header_or_groups_are_blanked_too(clock, session,
                                                                         tmp_path, flags):
    """A format without a teacher column still names teachers in its groups or its header:
    public boards blank those in the messages too."""
    fake = fake_monitor(clock)
    try:
        fake.add_format("Ohne Lehrer", showTeacher=False, showAbsentElements=[],
                        showTicker=False, **flags)
        stage_changes(fake)
        fake.add_message("Heute", "Herr SCH vertritt in der 5a")
        engine = make_engine(fake, session, "Ohne Lehrer")
        engine.run_cycle(clock())
        assert "teachers" not in engine.store.snapshot().names  # no column names them
        public = app_on(engine, clock, tmp_path, "public").test_client()
        page = public.get(f"/board/overview?date={MONDAY}").get_data(as_text=True)
        assert "Heute: Herr … vertritt in der 5a" in page and "SCH" not in page
        staff = app_on(engine, clock, tmp_path, "staff").test_client()
        page = staff.get(f"/board/overview?date={MONDAY}").get_data(as_text=True)
        assert "Herr SCH vertritt in der 5a" in page
    finally:
        fake.stop()


# --- faults ------------------------------------------------------------------------------------
def test_an_unknown_school_is_named_with_the_setting_to_check(monitor, session, clock):
    source = MonitorSource(monitor.url, "FHG Radolfszell", FULL, TZ, session)
    with pytest.raises(SourceSetupError, match="SIGNAGE_MONITOR_SCHOOL"):
        source.fetch_window(MONDAY, WEDNESDAY)


def test_an_unknown_format_is_named_with_the_setting_to_check(monitor, session):
    source = MonitorSource(monitor.url, SCHOOL, "Vertretung Lehrer", TZ, session)
    with pytest.raises(SourceSetupError, match="SIGNAGE_MONITOR_FORMAT"):
        source.fetch_window(MONDAY, WEDNESDAY)


@pytest.mark.parametrize("refusal", REFUSALS)
def test_a_list_that_is_not_public_says_how_to_make_it_public(clock, session, refusal):
    fake = fake_monitor(clock, refusal=refusal)
    try:
        fake.add_format("Intern", public=False)
        source = MonitorSource(fake.url, SCHOOL, "Intern", TZ, session)
        with pytest.raises(SourceSetupError, match="not public.*Öffentlich"):
            source.fetch_window(MONDAY, WEDNESDAY)
    finally:
        fake.stop()


READINGS = {"format": "has no list named", "private": "is not public",
            "school": "does not know the school",
            "either": "check SIGNAGE_MONITOR_SCHOOL and SIGNAGE_MONITOR_FORMAT"}


@pytest.mark.parametrize(("message", "reading"), [
    ("Format 'Vertretung Lehrer' not found in school 'FHG Radolfzell'", "format"),
    ("unknown format", "format"),
    ("not found", "format"),
    ("no right to read the format of this school", "private"),
    ("Login required", "private"),
    ("school not found", "school"),
    ("Schule unbekannt", "school"),
    ("Unknown school login name 'FHG Radolfszell'", "school"),
    ("Schulname ungültig", "school"),
    ("something went wrong", "either"),
])
def test_a_refusals_words_name_the_setting_to_check(monitor, session, message, reading):
    body = json.dumps({"error": {"code": -1, "message": message, "data": None}}).encode()
    monitor.inject(Fault("format", status=200, body=body))
    source = MonitorSource(monitor.url, SCHOOL, FULL, TZ, session)
    with pytest.raises(SourceSetupError) as refused:
        source.fetch_window(MONDAY, WEDNESDAY)
    said = {name for name, words in READINGS.items() if words in str(refused.value)}
    assert said == {reading}


@pytest.mark.parametrize(("fault", "error"), [
    (Fault("data", status=200, body=b"<!DOCTYPE html><html><body>Wartung</body></html>"),
     "HTML page where JSON was expected (a login or maintenance page?)"),
    (Fault("data", status=200, body="<html><head><title>Anmeldung derzeit nicht möglich "
                                     "(Wartung)</title></head><body>Bitte später</body></html>"
           .encode()), "HTML page where JSON was expected"),
    (Fault("data", status=503, times=4), "HTTP 503"),  # the session's 3 retries too
    (Fault("data", status=500), "HTTP 500"),
    (Fault("data", delay_s=1.5, times=4), "timed out"),
    (Fault("data", status=200, body=b'{"payload": {"date": 20261123}}'), "no list of rows"),
    (Fault("data", status=200, body=b'{"result": 1}'), "neither a payload"),
    (Fault("data", status=200, body=b'{"payload": {"date": 20261123, "rows": [{"data": 7}]}}'),
     "data is not a list of texts"),
    (Fault("format", status=200, body=b"[]"), "neither a payload"),
    (Fault("data", status=200, truncate=True), "not valid JSON"),
], ids=["html", "html-login-down", "503", "500", "hang", "no-rows", "no-payload", "data-no-list",
        "format-list", "truncated"])
def test_faults_keep_the_last_good_boards(engine, monitor, clock, fault, error):
    stage_changes(monitor)
    assert engine.run_cycle(clock()).outcome == "full"
    good = rows_of(engine)
    if fault.endpoint == "format":
        quiet_until_a_safety_read(engine, clock)  # the format is asked at the safety read
    later(clock)
    monitor.substitute(1013, teacher=2)
    monitor.inject(fault)
    clock.advance(minutes=2)
    result = engine.run_cycle(clock(), force=True)
    assert result.outcome == "failed" and error in result.error
    assert rows_of(engine) == good
    clock.advance(minutes=20)
    assert engine.run_cycle(clock(), force=True).outcome == "delta"  # and it recovers
    assert len(rows_of(engine)) == len(good) + 1


def test_an_import_in_progress_means_try_again_later(engine, monitor, clock):
    stage_changes(monitor)
    engine.run_cycle(clock())
    good = rows_of(engine)
    monitor.importing = True
    clock.advance(minutes=2)
    result = engine.run_cycle(clock())
    assert result.outcome == "busy" and "importInProgress" in result.error
    assert rows_of(engine) == good and engine.store.status().failures == 0
    monitor.importing = False
    clock.advance(minutes=2)
    assert engine.run_cycle(clock()).outcome == "delta"


def test_a_school_name_with_a_space_is_percent_encoded(monitor, session):
    MonitorSource(monitor.url, SCHOOL, FULL, TZ, session).fetch_window(MONDAY, MONDAY)
    assert monitor.requests and all("school=FHG%20Radolfzell" in r.query_string
                                    for r in monitor.requests)


def test_the_urls_setting_takes_https_and_loopback_http_only(tmp_path):
    base = {"SOURCE": "monitor", "MONITOR_SCHOOL": SCHOOL, "MONITOR_FORMAT": FULL,
            "STATE_FILE": str(tmp_path / "s.json")}
    for url in ("https://mese.webuntis.com", "http://127.0.0.1:8080"):
        assert create_app({**base, "MONITOR_URL": url}).extensions["signage"].settings
    with pytest.raises(ConfigError, match="SIGNAGE_MONITOR_URL: expected an https://"):
        create_app({**base, "MONITOR_URL": "http://mese.webuntis.com"})
    with pytest.raises(ConfigError, match="SIGNAGE_MONITOR_FORMAT: required"):
        create_app({**base, "MONITOR_URL": "https://mese.webuntis.com", "MONITOR_FORMAT": ""})


@pytest.mark.parametrize(("today", "last"), [
    (MONDAY, WEDNESDAY), (date(2026, 11, 26), date(2026, 11, 30)),  # Thu -> Fri, Mon
    (date(2026, 11, 27), date(2026, 12, 1)), (date(2026, 11, 28), date(2026, 12, 1))])
def test_the_window_is_today_and_the_next_two_school_days(today, last):
    session = make_session()
    assert MonitorSource("https://mese.webuntis.com/", SCHOOL, FULL, TZ,
                         session).last_day(today) == last
    session.close()


def test_a_school_day_without_changes_is_still_a_school_day(clock, session):
    """A list of changes holds no period on a quiet day: the days the list exists for are the
    school days all the same (polling, the day boards show, the screens' hours)."""
    fake = fake_monitor(clock)
    try:
        engine = make_engine(fake, session)
        assert engine.run_cycle(clock()).outcome == "full"
        snapshot = engine.store.snapshot()
        assert not snapshot.periods and set(snapshot.notices) == {MONDAY, TUESDAY, WEDNESDAY}
        nine = datetime.combine(MONDAY, time(9, 0))
        assert in_school_hours(nine, SCHEDULE.school_hours, snapshot)
        assert display_day(snapshot, nine, time(17, 0)) == MONDAY
        assert power_state(PowerPlan(), snapshot, clock(), TZ) == PowerState(
            True, datetime.combine(MONDAY, LISTED_HOURS[1], tzinfo=TZ), "school day")
        saturday = MONDAY + timedelta(days=5)
        clock.set_local(datetime.combine(saturday, time(10, 0)))
        weekend = make_engine(fake, session)
        assert weekend.run_cycle(clock()).outcome == "full"
        snapshot = weekend.store.snapshot()
        assert saturday not in snapshot.notices  # asked for, but not a school day
        assert display_day(snapshot, clock().astimezone(TZ).replace(tzinfo=None),
                           time(17, 0)) == saturday + timedelta(days=2)
        assert power_state(PowerPlan(), snapshot, clock(), TZ) == PowerState(
            False, datetime.combine(saturday + timedelta(days=2), LISTED_HOURS[0], tzinfo=TZ),
            "no lessons today")
    finally:
        fake.stop()


def test_a_moved_lesson_shows_moved_on_both_days_with_the_lists_words(engine, monitor, clock):
    monitor.move(1011, TUESDAY, *BELLS[0])
    engine.run_cycle(clock())
    [away] = rows_of(engine)
    [back] = [r for r in rows_of(engine, TUESDAY) if r[3] == ("5a",)]
    assert (away[:3], away[9], away[10]) == (("08:50", "09:35", "2"), ("cancelled", "moved"),
                                             "Verlegung nach 24.11. / 08:00")
    assert (back[:3], back[9], back[10]) == (("08:00", "08:45", "1"), ("additional", "moved"),
                                             "Verlegung von 23.11. / 08:50")
    # The list names the other slot in words only: no link from one side to the other.
    assert all(r.other_side is None for r in change_rows(engine.store.snapshot(), MONDAY))


@pytest.mark.parametrize(("info", "kinds", "supervision"), [
    ("Klausur", ("exam",), False),
    ("Pausenaufsicht", (), True),
    ("Sondereinsatz", ("additional",), False),
    ("Betreuung", ("changed",), False),
])
def test_the_type_word_names_exams_supervisions_and_extra_lessons(engine, monitor, clock, info,
                                                                  kinds, supervision):
    monitor.add_raw_row(MONDAY, {"hour": "6", "time": "12:40-13:25", "classes": "5a",
                                 "subject": "M", "room": "R101", "teacher": "MÜL", "info": info,
                                 "text": ""}, group="5a")
    engine.run_cycle(clock())
    snapshot = engine.store.snapshot()
    assert [r.kinds for r in change_rows(snapshot, MONDAY)] == ([kinds] if kinds else [])
    assert bool(supervision_rows(snapshot, MONDAY)) is supervision


def test_a_school_morning_costs_one_request_per_quiet_cycle(monitor, session, clock):
    """07:00-11:00 at the default 2-minute poll, a planner's change every 20 minutes: the
    requests each kind of cycle cost, counted at the fake (the figures of the issue's note),
    and a safety read every SAFETY_READ and a poll, changes or not."""
    monitor.formats[FULL]["showTicker"] = True
    engine = make_engine(monitor, session)
    costs: dict[str, list[int]] = {"full": [], "quiet": [], "after a change": [], "safety": []}
    full_reads = []
    lessons = [1011, 1012, 1021, 1022, 1031, 1032]
    for n in range(120):
        changed = n > 0 and n % 10 == 0
        if changed:
            monitor.substitute(lessons[n // 10 % len(lessons)], teacher=1 + n % 3)
        clock.advance(seconds=1)
        outcome, asked = counted_cycle(engine, monitor, clock, force=True)
        kind = ("full" if outcome == "full" else "safety" if "format" in asked
                else "after a change" if changed else "quiet")
        costs[kind].append(len(asked))
        if kind in ("full", "safety"):
            full_reads.append(clock())
        clock.advance(seconds=119)
    assert costs["full"] == [5]  # the format, three days, the ticker
    assert set(costs["quiet"]) == {1}  # the first day's lastUpdate
    assert set(costs["after a change"]) == {4}  # three days and the ticker
    assert set(costs["safety"]) == {5}  # as a full load
    gaps = [b - a for a, b in zip(full_reads, full_reads[1:], strict=False)]
    assert len(gaps) == 7 and all(
        SAFETY_READ <= gap <= SAFETY_READ + timedelta(minutes=4) for gap in gaps)
    assert len(costs["quiet"]) + len(costs["after a change"]) == 112
