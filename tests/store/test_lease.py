"""The leader lease on a real Redis: of several sync processes exactly one polls, and a standby
takes over from a killed leader with a delta from the stored cursor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from signage.store.lease import Lease
from tests.conftest import untis_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_client(redis_url):
    with redis.Redis.from_url(redis_url) as client:
        yield client


def test_one_holder_at_a_time_and_release_hands_over(redis_client, redis_prefix):
    client = redis_client
    first, second = (Lease(client, f"{redis_prefix}:leader", 30) for _ in range(2))
    assert first.acquire() and not second.acquire()
    assert first.acquire()  # renewing
    assert first.holder() == first.token
    first.release()
    assert second.acquire() and not first.acquire()


def test_a_lease_that_is_not_renewed_runs_out(redis_client, redis_prefix):
    client = redis_client
    first, second = (Lease(client, f"{redis_prefix}:leader", 0.3) for _ in range(2))
    assert first.acquire() and not second.acquire()
    time.sleep(0.45)
    assert second.acquire() and not first.acquire()


def _sync_process(fake, redis_url: str, prefix: str, folder) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNAGE_")}
    env.update({f"SIGNAGE_{k}": v for k, v in untis_settings(fake).items()})
    env.update(SIGNAGE_REDIS_URL=redis_url, SIGNAGE_REDIS_PREFIX=prefix,
               SIGNAGE_REFRESH_SECONDS="1", SIGNAGE_IDLE_REFRESH_SECONDS="1",
               SIGNAGE_LEASE_SECONDS="2", SIGNAGE_COPY_DIR=str(folder))
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "signage", "sync"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _wait_for(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.system
def test_two_sync_processes_poll_once_and_a_standby_takes_over(live_fake, redis_url, redis_prefix,
                                                                redis_client, tmp_path):
    fake = live_fake
    processes = [_sync_process(fake, redis_url, redis_prefix, tmp_path) for _ in range(2)]
    client = redis_client
    try:
        assert _wait_for(lambda: fake.count("deleted") >= 3, 20), "no delta cycles"
        pollers = {r.bearer for r in list(fake.requests) if r.endpoint == "timetable"}
        assert len(pollers) == 1  # each process has its own token: only one ever polled
        leader_pid = int(client.get(f"{redis_prefix}:leader").decode().split(":")[1])
        leader = next(p for p in processes if p.pid == leader_pid)
        seen = len(fake.requests)
        leader.send_signal(signal.SIGKILL)  # no clean shutdown: the lease must run out
        leader.wait(timeout=10)
        killed_at = time.monotonic()
        assert _wait_for(lambda: any(r.endpoint == "timetable" and r.bearer not in pollers
                                     for r in list(fake.requests)[seen:]), 10)
        assert time.monotonic() - killed_at <= 2 * 2 + 1  # within two lease periods (+ a tick)
        first = next(r for r in list(fake.requests)[seen:]
                     if r.endpoint == "timetable" and r.bearer not in pollers)
        assert "dateLastModifiedAfter" in first.params  # a delta from the stored cursor
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
    assert client.get(f"{redis_prefix}:leader") is None  # released on a clean shutdown
