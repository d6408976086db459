"""The gate in front of Redis (issue 17): a frozen Redis (SIGSTOP: connections open, no answer)
costs one short wait, then no request tries it until the back-off is over."""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading

import pytest
import redis
import redis.sentinel
from flask import Flask
from flask_caching import Cache
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from signage.store import StoreError
from signage.store.connect import RedisTarget
from signage.store.gate import BACKOFF_S, Gate
from signage.store.registry_redis import RedisRegistry
from tests.conftest import RedisServer


@pytest.fixture
def server(tmp_path):
    started = RedisServer(tmp_path).start()
    yield started
    if started.process is not None and started.process.poll() is None:
        os.kill(started.process.pid, signal.SIGCONT)  # a failed test may leave it stopped
    started.stop()


def _hgetalls(server: RedisServer) -> int:
    with redis.Redis.from_url(server.url) as raw:
        return raw.info("commandstats").get("cmdstat_hgetall", {}).get("calls", 0)


def test_a_frozen_redis_is_tried_once_per_back_off(server, caplog):
    caplog.set_level(logging.INFO, "signage.store.gate")
    ticks = [0.0]
    gate = Gate(monotonic=lambda: ticks[0])
    client = RedisTarget(server.url).fast()
    registry = RedisRegistry(client, "p", gate=gate)
    registry.put("displays", "d1", {"id": "d1"})
    assert registry.items("displays") == {"d1": {"id": "d1"}}
    before = _hgetalls(server)
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        for _ in range(20):  # the copy, every time; Redis asked the first time only
            assert registry.items("displays") == {"d1": {"id": "d1"}}
        assert not gate.open and not gate.reachable
        registry.put("heartbeats", "d1", {"seen": "now"})  # dropped, without waiting
        with pytest.raises(StoreError, match="Redis unreachable"):
            registry.put("displays", "d2", {"id": "d2"})  # an admin's change: told at once
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    # The one read that was sent is answered now; none was sent during the back-off.
    assert _hgetalls(server) == before + 1
    assert caplog.text.count("Redis does not answer (TimeoutError)") == 1
    ticks[0] += BACKOFF_S
    assert gate.open
    registry.put("displays", "d2", {"id": "d2"})
    assert set(registry.items("displays")) == {"d1", "d2"}
    assert gate.reachable and "Redis answers again" in caplog.text
    client.close()


def test_a_stopped_redis_closes_the_gate_too(server):
    gate = Gate()
    client = RedisTarget(server.url).fast()
    registry = RedisRegistry(client, "p", gate=gate)
    registry.put("announcements", "a1", {"id": "a1"})
    assert registry.items("announcements")
    server.stop()
    assert registry.items("announcements") == {"a1": {"id": "a1"}}
    assert not gate.open
    client.close()


class DroppingSentinel:
    """A loopback port that accepts each connection and closes it at once, counting them: a
    sentinel that is there and answers nothing."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:  # closed
                return
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self.socket.shutdown(socket.SHUT_RDWR)  # wakes the accept
        self.socket.close()
        self.thread.join(5)


def test_each_sentinel_is_asked_once_per_try_without_waiting_in_between():
    # redis-py's default for a connection made without retry options (the sentinels' own ones,
    # unless told) is 3 more tries with a random back-off of up to seconds: 7 s on the request
    # path with two dead sentinels, 16 s for the sync process, and draws from the process's
    # global random numbers in the change-notice thread.
    sentinels = [DroppingSentinel(), DroppingSentinel()]
    target = RedisTarget(sentinels=tuple(("127.0.0.1", s.port) for s in sentinels))
    state = random.getstate()
    try:
        for make, tries in ((target.fast, 1), (target.notices, 1), (target.patient, 2)):
            for sentinel in sentinels:
                sentinel.accepted = 0
            client = make()
            with pytest.raises(redis.sentinel.MasterNotFoundError):
                client.ping()
            client.close()
            assert [s.accepted for s in sentinels] == [tries, tries], make.__name__
        cache = Cache(Flask(__name__), config=target.cache_config("p:render:"))
        for sentinel in sentinels:
            sentinel.accepted = 0
        with pytest.raises(redis.sentinel.MasterNotFoundError):
            cache.set("a page", "<html>")  # written to the primary
        assert [s.accepted for s in sentinels] == [1, 1]
        uri, options = target.limits_storage("p")
        limiter = MovingWindowRateLimiter(storage_from_string(uri, **options))
        for sentinel in sentinels:
            sentinel.accepted = 0
        with pytest.raises(Exception, match="No master found"):
            limiter.hit(parse("5/minute"), "a login")
        assert [s.accepted for s in sentinels] == [1, 1]
    finally:
        for sentinel in sentinels:
            sentinel.close()
    assert random.getstate() == state
