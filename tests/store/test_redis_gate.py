"""The gate in front of Redis (issue 17): a frozen Redis (SIGSTOP: connections open, no answer)
costs one short wait, then no request tries it until the back-off is over."""

from __future__ import annotations

import logging
import os
import signal

import pytest
import redis

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
