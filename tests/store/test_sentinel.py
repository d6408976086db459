"""Redis Sentinel (issue 17): a primary, a replica and three `redis-sentinel` on loopback, with
gunicorn (2 workers) and two `signage sync` processes finding the primary through the sentinels.
The primary is killed (SIGKILL); the sentinels promote the replica. Meanwhile every board and API
request answers 200 within a second, afterwards one process polls the upstream, a change made
upstream reaches the boards, and the old primary, back as a replica, changes nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from werkzeug.security import generate_password_hash

from signage import create_app
from signage.demo.server import FakeUntis
from signage.sync.scheduler import build_sync
from tests.conftest import TZ, RedisServer, free_port, untis_settings
from tests.system.test_fault_matrix import (
    GUNICORN,
    NOTE,
    ROOT,
    _good_changes,
    _new_change,
    _school,
    board_rows,
)
from tests.web.test_admin import ADMIN_PASSWORD, CHEAP, csrf_of

pytestmark = [pytest.mark.system, pytest.mark.slow]

MASTER = "signage"
PREFIX = "sentinel"
ANSWER_S = 1.0  # every request answers within this (plus the machine's own slowest answer)


class SentinelProcess:
    """One `redis-sentinel` on a free loopback port watching the primary at `primary_port`."""

    def __init__(self, folder: Path, primary_port: int) -> None:
        self.port = free_port()
        self.conf = folder / f"sentinel-{self.port}.conf"  # Sentinel rewrites it: a file of its own
        self.conf.write_text("\n".join([
            f"port {self.port}", "bind 127.0.0.1", f"dir {folder}",
            f"sentinel monitor {MASTER} 127.0.0.1 {primary_port} 2",
            f"sentinel down-after-milliseconds {MASTER} 1000",
            f"sentinel failover-timeout {MASTER} 4000",
            f"sentinel parallel-syncs {MASTER} 1", ""]))
        self.process: subprocess.Popen | None = None

    def start(self) -> SentinelProcess:
        binary = shutil.which("redis-sentinel")
        assert binary, "redis-sentinel is missing: apt-get install redis-sentinel"
        self.process = subprocess.Popen([binary, str(self.conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        assert _until(lambda: _answers(self.port), 10), "the sentinel did not start"
        return self

    def ask(self, *command: str) -> Any:
        with redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1) as client:
            return client.execute_command(*command)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def _answers(port: int) -> bool:
    try:
        with redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


def _until(check: Callable[[], Any], timeout_s: float, step_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(step_s)
    return result


def _role(server: RedisServer) -> str:
    try:
        with redis.Redis.from_url(server.url, socket_timeout=1) as client:
            return client.info("replication")["role"]
    except redis.RedisError:
        return "down"


@dataclass
class Group:
    """The Redis group, the fake upstream and signage's processes."""

    folder: Path
    primary: RedisServer
    replica: RedisServer
    sentinels: list[SentinelProcess]
    fake: FakeUntis
    day: date  # the school day the boards are checked on (tomorrow when the test began)
    base: str = ""
    env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def master_port(self) -> int | None:
        """Return the primary's port as a majority of the sentinels names it."""
        named = []
        for sentinel in self.sentinels:
            try:
                named.append(int(sentinel.ask("SENTINEL", "get-master-addr-by-name",
                                              MASTER)[1]))
            except (redis.RedisError, TypeError, IndexError):
                pass
        return max(set(named), key=named.count) if len(named) >= 2 else None

    def start(self, args: list[str], log: str) -> None:
        with (self.folder / log).open("a") as out:
            self.processes.append(subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out,
                                                   stderr=subprocess.STDOUT))

    def get(self, path: str) -> tuple[int, float, bytes]:
        asked = time.monotonic()
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            status, body = 0, b""
        return status, time.monotonic() - asked, body

    def logs(self) -> str:
        return "".join(p.read_text() for p in self.folder.glob("*.log"))


@pytest.fixture
def group(tmp_path) -> Iterator[Group]:
    primary = RedisServer(tmp_path).start()
    replica = RedisServer(tmp_path, "--replicaof", "127.0.0.1", str(primary.port)).start()
    assert _until(lambda: _role(replica) == "slave", 10)
    sentinels = [SentinelProcess(tmp_path, primary.port) for _ in range(3)]
    fake = FakeUntis(TZ, school="Testschule")
    day = datetime.now(TZ).date() + timedelta(days=1)
    _school(fake, day, datetime.now(UTC) - timedelta(days=1))
    _good_changes(fake, day)
    made = Group(tmp_path, primary, replica, sentinels, fake.start(), day)
    try:
        for sentinel in sentinels:
            sentinel.start()

        def ready() -> bool:  # each sentinel knows the replica and the two other sentinels
            try:
                return all(len(s.ask("SENTINEL", "replicas", MASTER)) == 1
                           and len(s.ask("SENTINEL", "sentinels", MASTER)) == 2
                           for s in sentinels)
            except redis.RedisError:
                return False

        assert _until(ready, 30), "the sentinels did not find each other"
        yield made
    finally:
        for process in made.processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
        for sentinel in sentinels:
            sentinel.stop()
        for server in (primary, replica):
            server.stop()
        fake.stop()


def test_a_failover_keeps_the_boards_answering_and_one_process_polling(group):
    day = group.day.isoformat()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNAGE_")}
    env.update({f"SIGNAGE_{k}": v for k, v in untis_settings(group.fake).items()})
    env.update(SIGNAGE_REDIS_SENTINELS=",".join(f"127.0.0.1:{s.port}" for s in group.sentinels),
               SIGNAGE_REDIS_SENTINEL_MASTER=MASTER, SIGNAGE_REDIS_PREFIX=PREFIX,
               SIGNAGE_REFRESH_SECONDS="1", SIGNAGE_IDLE_REFRESH_SECONDS="1",
               SIGNAGE_STALE_AFTER_SECONDS="60", SIGNAGE_LEASE_SECONDS="2",
               SIGNAGE_DAYS_AHEAD="2", SIGNAGE_DEFAULT_PROFILE="staff",
               SIGNAGE_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2",
               SIGNAGE_COPY_DIR=str(group.folder))
    group.env, group.base = env, f"http://127.0.0.1:{port}"
    group.start([str(GUNICORN), "wsgi:app"], "web.log")
    for n in (1, 2):
        group.start([sys.executable, "-m", "flask", "--app", "wsgi", "signage", "sync"],
                    f"sync{n}.log")
    paths = [f"/board/overview?date={day}", f"/board/class/5a?date={day}",
             f"/api/v1/changes?date={day}", "/healthz"]

    def shown() -> dict[str, Any] | None:
        answers = {path: group.get(path) for path in paths}
        if any(status != 200 for status, _, _ in answers.values()):
            return None
        return {path: json.loads(body)["changes"] if "/api/" in path
                else board_rows(body.decode()) for path, (_, _, body) in answers.items()
                if path != "/healthz"}

    good = _until(shown, 40, 0.2)
    assert good, group.logs()[-3000:]
    assert NOTE not in json.dumps(good)
    with redis.Redis.from_url(group.replica.url) as replica:  # replicated before the kill
        assert _until(lambda: replica.get(f"{PREFIX}:version") is not None, 10)
    # A few requests first: every worker has read what it serves.
    before = []
    for _ in range(4):
        for path in paths:
            status, took, _ = group.get(path)
            assert status == 200, path
            before.append(took)
    bound = ANSWER_S + max(before)  # a loaded machine is slow without any fault

    timings: list[tuple[float, str, int]] = []

    def ask_all() -> dict[str, bytes]:
        bodies = {}
        for path in paths:
            status, took, body = group.get(path)
            timings.append((took, path, status))
            bodies[path] = body
        return bodies

    group.primary.process.send_signal(signal.SIGKILL)
    group.primary.process.wait(timeout=5)
    killed = time.monotonic()
    while group.master_port() != group.replica.port:
        assert time.monotonic() - killed < 60, "the sentinels promoted no replica"
        ask_all()
    promoted = time.monotonic()
    with redis.Redis.from_url(group.replica.url) as replica:
        version = int(replica.get(f"{PREFIX}:version"))
        _new_change(group.fake, group.day)
        changed = time.monotonic()
        first_write = None
        while True:  # the change reaches the boards within a few refresh intervals
            assert time.monotonic() - changed < 20, group.logs()[-3000:]
            bodies = ask_all()
            if first_write is None and int(replica.get(f"{PREFIX}:version")) > version:
                first_write = time.monotonic()
            if all(NOTE.encode() in body for path, body in bodies.items()
                   if "overview" in path or "/api/" in path):
                break
        shown_at = time.monotonic()
    slowest = max(timings)
    failed = [t for t in timings if t[0] > bound or t[2] != 200]
    figures = (f"Sentinel failover: promotion {promoted - killed:.1f} s after the kill; first "
               f"snapshot on the new primary {(first_write or shown_at) - promoted:.1f} s and "
               f"the change on the boards {shown_at - promoted:.1f} s after the promotion; "
               f"{len(timings)} requests, slowest {slowest[0]:.3f} s ({slowest[1]}), "
               f"{len(failed)} slower than {bound:.2f} s or not 200 (slowest before the kill "
               f"{max(before):.3f} s)")
    (group.folder / "figures.txt").write_text(figures + "\n")
    print(figures)
    assert not failed, (figures, failed)

    # Afterwards exactly one process polls the upstream (each logs in with a token of its own).
    since = time.monotonic()
    time.sleep(3)
    bearers = {r.bearer for r in list(group.fake.requests)
               if r.at > since and r.endpoint == "timetable"}
    assert len(bearers) == 1, bearers

    # The old primary comes back (empty, as after a crash without a disk): the sentinels make
    # it a replica of the new primary, and nothing it held or holds changes the boards.
    after = shown()
    group.primary.process = None
    group.primary.start()
    assert _until(lambda: _role(group.primary) == "slave", 30), "not made a replica"
    with redis.Redis.from_url(group.replica.url) as new_primary, \
            redis.Redis.from_url(group.primary.url) as old_primary:
        assert _until(lambda: old_primary.get(f"{PREFIX}:version")
                      == new_primary.get(f"{PREFIX}:version"), 15)
        assert int(new_primary.get(f"{PREFIX}:version")) >= version + 1
    assert group.master_port() == group.replica.port
    assert shown() == after
    assert "Traceback" not in group.logs(), group.logs()[-3000:]


def test_the_render_cache_and_the_login_counter_find_the_primary_through_the_sentinels(group):
    # Flask-Caching's RedisSentinelCache and limits' redis+sentinel storage: each writes to the
    # primary the sentinels name, like the store (no URL of a server anywhere).
    sentinels = ",".join(f"127.0.0.1:{s.port}" for s in group.sentinels)
    app = create_app({**untis_settings(group.fake), "REDIS_SENTINELS": sentinels,
                      "REDIS_SENTINEL_MASTER": MASTER, "REDIS_PREFIX": PREFIX,
                      "DAYS_AHEAD": 2, "COPY_DIR": str(group.folder),
                      "ADMIN_PASSWORD_HASH": generate_password_hash(ADMIN_PASSWORD, CHEAP),
                      "SECRET_KEY": "a shared key of the workers"})
    rt = app.extensions["signage"]
    process = build_sync(rt)
    try:
        assert process.tick(rt.clock()).outcome == "full"  # takes the lease first
    finally:
        process.close()
    client = app.test_client()
    assert client.get(f"/board/overview?date={group.day.isoformat()}").status_code == 200
    token = csrf_of(client.get("/login").get_data(as_text=True))
    refused = client.post("/login", data={"password": "wrong", "csrf_token": token})
    assert refused.status_code == 401
    with redis.Redis.from_url(group.primary.url) as primary:
        keys = {key.decode() for key in primary.scan_iter(f"{PREFIX}:*")}
    assert any(key.startswith(f"{PREFIX}:render:") for key in keys), keys
    assert any(key.startswith(f"{PREFIX}:limits") for key in keys), keys
    assert {f"{PREFIX}:snapshot", f"{PREFIX}:version"} <= keys
    rt.store.close()
