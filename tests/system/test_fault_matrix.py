"""The fault matrix: every fault a caretaker may meet, each a row of one table.

For every row the boards keep answering 200 with the last good rows (the rows themselves are
compared, not just the status), `/healthz` tells the truth (last success, age, `ok` or `stale`
as the age says, the last error), and once the fault ends the system recovers by itself: the
next cycles succeed and a change made upstream meanwhile shows.

`test_upstream_and_clock_faults` runs the real engine against the fake WebUntis over real HTTP,
writing a real Redis that the app reads, one scheduler tick at a time on a frozen clock; each
row's timeline spells what the sync did at each tick (`o` a good delta, `f` a good full load,
`x` a failed cycle, `-` a tick skipped while backing off or idle, `p` a tick paused after refused
credentials).
`test_process_faults` runs production for real (gunicorn, `signage sync`, redis-server, the fake
upstream on the wall clock) for the faults that are about processes.

Single faults at the adapter and engine level are proved elsewhere (tests/test_untis_source.py,
tests/test_sync.py, tests/test_store_redis.py, tests/test_auth_breaker.py, tests/test_lease.py);
docs/reliability.md lists which test proves which row.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from signage import create_app
from signage.demo.server import FakeUntis, Fault
from signage.domain.screens import Display, digest, new_secret, to_json
from signage.sources.http import make_session
from signage.sources.untis import UntisSource
from signage.store.redis_store import RedisStore
from signage.sync.engine import SyncEngine
from signage.sync.scheduler import schedule_of
from signage.views.access import DISPLAY_COOKIE
from tests.conftest import MONDAY, NAMES, TZ, Clock, RedisServer, free_port, period, untis_settings

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
TICK_S = 60  # the scheduler's tick: SIGNAGE_REFRESH_SECONDS in these tests
ROW = re.compile(r'<div class="row[^"]*"\s+data-key="([^"]*)"[^>]*>(.*?)</div>', re.S)
TAG = re.compile(r"<[^>]+>")
NOTE = "Wandertag"  # the change made upstream while a fault lasts


# --- the school -------------------------------------------------------------------------------
def _pid(day: date, cls: int, unit: int) -> int:
    return day.toordinal() * 100 + 10 * cls + unit


def _school(fake: FakeUntis, first_day: date, planned: datetime) -> None:
    """Give `fake` three days from `first_day` of four periods for each of three classes, with
    their names, planned (stamped modified) at `planned`."""
    for category, names in NAMES.items():
        fake.add_names(category, names)
    for offset in range(3):
        day = first_day + timedelta(days=offset)
        for cls in (1, 2, 3):
            for unit in range(4):
                fake.put_period(period(_pid(day, cls, unit), day, unit, cls=cls, teacher=cls,
                                       room=cls, subject=1 + unit // 2))
    fake.backdate(list(fake.periods), planned)


def _good_changes(fake: FakeUntis, day: date) -> None:
    """5a: a substitute with a room change and a note; 5b: a cancelled double period."""
    fake.update_period(_pid(day, 1, 1), status="CHANGED", substitutionText="Buch mitbringen",
                       teachers=[{"id": 1, "status": "REMOVED"}, {"id": 2, "status": "ADDED"}],
                       rooms=[{"id": 1, "status": "REMOVED"}, {"id": 3, "status": "ADDED"}])
    fake.update_period(_pid(day, 2, 2), status="CANCELLED")
    fake.update_period(_pid(day, 2, 3), status="CANCELLED")


def _new_change(fake: FakeUntis, day: date) -> None:
    """10a's first lesson is cancelled: the change that must show once the fault is over."""
    fake.update_period(_pid(day, 3, 0), status="CANCELLED", substitutionText=NOTE)


def board_rows(html: str) -> list[tuple[str, str]]:
    """Return a board's rows as (key, text), without the now/next marks that move with time."""
    return [(key, " ".join(TAG.sub(" ", body).split())) for key, body in ROW.findall(html)]


# --- the in-process matrix ----------------------------------------------------------------------
@dataclass
class World:
    """The fake upstream, the engine writing Redis, the app reading it, and two clocks: ours
    (the engine and the views read it; NTP may step it) and the upstream's own."""

    fake: FakeUntis
    ours: Clock
    upstream: Clock
    engine: SyncEngine
    client: Any
    settings: Any
    day: date  # the school day whose boards are checked
    session: Any  # the engine's upstream session
    port: int = 0

    def tick(self, seconds: float) -> datetime:
        """Let `seconds` pass on both clocks; return our now."""
        self.upstream.advance(seconds=seconds)
        return self.ours.advance(seconds=seconds)

    def busy(self, instant: datetime) -> bool:
        """Tell whether `instant` lies in school hours on a day with lessons."""
        local = instant.astimezone(TZ)
        begin, end = self.settings.school_hours
        school_day = self.day <= local.date() <= self.day + timedelta(days=2)
        return begin <= local.time() < end and school_day


@dataclass(frozen=True)
class Row:
    """A fault, what the sync does at each tick while it lasts and after, and what the health
    check says meanwhile."""

    begin: Callable[[World], None]
    timeline: str  # a letter per tick: o delta, f full load, x failed, - skipped, p paused
    error: str | None = None  # what /healthz's last_error says while the fault lasts
    ends: tuple[int, Callable[[World], None]] | None = None  # (tick, action) ending the fault
    goes_stale: bool = False  # the outage outlasts the stale limit: /healthz must say so
    start: datetime = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
    day: date = MONDAY
    tick_s: int = TICK_S
    change_at: int = 0  # the tick at which the upstream changes 10a
    settings: dict[str, Any] = field(default_factory=dict)
    proof: Callable[[FakeUntis], bool] = lambda fake: True  # the fault really happened


def _inject(*faults: Fault) -> Callable[[World], None]:
    def begin(world: World) -> None:
        for fault in faults:
            world.fake.inject(fault)
    return begin


def _stop_upstream(world: World) -> None:
    world.fake.stop()
    # A stopped FakeUntis still serves connections already open; a server that is down does
    # not: the client's kept-alive connections go with it.
    world.session.close()


def _restart_upstream(world: World) -> None:
    world.fake.start(port=world.port)


def _step_ours(**delta: float) -> Callable[[World], None]:
    def begin(world: World) -> None:
        world.ours.advance(**delta)  # NTP steps our clock; the upstream's runs on
    return begin


EMPTY = b'{"timetableData": {"periods": []}}'

ROWS = {
    "upstream answers HTTP 500 for five cycles": Row(
        _inject(Fault("timetable", status=500, times=5)),
        "xx-x---x-------x--------------o", "HTTP 500", goes_stale=True),
    "upstream answers 429 with Retry-After: 300": Row(
        _inject(Fault("timetable", status=429, headers={"Retry-After": "300"})),
        "x----o", "HTTP 429", goes_stale=True),
    "upstream refuses connections (server down) for three ticks": Row(
        _stop_upstream, "xx-o", "connection failed", ends=(3, _restart_upstream)),
    "upstream hangs past the read timeout": Row(
        _inject(Fault("timetable", status=200, delay_s=0.6, times=4)), "xo", "timed out"),
    "upstream sends a truncated gzip body": Row(
        _inject(Fault("timetable", status=200, truncate=True)), "xo", "not valid JSON"),
    "upstream sends malformed JSON": Row(
        _inject(Fault("timetable", status=200, body=b"{broken")), "xo", "not valid JSON"),
    "upstream sends valid JSON of the wrong shape": Row(
        _inject(Fault("timetable", status=200, body=b'{"timetableData": {"periods": "none"}}')),
        "xo", "no timetableData.periods list"),
    "upstream answers an empty timetable for a school day at the full reload": Row(
        _inject(Fault("timetable", status=200, body=EMPTY)), "xf", "no periods",
        settings={"FULL_RELOAD_AT": "09:02"}),
    "the access token expired early": Row(
        lambda w: w.fake.expire_tokens(), "o",
        proof=lambda fake: fake.count("token") == 2 and 401 in [
            r.status for r in fake.requests if r.endpoint == "timetable"]),
    "every data call answers 401 for three cycles": Row(
        _inject(Fault("timetable", status=401, times=6)), "xx-x---o", "HTTP 401",
        goes_stale=True),
    "the token endpoint refuses our credentials (401 on every call)": Row(
        _inject(Fault("timetable", status=401), Fault("token", status=401, times=3)),
        "xx-x" + "p" * 9 + "o", "POST token: HTTP 401", goes_stale=True),
    # From 02:40 summer time, polling every 15 min outside school hours; the change comes at
    # 02:06 winter time, after a poll at 02:56 summer time; the full reload runs once, at 03:00.
    "the night the clocks go back (DST ends), a change in the repeated hour": Row(
        lambda w: None, "--o--o--o--o--o--f", start=datetime(2026, 10, 25, 0, 40, tzinfo=UTC),
        day=date(2026, 10, 26), tick_s=300, change_at=4),
    # From 01:40 winter time; 02:00 becomes 03:00 and the full reload runs at 03:11.
    "the night the clocks go forward (DST begins)": Row(
        lambda w: None, "--o--f--o", start=datetime(2027, 3, 28, 0, 40, tzinfo=UTC),
        day=date(2027, 3, 29), tick_s=300, change_at=4),
    "NTP steps our clock back five minutes": Row(_step_ours(minutes=-5), "o"),
    "NTP steps our clock back two hours during school hours": Row(_step_ours(hours=-2), "o"),
}


@pytest.fixture
def world_of(tmp_path, redis_url, redis_prefix):
    """Return a factory of Worlds for a row; everything it starts is stopped afterwards."""
    closers: list[Callable[[], None]] = []

    def make(row: Row) -> World:
        ours, upstream = Clock(datetime(2000, 1, 1)), Clock(datetime(2000, 1, 1))
        ours.now = upstream.now = row.start
        fake = FakeUntis(TZ, clock=upstream, school="Testschule")
        _school(fake, row.day, row.start - timedelta(days=1))
        fake.start()
        closers.append(fake.stop)
        port = int(fake.url.rsplit(":", 1)[1])
        # The app's store waits for Redis's change notice before it reads again; this test
        # checks the boards right after each cycle, so it reads Redis itself each time.
        reader = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        writer = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        closers.extend([reader.close, writer.close])
        app = create_app({**untis_settings(fake), "REDIS_URL": redis_url,
                          "REDIS_PREFIX": redis_prefix, "DAYS_AHEAD": 2,
                          "DEFAULT_PROFILE": "staff", "REFRESH_SECONDS": TICK_S,
                          "IDLE_REFRESH_SECONDS": 900, "AUTH_PAUSE_SECONDS": 600,
                          "STATE_FILE": str(tmp_path / "state.json"),
                          "COPY_DIR": str(tmp_path), **row.settings},
                         clock=ours, store=RedisStore(reader, redis_prefix))
        rt = app.extensions["signage"]
        settings = rt.settings
        # Short timeouts, so a hang costs a second, not half a minute.
        session = make_session(connect_timeout_s=0.5, read_timeout_s=0.3, backoff_factor_s=0.01)
        closers.append(session.close)
        client_id, secret = fake.credentials
        source = UntisSource(fake.url, fake.tenant, client_id, secret, TZ, session)
        engine = SyncEngine(source, RedisStore(writer, redis_prefix), TZ, settings.days_ahead,
                            schedule_of(settings), settings.auth_failure_limit,
                            settings.auth_pause_s)
        return World(fake, ours, upstream, engine, app.test_client(), settings, row.day,
                     session, port)

    yield make
    for close in reversed(closers):
        close()


def _boards(world: World) -> dict[str, Any]:
    """Return what users see of the school day: the API's rows and three boards' rows."""
    day = world.day.isoformat()
    seen: dict[str, Any] = {}
    response = world.client.get(f"/api/v1/changes?date={day}")
    assert response.status_code == 200, response.get_data(as_text=True)
    seen["api"] = response.get_json()["changes"]
    for board in ("overview", "class/5a", "class/10a"):
        response = world.client.get(f"/board/{board}?date={day}")
        assert response.status_code == 200, board
        seen[board] = board_rows(response.get_data(as_text=True))
    return seen


def _health_is_true(world: World, last_success: datetime, last_error: str | None,
                    paused: bool) -> str:
    """Check /healthz against what the test knows; return the state it said."""
    response = world.client.get("/healthz")
    body = response.get_json()
    now = world.ours()
    age = max(0, round((now - last_success).total_seconds()))
    settings = world.settings
    busy = world.busy(now) and world.busy(last_success)
    limit = settings.stale_after_s if busy else settings.idle_stale_after_s
    state = "ok" if age <= limit else "stale"
    assert (body["status"], response.status_code) == (state, 200 if state == "ok" else 503)
    assert body["last_success"] == last_success.isoformat()
    assert body["age_seconds"] == age
    assert body["last_error"] == last_error
    assert (body["auth_paused_until"] is not None) == paused
    return state


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_upstream_and_clock_faults(world_of, row: Row):
    world = world_of(row)
    assert world.engine.run_cycle(world.ours()).outcome == "full"
    world.tick(TICK_S)
    _good_changes(world.fake, world.day)
    assert world.engine.run_cycle(world.ours(), force=True).outcome == "delta"
    last_success, last_error = world.ours(), None
    good = _boards(world)
    assert ["substitution", "room_change"] in [r["kinds"] for r in good["api"]]
    assert any("Buch mitbringen" in text for _, text in good["class/5a"])
    assert NOTE not in json.dumps(good)

    row.begin(world)
    timeline, states, changed, shown = "", set(), False, False
    for tick in range(len(row.timeline)):
        if row.ends is not None and tick == row.ends[0]:
            row.ends[1](world)
        now = world.tick(row.tick_s)
        if tick == row.change_at:
            _new_change(world.fake, world.day)
            changed = True
        result = world.engine.run_cycle(now)
        timeline += {"full": "f", "delta": "o", "failed": "x", "skipped": "-",
                     "paused": "p"}[result.outcome]
        if result.outcome in ("full", "delta"):
            last_success, last_error, shown = now, None, changed
        elif result.outcome == "failed":
            last_error = result.error
            assert row.error is not None and row.error in result.error, result.error
        seen = _boards(world)
        if not shown:  # the fault lasts: the last good rows, exactly
            assert seen == good
        states.add(_health_is_true(world, last_success, last_error, result.outcome == "paused"
                                   or world.engine.store.status().auth_pause(now) is not None))
    assert timeline == row.timeline
    assert ("stale" in states) == row.goes_stale
    assert not world.fake.faults and row.proof(world.fake)  # the fault did happen

    seen = _boards(world)  # recovered: the change made meanwhile shows next to the good rows
    added = [r for r in seen["api"] if r not in good["api"]]
    assert [(r["classes"], r["kinds"], r["text"]) for r in added] == [(["10a"], ["cancelled"],
                                                                        NOTE)]
    assert len(seen["api"]) == len(good["api"]) + 1
    assert any(NOTE in text for _, text in seen["class/10a"])
    assert seen["class/5a"] == good["class/5a"]
    assert _health_is_true(world, last_success, None, False) == "ok"


# --- the processes' matrix ----------------------------------------------------------------------
STALE_S = 4  # SIGNAGE_STALE_AFTER_SECONDS of the production run
HANG_S = 3.0  # how long the upstream hangs the cycle that the sync process is killed in


@dataclass
class Production:
    """gunicorn (2 workers), the sync process, redis-server and the fake upstream, on the wall
    clock; the checked day is tomorrow, so a midnight during the run does not move it."""

    fake: FakeUntis
    redis: RedisServer
    env: dict[str, str]
    base: str
    day: date
    logs: Path
    web: subprocess.Popen | None = None
    sync: subprocess.Popen | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def start_web(self) -> None:
        with (self.logs / "web.log").open("a") as log:
            self.web = subprocess.Popen([str(GUNICORN), "wsgi:app"], cwd=ROOT, env=self.env,
                                        stdout=log, stderr=subprocess.STDOUT)

    def start_sync(self) -> None:
        with (self.logs / "sync.log").open("a") as log:
            self.sync = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "signage", "sync"], cwd=ROOT,
                env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def boards(self) -> dict[str, Any]:
        """Return the API's rows and two boards' rows of the checked day (all answered 200)."""
        day = self.day.isoformat()
        status, body = self.get(f"/api/v1/changes?date={day}")
        assert status == 200, body
        seen: dict[str, Any] = {"api": json.loads(body)["changes"]}
        for board in ("overview", "class/5a"):
            status, body = self.get(f"/board/{board}?date={day}")
            assert status == 200, (board, body[:300])
            seen[board] = board_rows(body.decode())
        return seen

    def health(self) -> tuple[int, dict[str, Any]]:
        status, body = self.get("/healthz")
        return status, json.loads(body)

    def redis_client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url, socket_timeout=2, socket_connect_timeout=2)

    def stop(self) -> None:
        for process in (self.web, self.sync):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=15)


def _until(check: Callable[[], Any], timeout_s: float, step_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(step_s)


def _children(pid: int) -> set[int]:
    """Return the ids of a process's children (gunicorn's workers)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended meanwhile
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


@pytest.fixture
def production_of(tmp_path):
    """Return a factory of productions on real processes, healthy and showing the good rows;
    all of it is stopped afterwards."""
    started: list[Production] = []

    def make(workers: int) -> Production:
        fake = FakeUntis(TZ, school="Testschule")
        day = datetime.now(TZ).date() + timedelta(days=1)
        _school(fake, day, datetime.now(UTC) - timedelta(days=1))
        _good_changes(fake, day)
        fake.start()
        server = RedisServer(tmp_path).start()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNAGE_")}
        env.update({f"SIGNAGE_{k}": v for k, v in untis_settings(fake).items()})
        env.update(SIGNAGE_REDIS_URL=server.url, SIGNAGE_REDIS_PREFIX="fault",
                   SIGNAGE_REFRESH_SECONDS="1", SIGNAGE_IDLE_REFRESH_SECONDS="1",
                   SIGNAGE_STALE_AFTER_SECONDS=str(STALE_S), SIGNAGE_LEASE_SECONDS="2",
                   SIGNAGE_DAYS_AHEAD="2", SIGNAGE_DEFAULT_PROFILE="staff",
                   SIGNAGE_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers),
                   SIGNAGE_COPY_DIR=str(tmp_path))
        prod = Production(fake, server, env, f"http://127.0.0.1:{port}", day, tmp_path)
        started.append(prod)
        prod.start_web()
        prod.start_sync()

        def healthy() -> bool:
            try:
                return prod.health()[0] == 200
            except (OSError, ValueError):  # not listening yet
                return False

        assert _until(healthy, 30), (tmp_path / "sync.log").read_text()
        return prod

    yield make
    for prod in started:
        prod.stop()
        prod.redis.stop()
        prod.fake.stop()


def _redis_away(prod: Production) -> None:
    prod.redis.stop()


def _redis_back(prod: Production) -> None:
    prod.redis.start()  # the same port, empty: as after a crash without a disk


def _kill_sync_mid_cycle(prod: Production) -> None:
    with prod.redis_client() as client:
        prod.notes["version"] = int(client.get("fault:version"))
    fake = prod.fake
    with fake.lock:  # the change is made already, the next deleted-periods call hangs
        _new_change(fake, prod.day)
        fake.inject(Fault("deleted", status=200, delay_s=HANG_S))
        released = time.monotonic()
    _until(lambda: any(r.endpoint == "timetable" and r.at > released
                       for r in list(fake.requests)), 3)
    time.sleep(0.3)  # the cycle holds the changed timetable and waits for deleted-periods
    prod.sync.send_signal(signal.SIGKILL)
    prod.sync.wait(timeout=5)
    prod.notes["killed_at"] = time.monotonic()
    with prod.redis_client() as client:  # nothing of the killed cycle, and a matching pair
        stored = json.loads(client.get("fault:snapshot"))
        assert stored["version"] == int(client.get("fault:version")) == prod.notes["version"]
        assert NOTE not in json.dumps(stored)


def _killed_mid_cycle(prod: Production) -> None:
    """Check that the kill came while the cycle waited for the upstream's deleted-periods."""
    def hung() -> list:
        return [r for r in list(prod.fake.requests)
                if r.endpoint == "deleted" and r.answer_s >= HANG_S]

    calls = _until(hung, HANG_S + 2)
    assert calls and calls[0].at < prod.notes["killed_at"] < calls[0].at + HANG_S


def _upstream_outage_then_worker_restart(prod: Production) -> None:
    prod.fake.inject(Fault("timetable", status=500, times=10**6))
    _new_change(prod.fake, prod.day)
    assert _until(lambda: "HTTP 500" in (prod.health()[1]["last_error"] or ""), 5)
    before = _children(prod.web.pid)
    prod.web.send_signal(signal.SIGHUP)  # gunicorn replaces every worker
    assert _until(lambda: (now := _children(prod.web.pid)) and not now & before
                  and len(now) == 2, 15)


def _workers_restart_then_redis_away(prod: Production) -> None:
    before = _children(prod.web.pid)
    prod.web.send_signal(signal.SIGHUP)  # gunicorn replaces every worker
    assert _until(lambda: (now := _children(prod.web.pid)) and not now & before
                  and len(now) == 2, 15)
    _redis_away(prod)  # before the new workers have served anything
    _new_change(prod.fake, prod.day)


def _upstream_back(prod: Production) -> None:
    with prod.fake.lock:
        prod.fake.faults.clear()


@dataclass(frozen=True)
class ProcessRow:
    """A fault of the processes: how it begins and ends, and what /healthz says meanwhile."""

    begin: Callable[[Production], None]
    end: Callable[[Production], None]
    error: str | None  # what /healthz's last_error says meanwhile (None: not checked)
    proof: Callable[[Production], None] = lambda prod: None  # the fault was the one meant
    workers: int = 2


def _change_upstream(begin: Callable[[Production], None]) -> Callable[[Production], None]:
    def both(prod: Production) -> None:
        begin(prod)
        _new_change(prod.fake, prod.day)
    return both


PROCESS_ROWS = {
    # One worker, so that the worker checked has served boards before Redis went away; the
    # sync's errors cannot reach /healthz meanwhile (they live in Redis): the age tells.
    "Redis stops, and comes back empty": ProcessRow(
        _change_upstream(_redis_away), _redis_back, None, workers=1),
    "the sync process is killed (SIGKILL) mid-cycle, and restarted": ProcessRow(
        _kill_sync_mid_cycle, Production.start_sync, None, _killed_mid_cycle),
    "the web workers restart, then Redis stops before they served anything": ProcessRow(
        _workers_restart_then_redis_away, _redis_back, None),
    "the web workers restart during an upstream outage": ProcessRow(
        _upstream_outage_then_worker_restart, _upstream_back, "HTTP 500"),
}


@pytest.mark.parametrize("row", PROCESS_ROWS.values(), ids=PROCESS_ROWS.keys())
@pytest.mark.system
@pytest.mark.slow
def test_process_faults(production_of, row: ProcessRow):
    prod = production_of(row.workers)
    good = _until(lambda: (seen := prod.boards())["api"] and seen, 10)
    assert ["substitution", "room_change"] in [r["kinds"] for r in good["api"]]
    assert NOTE not in json.dumps(good)

    row.begin(prod)
    time.sleep(0.5)  # a cycle under way when the fault began has ended
    last_success, states = prod.health()[1]["last_success"], set()
    deadline = time.monotonic() + STALE_S + 5
    while "stale" not in states:  # the fault lasts until /healthz has said stale
        assert time.monotonic() < deadline, "/healthz never said stale"
        assert prod.boards() == good  # the last good rows, exactly, from every worker
        asked = time.time()
        status, body = prod.health()
        answered = time.time()
        state = "ok" if body["age_seconds"] <= STALE_S else "stale"
        assert (body["status"], status) == (state, 200 if state == "ok" else 503), body
        assert body["last_success"] == last_success
        synced = datetime.fromisoformat(last_success).timestamp()
        assert asked - synced - 1 <= body["age_seconds"] <= answered - synced + 1, body
        if row.error is not None:
            assert row.error in (body["last_error"] or ""), body
        states.add(state)
        time.sleep(0.2)

    row.end(prod)

    def recovered() -> dict[str, Any] | None:
        status, body = prod.health()
        seen = prod.boards()
        shown = NOTE in json.dumps(seen["api"])
        return seen if status == 200 and body["last_error"] is None and shown else None

    seen = _until(recovered, 25, 0.2)
    assert seen, (prod.health(), (prod.logs / "sync.log").read_text()[-2000:])
    added = [r for r in seen["api"] if r not in good["api"]]
    assert [(r["classes"], r["kinds"], r["text"]) for r in added] == [(["10a"], ["cancelled"],
                                                                        NOTE)]
    assert seen["class/5a"] == good["class/5a"]
    row.proof(prod)
    logs = (prod.logs / "web.log").read_text() + (prod.logs / "sync.log").read_text()
    assert "Traceback" not in logs, logs[-3000:]


# --- a frozen Redis ----------------------------------------------------------------------------
FREEZE_S = 15  # how long Redis is stopped (SIGSTOP): connections stay open, no answer comes
ANSWER_S = 1.0  # every request answers within this (plus the machine's own slowest answer)


def _pair_a_screen(prod: Production) -> str:
    """Give the display "Foyer" a screen, as the admin's pairing would; return its token."""
    token = new_secret()
    display = Display(id="d1", name="Foyer", token_hash=digest(token),
                      paired_at=datetime.now(UTC))
    with prod.redis_client() as client, client.pipeline(transaction=True) as pipe:
        pipe.hset("fault:registry:displays", display.id, json.dumps(to_json(display)))
        pipe.publish("fault:changed", "displays")
        pipe.execute()
    return token


def _timed(prod: Production, path: str, token: str | None) -> tuple[int, float, bytes]:
    """Ask once (as a screen with `token`); return the status, the seconds it took, the body
    (status 0: no answer within 5 s)."""
    headers = {"Cookie": f"{DISPLAY_COOKIE}={token}"} if token else {}
    asked = time.monotonic()
    try:
        with urllib.request.urlopen(urllib.request.Request(prod.base + path, headers=headers),
                                    timeout=5) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except (urllib.error.URLError, TimeoutError):
        status, body = 0, b""
    return status, time.monotonic() - asked, body


@pytest.mark.system
@pytest.mark.slow
def test_a_frozen_redis_costs_no_request_a_second(production_of):
    prod = production_of(2)
    token = _pair_a_screen(prod)
    good = _until(lambda: (seen := prod.boards())["api"] and seen, 10)
    day = prod.day.isoformat()
    asks = {  # path -> the screen's token, or None for a browser
        f"/board/overview?date={day}": None, f"/board/class/5a?date={day}": None,
        f"/api/v1/changes?date={day}": None, "/healthz": None,
        "/display?part=board": token, "/display": token}
    before = []
    for _ in range(4):  # both workers have served every page
        for path, cookie in asks.items():
            status, took, _ = _timed(prod, path, cookie)
            assert status == 200, path
            before.append(took)
    # A loaded machine (CI runs suites side by side) is slow without any fault: the bound is
    # a second on top of the slowest answer before the freeze. A request that waits on Redis
    # waits its timeout (2 s, and again per retry) or for ever.
    bound = ANSWER_S + max(before)
    last_success = prod.health()[1]["last_success"]
    synced = datetime.fromisoformat(last_success).timestamp()
    timings: list[tuple[float, str, int]] = []
    os.kill(prod.redis.process.pid, signal.SIGSTOP)
    try:
        frozen = time.monotonic()
        while time.monotonic() - frozen < FREEZE_S:
            for path, cookie in asks.items():
                asked = time.time()
                status, took, body = _timed(prod, path, cookie)
                timings.append((took, path, status))
                if path == "/healthz":  # true: the last success, stale by its age alone
                    health = json.loads(body)
                    assert health["last_success"] == last_success, health
                    age = health["age_seconds"]
                    assert asked - synced - 1 <= age <= asked + took - synced + 1, health
                    assert status == (200 if age <= STALE_S else 503), health
                    continue
                if status != 200:
                    continue  # counted below: no answer within ANSWER_S is the failure
                if path.startswith("/api/"):
                    assert json.loads(body)["changes"] == good["api"]
                elif path.startswith("/board/"):
                    assert board_rows(body.decode()) == good[path.split("?")[0][7:]]
    finally:
        os.kill(prod.redis.process.pid, signal.SIGCONT)
    slowest = max(timings)
    slow = [t for t in timings if t[0] > bound
            or t[2] not in ((200, 503) if t[1] == "/healthz" else (200,))]
    figures = (f"frozen Redis {FREEZE_S} s: {len(timings)} requests, slowest "
               f"{slowest[0]:.3f} s ({slowest[1]}), {len(slow)} slower than {bound:.2f} s or "
               f"failed (slowest before the freeze {max(before):.3f} s)")
    (prod.logs / "figures.txt").write_text(figures + "\n")
    print(figures)
    assert not slow, (figures, slow)
    _new_change(prod.fake, prod.day)  # after the thaw, changes flow again
    assert _until(lambda: NOTE in json.dumps(prod.boards()["api"]), 20)
    assert _timed(prod, "/display?part=board", token)[0] == 200  # still paired
    logs = (prod.logs / "web.log").read_text() + (prod.logs / "sync.log").read_text()
    assert "Traceback" not in logs, logs[-3000:]
