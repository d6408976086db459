"""One school day, told by every upstream in its own protocol, shows the same on every board.

The scenario: two classes' Monday, then a substitution, a room change, a cancelled double period
and an extra lesson. Each source's fake server (over real HTTP) stages it in its own way (v3
statuses, JSON-RPC codes, Affect IT's changed and vanished lessons, UniTime's meetings with
approval statuses, MyTimetable's id-less events, the public monitor's list of changes); a real
sync engine copies it; the change rows and the rendered boards must be the same whichever source
it came from.

The monitor lists changes only, so it tells the same change rows but not the regular lessons
(its boards of a class or room show the changes alone; checked apart below).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

import pytest

from signage import create_app
from signage.demo.server import FakeUntis
from signage.domain.rows import change_rows
from signage.sources.affectit import AffectItSource
from signage.sources.jsonrpc import JsonRpcSource
from signage.sources.monitor import MonitorSource
from signage.sources.mytimetable import MyTimetableSource
from signage.sources.unitime import UnitimeSource
from signage.sources.untis import UntisSource
from signage.store import MemoryStore
from signage.sync.engine import SyncEngine
from tests.conftest import BELLS, MONDAY, SCHEDULE, TZ, Clock
from tests.fakes.affectit_server import FakeAffectIt
from tests.fakes.jsonrpc_server import FakeJsonRpc
from tests.fakes.monitor_server import FakeMonitor
from tests.fakes.mytimetable_server import FakeMyTimetable
from tests.fakes.unitime_server import FakeUnitime

NAMES = {
    "classes": {1: "5a", 2: "5b"},
    "teachers": {1: "MÜL", 2: "BEC", 3: "SCH"},
    "rooms": {1: "R101", 2: "R102", 3: "Bio1"},
    "subjects": {1: "M", 2: "D"},
}
# (period id, class, unit, lesson): class c is taught by teacher c in room c; 5b's units 3 and 4
# are one double period.
LESSONS = [(101, 1, 0, 11), (102, 1, 1, 12), (103, 1, 2, 13), (201, 2, 0, 21), (202, 2, 1, 22),
           (203, 2, 2, 25), (204, 2, 3, 25)]


class UntisStage:
    """The scenario on the fake WebUntis v3 server: change statuses on the periods."""

    def __init__(self, clock: Clock) -> None:
        self.fake = FakeUntis(TZ, clock=clock, school="Scenario")

    def add_lesson(self, pid: int, day: date, start: time, end: time, cls: int, teacher: int,
                   room: int, subject: int, lesson: int, status: str = "REGULAR") -> None:
        def refs(i: int) -> list[dict[str, Any]]:
            return [{"id": i, "status": "REGULAR"}]

        self.fake.put_period({
            "id": pid, "lessonId": lesson, "type": "NORMAL_TEACHING_PERIOD", "status": status,
            "start": datetime.combine(day, start).isoformat(timespec="minutes"),
            "end": datetime.combine(day, end).isoformat(timespec="minutes"),
            "classes": refs(cls), "teachers": refs(teacher), "rooms": refs(room),
            "subjects": refs(subject)})

    def _replace(self, pid: int, category: str, new: int) -> None:
        old = self.fake.periods[pid][category][0]["id"]
        self.fake.update_period(pid, status="CHANGED", **{category: [
            {"id": old, "status": "REMOVED"}, {"id": new, "status": "ADDED"}]})

    def substitute(self, pid: int, teacher: int) -> None:
        self._replace(pid, "teachers", teacher)

    def change_room(self, pid: int, room: int) -> None:
        self._replace(pid, "rooms", room)

    def cancel(self, pid: int) -> None:
        self.fake.update_period(pid, status="CANCELLED")

    def add_extra(self, pid: int, day: date, start: time, end: time, cls: int, teacher: int,
                  room: int, subject: int) -> None:
        self.add_lesson(pid, day, start, end, cls, teacher, room, subject, lesson=pid,
                        status="ADDITIONAL")

    def source(self, session) -> UntisSource:
        client_id, secret = self.fake.credentials
        return UntisSource(self.fake.url, self.fake.tenant, client_id, secret, TZ, session)


class AffectItStage:
    """The scenario on the fake Affect IT API: lessons change references or vanish."""

    def __init__(self, clock: Clock) -> None:
        self.fake = FakeAffectIt(TZ, clock=clock)

    def add_lesson(self, *args: Any, lesson: int, **kwargs: Any) -> None:
        self.fake.add_lesson(*args, course=lesson, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fake, name)

    def source(self, session) -> AffectItSource:
        return AffectItSource(self.fake.url, self.fake.api_key, TZ, session)


class JsonRpcStage:
    """The scenario on the fake WebUntis JSON-RPC server: codes and original ids."""

    def __init__(self, clock: Clock) -> None:
        self.fake = FakeJsonRpc(TZ, clock=clock)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fake, name)

    def source(self, session) -> JsonRpcSource:
        user, password = self.fake.credentials
        return JsonRpcSource(self.fake.url, self.fake.school, user, password, TZ, session)


class UnitimeStage:
    """The scenario on a fake UniTime: meetings of events, cancelled by approval status."""

    def __init__(self, clock: Clock) -> None:
        self.fake = FakeUnitime(TZ, clock=clock)

    def add_lesson(self, *args: Any, lesson: int, **kwargs: Any) -> None:
        self.fake.add_lesson(*args, course=lesson, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fake, name)

    def source(self, session) -> UnitimeSource:
        return UnitimeSource.from_settings(self.fake.settings(), TZ, session)


class MyTimetableStage:
    """The scenario on a fake MyTimetable: events without ids that change or vanish."""

    def __init__(self, clock: Clock) -> None:
        self.fake = FakeMyTimetable(TZ, clock=clock)

    def add_lesson(self, *args: Any, lesson: int, **kwargs: Any) -> None:
        self.fake.add_lesson(*args, course=lesson, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fake, name)

    def source(self, session) -> MyTimetableSource:
        return MyTimetableSource(self.fake.url, self.fake.token, TZ, session)


class MonitorStage:
    """The scenario on a fake public substitution monitor: a list of changes, rows without ids.
    (The monitor cannot express a moved lesson's other side; the scenario has none.)"""

    FORMAT = "Vertretung Schüler"

    def __init__(self, clock: Clock) -> None:
        self.fake = FakeMonitor(TZ, clock=clock, school="Scenario School",
                                bells=list(BELLS))
        # No header: the other sources' boards name the absent teachers from the rows alone.
        self.fake.add_format(self.FORMAT, showAbsentElements=[], showAffectedElements=[])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fake, name)

    def source(self, session) -> MonitorSource:
        return MonitorSource(self.fake.url, self.fake.school, self.FORMAT, TZ, session)


STAGES = {"untis": UntisStage, "affectit": AffectItStage, "jsonrpc": JsonRpcStage,
          "unitime": UnitimeStage, "mytimetable": MyTimetableStage, "monitor": MonitorStage}
CHANGES_ONLY = {"monitor"}  # sources that list changes, never the regular plan


def run_scenario(name: str, clock: Clock, session) -> tuple[SyncEngine, Any]:
    """Stage the day on `name`'s fake, sync, change it, sync again; return engine and stage."""
    stage = STAGES[name](clock)
    for category, table in NAMES.items():
        stage.fake.add_names(category, table)
    for pid, cls, unit, lesson in LESSONS:
        stage.add_lesson(pid, MONDAY, *BELLS[unit], cls=cls, teacher=cls, room=cls, subject=cls,
                         lesson=lesson)
    stage.fake.start()
    engine = SyncEngine(stage.source(session), MemoryStore(), TZ, 2, SCHEDULE)
    assert engine.run_cycle(clock()).outcome == "full"
    clock.advance(minutes=2)
    stage.substitute(102, teacher=3)
    stage.change_room(103, room=3)
    stage.cancel(203)
    stage.cancel(204)
    stage.add_extra(301, MONDAY, *BELLS[4], cls=2, teacher=2, room=2, subject=2)
    clock.advance(minutes=2)
    assert engine.run_cycle(clock()).outcome == "delta"
    return engine, stage


EXPECTED = [
    ("09:55", "10:40", ("5a",), ("M",), ("MÜL",), (), ("Bio1",), ("R101",), ("room_change",)),
    ("08:50", "09:35", ("5a",), ("M",), ("SCH",), ("MÜL",), ("R101",), (), ("substitution",)),
    ("09:55", "11:30", ("5b",), ("D",), ("BEC",), (), ("R102",), (), ("cancelled",)),
    ("11:50", "12:35", ("5b",), ("D",), ("BEC",), (), ("R102",), (), ("additional",)),
]


def rows_of(engine: SyncEngine) -> list[tuple]:
    snapshot = engine.store.snapshot()
    return sorted(((r.start, r.end, r.classes, r.subjects, r.teachers, r.original_teachers,
                    r.rooms, r.original_rooms, r.kinds) for r in change_rows(snapshot, MONDAY)),
                  key=lambda row: (row[2], row[0]))


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.combine(MONDAY, time(7, 0)))


@pytest.mark.parametrize("name", STAGES)
def test_every_source_yields_the_same_change_rows(name, clock, session):
    engine, stage = run_scenario(name, clock, session)
    try:
        assert rows_of(engine) == sorted(EXPECTED, key=lambda row: (row[2], row[0]))
    finally:
        stage.fake.stop()


def test_the_boards_are_the_same_whichever_source_fed_them(clock, session, tmp_path):
    pages: dict[str, list[str]] = {}
    for name in STAGES:
        engine, stage = run_scenario(name, clock, session)
        stage.fake.stop()
        app = create_app({"DEFAULT_PROFILE": "staff", "STATE_FILE": str(tmp_path / "s.json")},
                         store=engine.store, clock=clock)
        client = app.test_client()
        pages[name] = [_content(client.get(f"/board/{board}?date={MONDAY}&part=board"))
                       for board in ("overview", "class/5a", "class/5b", "room/Bio1")]
    for name in STAGES:
        # A changes-only source cannot show the regular lessons of a class's or room's day.
        shown = 1 if name in CHANGES_ONLY else len(pages[name])
        assert pages[name][:shown] == pages["untis"][:shown], name


def _content(response) -> str:
    """Return a board region's content: what the screen shows, without the source's name."""
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", html[html.index('<div class="content">'):])
