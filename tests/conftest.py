"""Shared fixtures: a frozen clock, the fake WebUntis v3 server over real HTTP, the app."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time as time_module
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis

from signage import create_app
from signage.demo.server import FakeUntis
from signage.domain.rows import change_rows
from signage.sources.http import make_session
from signage.sources.untis import UntisSource
from signage.store import MemoryStore
from signage.sync.engine import Schedule, SyncEngine

TZ = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 11, 23)
BELLS = [(time(8, 0), time(8, 45)), (time(8, 50), time(9, 35)), (time(9, 55), time(10, 40)),
         (time(10, 45), time(11, 30)), (time(11, 50), time(12, 35))]
NAMES = {
    "classes": {1: "5a", 2: "5b", 3: "10a"},
    "teachers": {1: "MÜL", 2: "BEC", 3: "SCH"},
    "rooms": {1: "R101", 2: "R102", 3: "Bio1"},
    "subjects": {1: "M", 2: "D", 3: "Bio"},
}


class Clock:
    """A frozen, steppable clock (timezone-aware UTC), shared by the fake server and our code."""

    def __init__(self, local: datetime) -> None:
        self.now = local.replace(tzinfo=TZ).astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set_local(self, local: datetime) -> datetime:
        self.now = local.replace(tzinfo=TZ).astimezone(UTC)
        return self.now


def period(pid: int, day: date, unit: int, cls: int = 1, teacher: int = 1, room: int = 1,
           subject: int = 1, lesson: int | None = None, **fields: Any) -> dict[str, Any]:
    """Return a v3 period in unit `unit` (0-based) of `day`, all references REGULAR."""
    start, end = BELLS[unit]
    return {
        "id": pid,
        "lessonId": lesson if lesson is not None else 100 * cls + subject,
        "start": datetime.combine(day, start).isoformat(timespec="minutes"),
        "end": datetime.combine(day, end).isoformat(timespec="minutes"),
        "type": "NORMAL_TEACHING_PERIOD",
        "status": "REGULAR",
        "classes": [{"id": cls, "status": "REGULAR"}],
        "teachers": [{"id": teacher, "status": "REGULAR"}],
        "rooms": [{"id": room, "status": "REGULAR"}],
        "subjects": [{"id": subject, "status": "REGULAR"}],
        **fields,
    }


def cycle(engine: SyncEngine, clock: Clock) -> str:
    """Run one cycle two minutes after the last (forced); return its outcome."""
    return engine.run_cycle(clock.advance(minutes=2), force=True).outcome


def rows(engine: SyncEngine, day: date = MONDAY) -> list[tuple]:
    """Return the change rows of a day as plain tuples: times, classes, teachers, rooms, kinds."""
    return [(r.start, r.end, r.classes, r.teachers, r.original_teachers, r.rooms,
             r.original_rooms, r.kinds) for r in change_rows(engine.store.snapshot(), day)]


@pytest.fixture
def clock() -> Clock:
    """Monday 23 Nov 2026, 09:00 in Berlin."""
    return Clock(datetime.combine(MONDAY, time(9, 0)))


@pytest.fixture
def fake(clock: Clock):
    """A fake WebUntis v3 server with a small school: three days of periods for three classes."""
    server = FakeUntis(TZ, clock=clock, school="Testschule")
    for category, names in NAMES.items():
        server.add_names(category, names)
    for offset in range(3):
        day = MONDAY + timedelta(days=offset)
        for cls in (1, 2, 3):
            for unit in range(4):
                pid = 1000 * (offset + 1) + 10 * cls + unit
                server.put_period(period(pid, day, unit, cls=cls, teacher=cls, room=cls,
                                         subject=1 + unit // 2))
    server.backdate(list(server.periods), clock() - timedelta(days=1))  # planned yesterday
    server.start()
    yield server
    server.stop()


_live_day: list[date] = []


def live_day() -> date:
    """Return the day a test of real processes asks about: tomorrow, school-local, by the real
    clock that every child process reads. It is fixed at its first call in a test, so the fake's
    school and the test's questions name the same day when midnight passes meanwhile; and
    tomorrow stays inside each process's window then (the window starts today)."""
    if not _live_day:
        _live_day.append(datetime.now(TZ).date() + timedelta(days=1))
    return _live_day[0]


@pytest.fixture(autouse=True)
def _one_live_day_per_test():
    """Let each test pick its own `live_day()`."""
    yield
    _live_day.clear()


def fill_live_school(server: FakeUntis, day: date) -> FakeUntis:
    """Give `server` three classes' four periods on `day` (ids 1010-1013, 1020-…, 1030-…)."""
    for category, names in NAMES.items():
        server.add_names(category, names)
    for cls in (1, 2, 3):
        for unit in range(4):
            server.put_period(period(1000 + 10 * cls + unit, day, unit, cls=cls, teacher=cls,
                                     room=cls, subject=1 + unit // 2))
    return server


@pytest.fixture
def live_fake():
    """A fake WebUntis v3 server on the real clock (the one child processes read), its school on
    `live_day()`; tests that start real processes use it, never the frozen `fake`."""
    server = fill_live_school(FakeUntis(TZ, school="Testschule"), live_day())
    server.backdate(list(server.periods), server.clock() - timedelta(days=1))  # planned yesterday
    server.start()
    yield server
    server.stop()


def untis_settings(fake: FakeUntis) -> dict[str, str]:
    """Return the SIGNAGE settings (without prefix) that point the untis source at `fake`."""
    client_id, secret = fake.credentials
    return {"SOURCE": "untis", "UNTIS_URL": fake.url, "UNTIS_TENANT": fake.tenant,
            "UNTIS_CLIENT_ID": client_id, "UNTIS_CLIENT_SECRET": secret}


@pytest.fixture
def session():
    """An upstream session with short timeouts and quick retries."""
    s = make_session(connect_timeout_s=1, read_timeout_s=1, backoff_factor_s=0.01)
    yield s
    s.close()


@pytest.fixture
def source(fake: FakeUntis, session) -> UntisSource:
    client_id, secret = fake.credentials
    return UntisSource(fake.url, fake.tenant, client_id, secret, TZ, session)


SCHEDULE = Schedule(refresh_s=60, idle_refresh_s=900, school_hours=(time(6, 30), time(17, 0)),
                    full_reload_at=time(3, 0))


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def engine(source: UntisSource, store: MemoryStore) -> SyncEngine:
    return SyncEngine(source, store, TZ, days_ahead=2, schedule=SCHEDULE)


@pytest.fixture
def app(fake: FakeUntis, clock: Clock, engine: SyncEngine, tmp_path):
    """The app on the untis source pointed at `fake`, its store filled by one real sync cycle."""
    application = create_app({**untis_settings(fake), "DAYS_AHEAD": 2, "DEFAULT_PROFILE": "staff",
                              "STATE_FILE": str(tmp_path / "state.json")},
                             clock=clock, store=engine.store)
    result = engine.run_cycle(clock())
    assert result.outcome == "full", result
    return application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def changed(app, fake, clock, engine):
    """5a: a substitution with a room change (R101 -> Bio1); 5b: a cancelled double period."""
    clock.advance(minutes=2)
    fake.update_period(1011, status="CHANGED", substitutionText="Buch mitbringen",
                       teachers=[{"id": 1, "status": "REMOVED"}, {"id": 2, "status": "ADDED"}],
                       rooms=[{"id": 1, "status": "REMOVED"}, {"id": 3, "status": "ADDED"}])
    fake.update_period(1022, status="CANCELLED")
    fake.update_period(1023, status="CANCELLED")
    assert engine.run_cycle(clock()).outcome == "delta"
    return app


@pytest.fixture
def public_client(fake, clock, engine, tmp_path):
    """A client of the app in the default (public) profile, on the same store as `app`."""
    app = create_app({**untis_settings(fake), "DAYS_AHEAD": 2,
                      "STATE_FILE": str(tmp_path / "state.json")}, clock=clock, store=engine.store)
    return app.test_client()


class RedisServer:
    """A real redis-server on a free loopback port, in a temporary folder."""

    def __init__(self, folder, *options: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.options = list(options)  # more of redis-server's options, e.g. --replicaof H P
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is missing: apt-get install redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder), *self.options],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time_module.monotonic() + 10
        with redis.Redis.from_url(self.url) as client:
            while True:
                try:
                    client.ping()
                    return self
                except redis.ConnectionError:
                    if time_module.monotonic() > deadline:
                        raise
                    time_module.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A Redis server for the session (REDIS_URL points at another one instead)."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_prefix(redis_url, request) -> str:
    """A key prefix of this test's own, removed afterwards."""
    prefix = f"test-{request.node.name}"[:80]
    yield prefix
    with redis.Redis.from_url(redis_url) as client:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
