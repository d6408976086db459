"""Worker copies on Redis, against real redis-servers: readers keep their copies (no Redis
command per read) until a write is published on the change channel, see every change within
about a second, resubscribe after Redis restarts, fall back to reading Redis while they cannot
listen, and never go back to an older version; a board's 304 or cached 200 costs no Redis
command, and a page is rendered once however many kiosks ask for it at the same time."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
import redis
from flask import Flask, template_rendered
from redis.backoff import NoBackoff
from redis.retry import Retry

from signage import create_app
from signage.domain.model import SyncStatus
from signage.store.redis_store import RedisStore
from signage.store.registry_redis import RedisRegistry
from signage.store.watch import FALLBACK_READ_S, Watch, channel_of
from signage.sync.engine import SyncEngine
from tests.conftest import SCHEDULE, TZ, RedisServer, free_port, untis_settings

READS = ("get", "hgetall")


@pytest.fixture
def server(tmp_path):
    """A Redis server of this test's own: its command counts are this test's."""
    started = RedisServer(tmp_path).start()
    yield started
    started.stop()


class Redises:
    """Makes clients, watches and stores on one server, and closes the clients at the end."""

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.clients: list[redis.Redis] = []
        self.watches: list[Watch] = []
        self.closers: list = []

    def client(self, url: str | None = None, **options) -> redis.Redis:
        self.clients.append(redis.Redis.from_url(url or self.server.url, socket_timeout=1,
                                                 socket_connect_timeout=1, **options))
        return self.clients[-1]

    def watch(self, url: str | None = None, **options) -> Watch:
        """Return a Watch as the app makes one: its own client, without retries."""
        self.watches.append(Watch(self.client(url, retry=Retry(NoBackoff(), 0)), channel_of("p"),
                                  **options))
        return self.watches[-1]

    def app(self, fake, clock) -> Flask:
        """Return a worker's app on this server (closed at the end like the stores)."""
        app = create_app({**untis_settings(fake), "REDIS_URL": self.server.url,
                          "REDIS_PREFIX": "p", "DAYS_AHEAD": 2,
                          "COPY_DIR": str(self.server.folder)}, clock=clock)
        store = app.extensions["signage"].store
        self.closers.append(store.close)
        self.watches.append(store._watch)
        return app

    def store(self, watched: bool = True, **options) -> RedisStore:
        """Return a store under the prefix "p"; a worker's (watched) or a writer's."""
        return RedisStore(self.client(), "p", watch=self.watch() if watched else None, **options)


@pytest.fixture
def make(server):
    redises = Redises(server)
    yield redises
    for watch in redises.watches:
        watch.close()  # no listener outlives its test (and logs into another's)
    for client in redises.clients:
        client.close()
    for close in redises.closers:
        close()


def calls(server: RedisServer, *commands: str) -> int:
    """Return how often the server ran these commands (no names: all but our own INFO, the
    HELLO of our connection, and the listeners' PINGs)."""
    with redis.Redis.from_url(server.url) as raw:
        stats = raw.info("commandstats")
    counts = {name.removeprefix("cmdstat_"): v["calls"] for name, v in stats.items()}
    if commands:
        return sum(counts.get(command, 0) for command in commands)
    return sum(n for command, n in counts.items() if command not in ("info", "hello", "ping"))


def until(check, timeout_s: float = 5.0):
    """Return the first truthy result of `check` within the time, else the last result."""
    deadline = time.monotonic() + timeout_s
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return result


def settled(store: RedisStore) -> bool:
    """Wait until the store listens and its copies are read (the first notice loads them)."""
    store.current()  # the first read starts the listening thread
    return until(lambda: store._watch.live and store._known("snapshot")
                 and store._known("status"))


def test_reads_cost_no_redis_command_and_a_replace_reaches_the_other_store(
        server, make, source, clock, fake):
    writer, reader = make.store(watched=False), make.store()
    engine = SyncEngine(source, writer, TZ, 2, SCHEDULE)
    engine.run_cycle(clock())
    assert settled(reader)
    assert reader.version() == 1 and reader.status().last_success is not None
    before = calls(server, *READS)
    for _ in range(200):
        reader.current()
        reader.status()
    assert calls(server, *READS) == before  # 400 reads, not one GET
    clock.advance(minutes=2)
    fake.update_period(1010, status="CANCELLED")
    assert engine.run_cycle(clock()).version == 2
    assert until(lambda: reader.version() == 2, 1.0)  # within about a second
    assert until(lambda: reader.status() == writer.status(), 1.0)


class CountingRedis(redis.Redis):
    """A Redis client that notes which thread sent each command."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.senders: list[str] = []

    def execute_command(self, *args, **options):
        self.senders.append(threading.current_thread().name)
        return super().execute_command(*args, **options)


def test_a_new_version_is_loaded_by_the_listener_before_requests_see_it(make, source, clock,
                                                                        fake):
    engine = SyncEngine(source, make.store(watched=False), TZ, 2, SCHEDULE)
    engine.run_cycle(clock())
    client = CountingRedis.from_url(make.server.url, socket_timeout=1)
    make.clients.append(client)
    reader = RedisStore(client, "p", watch=make.watch())
    assert settled(reader)
    client.senders.clear()
    clock.advance(minutes=2)
    fake.update_period(1010, status="CANCELLED")
    assert engine.run_cycle(clock()).version == 2
    assert until(lambda: reader.version() == 2, 1.0)
    for _ in range(100):
        reader.current()
        reader.status()
    # Requests (this thread) never waited for Redis: the listener read the new version first.
    assert client.senders and set(client.senders) == {"signage-watch"}


def test_announcements_reach_every_worker_and_heartbeats_are_not_announced(server, make):
    one = RedisRegistry(make.client(), "p", watch=make.watch())
    two = RedisRegistry(make.client(), "p", watch=make.watch())
    assert two.items("announcements") == {}
    assert until(lambda: two._watch.live)
    one.put("announcements", "a1", {"id": "a1", "text": "Hitzefrei"})
    assert until(lambda: two.items("announcements") == {"a1": {"id": "a1",
                                                              "text": "Hitzefrei"}}, 1.0)
    # A read may have seen the write before its notice came: it is read once more, then kept.
    assert until(lambda: two.items("announcements") and two._known("announcements"))
    before = calls(server, "hgetall")
    for _ in range(100):
        two.items("announcements")
    assert calls(server, "hgetall") == before
    published = calls(server, "publish")
    one.put("heartbeats", "d1", {"seen": "now"})
    assert calls(server, "publish") == published  # a kiosk's poll invalidates nothing
    assert two.items("heartbeats") == {"d1": {"seen": "now"}}  # always read from Redis
    one.delete("announcements", "a1")
    assert until(lambda: two.items("announcements") == {}, 1.0)


def test_a_worker_reads_its_own_registry_write_at_once(make):
    registry = RedisRegistry(make.client(), "p", watch=make.watch())
    assert registry.items("displays") == {}
    registry.put("displays", "d1", {"id": "d1"})
    assert registry.items("displays") == {"d1": {"id": "d1"}}  # not only after the notice


def test_a_worker_reads_its_own_write_while_other_workers_notices_arrive(make):
    # Each notice makes the listener read the kept collections again. One that read before
    # this worker's write must not leave its older copy standing as current afterwards.
    registry = RedisRegistry(make.client(), "p", watch=make.watch())
    other = RedisRegistry(make.client(), "p")
    assert registry.items("displays") == {}
    assert until(lambda: registry._watch.live)
    stop = threading.Event()

    def other_worker() -> None:
        while not stop.is_set():
            other.put("announcements", "a1", {"id": "a1"})

    thread = threading.Thread(target=other_worker, daemon=True)
    thread.start()
    stale = []
    try:
        for n in range(300):
            registry.put("displays", "d1", {"id": "d1", "n": n})
            seen = registry.items("displays")["d1"]["n"]
            if seen != n:
                stale.append((n, seen))
    finally:
        stop.set()
        thread.join(5)
    assert stale == []


def test_the_sync_process_reads_its_own_status_while_notices_arrive(make):
    # The listener reads the status again on every notice; the writer's own copy must win.
    store = make.store()
    settled(store)
    notices, stop = make.client(), threading.Event()

    def other_writes() -> None:
        while not stop.is_set():
            notices.publish(channel_of("p"), "status")

    thread = threading.Thread(target=other_writes, daemon=True)
    thread.start()
    stale = []
    try:
        for n in range(300):
            store.write_status(SyncStatus(source="untis", failures=n))
            if (seen := store.status().failures) != n:
                stale.append((n, seen))
    finally:
        stop.set()
        thread.join(5)
    assert stale == []


def test_readers_resubscribe_after_redis_restarts_and_miss_no_change(server, make, source,
                                                                    clock, fake):
    writer, reader = make.store(watched=False, retry_after_s=0), make.store(retry_after_s=0)
    engine = SyncEngine(source, writer, TZ, 2, SCHEDULE)
    engine.run_cycle(clock())
    assert settled(reader) and reader.version() == 1
    server.stop()
    assert until(lambda: not reader._watch.live)
    assert reader.version() == 1 and reader.snapshot() is not None  # the last good copy
    server.start()  # the same port, empty, as after a crash without a disk
    clock.advance(minutes=2)
    fake.update_period(1010, status="CANCELLED")
    assert engine.run_cycle(clock()).outcome in ("full", "delta")
    assert until(lambda: reader.version() == writer.version() == 2)
    assert settled(reader)
    before = calls(server, *READS)
    for _ in range(100):
        reader.current()
    assert calls(server, *READS) == before  # listening again: reads are free again


def test_a_change_made_while_the_subscription_is_down_is_not_missed(server, make, source,
                                                                    clock, fake):
    writer, reader = make.store(watched=False), make.store()
    engine = SyncEngine(source, writer, TZ, 2, SCHEDULE)
    engine.run_cycle(clock())
    assert settled(reader)
    with redis.Redis.from_url(server.url) as raw:
        raw.client_kill_filter(_type="pubsub")  # the notices' connection drops
        clock.advance(minutes=2)
        fake.update_period(1010, status="CANCELLED")
        engine.run_cycle(clock())  # published while nobody listens
    assert until(lambda: reader.version() == 2, 3.0)


def test_without_notices_readers_read_redis_at_most_every_second(server, make, source, clock):
    ticks = [0.0]
    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # the notices cannot be heard at all
    reader = RedisStore(make.client(), "p",
                        watch=make.watch(nowhere, monotonic=lambda: ticks[0]))
    SyncEngine(source, make.store(watched=False), TZ, 2, SCHEDULE).run_cycle(clock())
    assert reader.version() == 1
    before = calls(server, "get")
    ticks[0] = FALLBACK_READ_S * 0.9
    for _ in range(50):
        reader.current()
    assert calls(server, "get") == before  # the copy stands for a second
    ticks[0] = FALLBACK_READ_S * 1.1
    reader.current()
    assert calls(server, "get") == before + 1  # then Redis is asked again (the version)


def test_a_reader_never_goes_back_to_an_older_version(make, source, clock):
    writer, reader = make.store(watched=False), make.store()
    SyncEngine(source, writer, TZ, 2, SCHEDULE).run_cycle(clock())
    assert settled(reader)
    small = writer.snapshot()
    # A school-sized snapshot: its loading takes long enough for the reads to overlap.
    base = replace(small, periods={n * 10_000 + p.id: replace(p, id=n * 10_000 + p.id)
                                   for n in range(30) for p in small.periods.values()})
    served = [0]
    lock = threading.Lock()
    older: list[tuple[int, int]] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            with lock:
                floor = served[0]  # what this process had served when this request came
            version = reader.version()
            with lock:
                if version < floor:
                    older.append((version, floor))
                served[0] = max(served[0], version)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for i in range(30):
        writer.replace(replace(base, school=f"Testschule {i}"))
    assert until(lambda: served[0] == writer.version() == 31)
    done.set()
    for thread in threads:
        thread.join()
    assert older == []


def test_a_board_answered_304_or_from_the_render_cache_costs_no_redis_command(
        server, make, source, clock, fake):
    SyncEngine(source, make.store(watched=False), TZ, 2, SCHEDULE).run_cycle(clock())
    app = make.app(fake, clock)
    client = app.test_client()
    first = client.get("/board/overview")
    assert first.status_code == 200
    tag = first.headers["ETag"]
    assert settled(app.extensions["signage"].store)
    client.get("/board/overview")  # reads the announcements again after the subscription
    before = calls(server)
    for _ in range(50):
        assert client.get("/board/overview", headers={"If-None-Match": tag}).status_code == 304
        assert client.get("/board/overview").data == first.data
    assert calls(server) == before


def test_requests_for_a_page_being_rendered_wait_for_that_render(server, make, source, clock,
                                                                 fake):
    SyncEngine(source, make.store(watched=False), TZ, 2, SCHEDULE).run_cycle(clock())
    app = make.app(fake, clock)
    assert app.test_client().get("/robots.txt").status_code == 200
    renders: list[str] = []
    start = threading.Barrier(8)
    pages: list[bytes] = []

    def ask() -> None:
        client = app.test_client()
        start.wait()
        pages.append(client.get("/board/overview").data)

    with template_rendered.connected_to(lambda _app, template, context: renders.append(
            template.name), app):
        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(pages) == 8 and len(set(pages)) == 1
    assert renders.count("board.html") == 1  # one render, not one per kiosk


def test_a_closed_watch_stops_listening_and_copies_stand_a_second_again(make, source, clock):
    SyncEngine(source, make.store(watched=False), TZ, 2, SCHEDULE).run_cycle(clock())
    reader = make.store()
    assert settled(reader)
    reader._watch.close()
    assert until(lambda: not reader._watch.live, 3.0)
    assert reader.version() == 1
