"""The commands a newcomer and an operator type, run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from signage.demo.server import Fault
from tests.conftest import BELLS, NAMES, TZ, free_port, live_day, untis_settings
from tests.fakes.affectit_server import FakeAffectIt
from tests.fakes.jsonrpc_server import FakeJsonRpc
from tests.fakes.mytimetable_server import FakeMyTimetable
from tests.fakes.unitime_server import FakeUnitime

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi", "signage"]


def _env(**settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNAGE_")}
    env.update({f"SIGNAGE_{k}": str(v) for k, v in settings.items()})
    return env


def _run(args: list[str], **settings: object) -> subprocess.CompletedProcess:
    return subprocess.run(FLASK + args, cwd=ROOT, env=_env(**settings), capture_output=True,
                          text=True, timeout=60, check=False)


def test_sync_once_against_a_school_exits_0(live_fake):
    fake = live_fake
    result = _run(["sync", "--once"], **untis_settings(fake))
    assert result.returncode == 0, result.stderr
    assert "sync ok: full load, 12 periods" in result.stdout
    assert fake.count("timetable") == 1
    assert fake.credentials[1] not in result.stdout + result.stderr


def test_sync_once_fails_with_a_one_line_reason(live_fake):
    fake = live_fake
    fake.inject(Fault("timetable", status=500))
    result = _run(["sync", "--once"], **untis_settings(fake))
    assert result.returncode != 0
    assert "Error: sync failed: GET /timetable: HTTP 500" in result.stderr
    assert "Traceback" not in result.stderr


def test_sync_once_on_the_demo_school_exits_0():
    result = _run(["sync", "--once"])
    assert result.returncode == 0, result.stderr
    assert "sync ok: full load" in result.stdout


def test_a_malformed_setting_stops_start_up_with_one_line():
    result = _run(["sync", "--once"], REFRESH_SECONDS="soon")
    assert result.returncode == 2
    assert "SIGNAGE_REFRESH_SECONDS: expected a whole number >= 1, got 'soon'" in result.stderr
    assert "Traceback" not in result.stderr


def _school_of_today(fake: Any) -> Any:
    """Fill `fake` with two lessons on `live_day()` (the command runs on the real clock)."""
    today = live_day()
    for category, names in NAMES.items():
        fake.add_names(category, names)
    for unit in (0, 1):
        start, end = BELLS[unit]
        fake.add_lesson(100 + unit, today, start, end, cls=1, teacher=1, room=1, subject=1)
    return fake.start()


@pytest.fixture
def affectit():
    fake = _school_of_today(FakeAffectIt(TZ, api_key="key-of-the-school"))
    yield fake
    fake.stop()


@pytest.fixture
def jsonrpc():
    fake = _school_of_today(FakeJsonRpc(TZ, school="Demo Gymnasium", password="pw-of-the-school"))
    yield fake
    fake.stop()


def test_sync_once_against_affect_it_exits_0(affectit):
    result = _run(["sync", "--once"], SOURCE="affectit", AFFECTIT_URL=affectit.url,
                  AFFECTIT_API_KEY="key-of-the-school")
    assert result.returncode == 0, result.stderr
    assert "sync ok: full load, 2 periods" in result.stdout
    assert "key-of-the-school" not in result.stdout + result.stderr


def test_sync_once_against_json_rpc_exits_0_and_logs_out(jsonrpc):
    user, password = jsonrpc.credentials
    result = _run(["sync", "--once"], SOURCE="jsonrpc", JSONRPC_URL=jsonrpc.url,
                  JSONRPC_SCHOOL="Demo+Gymnasium", JSONRPC_USER=user, JSONRPC_PASSWORD=password)
    assert result.returncode == 0, result.stderr
    assert "sync ok: full load, 2 periods" in result.stdout
    assert jsonrpc.count("logout") == 1
    assert password not in result.stdout + result.stderr


@pytest.fixture
def unitime():
    fake = _school_of_today(FakeUnitime(TZ, password="pw-of-the-university"))
    yield fake
    fake.stop()


@pytest.fixture
def mytimetable():
    fake = _school_of_today(FakeMyTimetable(TZ, token="token-of-the-university"))
    yield fake
    fake.stop()


def test_sync_once_against_unitime_exits_0(unitime):
    result = _run(["sync", "--once"], SOURCE="unitime", **unitime.settings())
    assert result.returncode == 0, result.stderr
    assert "sync ok: full load, 2 periods" in result.stdout
    assert "pw-of-the-university" not in result.stdout + result.stderr


def test_sync_once_against_mytimetable_exits_0(mytimetable):
    result = _run(["sync", "--once"], SOURCE="mytimetable", MYTIMETABLE_URL=mytimetable.url,
                  MYTIMETABLE_TOKEN="token-of-the-university")
    assert result.returncode == 0, result.stderr
    assert "sync ok: full load, 2 periods" in result.stdout
    assert "token-of-the-university" not in result.stdout + result.stderr


def test_a_wrong_api_key_fails_with_a_one_line_reason(affectit):
    result = _run(["sync", "--once"], SOURCE="affectit", AFFECTIT_URL=affectit.url,
                  AFFECTIT_API_KEY="not-the-key")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "not-the-key" not in result.stderr
    assert "401" in result.stderr or "403" in result.stderr, result.stderr


def _get_json(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture
def served_demo():
    """The README's run command's process: `signage serve` on the demo school."""
    port = free_port()
    process = subprocess.Popen(FLASK + ["serve", "--port", str(port)], cwd=ROOT, env=_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    output, _ = process.communicate(timeout=10)
    assert "Traceback" not in output, output


def test_serve_shows_demo_changes_within_seconds(served_demo):
    deadline = time.monotonic() + 10
    status, body = 0, None
    while time.monotonic() < deadline:
        try:
            status, body = _get_json(f"{served_demo}/healthz")
        except OSError:  # not listening yet, or too busy to answer in time
            status = 0
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200, body
    assert body["source"] == "demo"
    status, classes = _get_json(f"{served_demo}/api/v1/classes")
    assert status == 200 and len(classes) == 20
    day = _next_school_day()
    status, changes = _get_json(f"{served_demo}/api/v1/changes?date={day}")
    assert status == 200 and len(changes["changes"]) > 0


def _next_school_day() -> str:
    day = live_day()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.isoformat()


def test_a_paused_sync_once_fails_and_resume_lets_the_next_cycle_try(live_fake, redis_url,
                                                                     redis_prefix, tmp_path):
    fake = live_fake
    store = {"REDIS_URL": redis_url, "REDIS_PREFIX": redis_prefix, "COPY_DIR": str(tmp_path)}
    wrong = {**untis_settings(fake), **store, "UNTIS_CLIENT_SECRET": "mistyped-secret",
             "AUTH_FAILURE_LIMIT": 1}
    first = _run(["sync", "--once"], **wrong)
    assert first.returncode == 1 and "sync paused" in first.stderr
    assert "refused our credentials 1 times" in first.stderr
    again = _run(["sync", "--once"], **untis_settings(fake), **store)
    assert again.returncode == 1 and "sync paused until" in again.stderr
    assert fake.count("token") == 1  # the pause held: no second try
    resumed = _run(["resume"], **untis_settings(fake), **store)
    assert resumed.returncode == 0 and "pause ended" in resumed.stdout
    fixed = _run(["sync", "--once"], **untis_settings(fake), **store)
    assert fixed.returncode == 0, fixed.stderr
    assert "mistyped-secret" not in first.stderr + again.stderr + fixed.stderr


def test_sync_once_leaves_the_syncing_to_a_running_leader(live_fake, redis_url, redis_prefix,
                                                          tmp_path):
    store = {"REDIS_URL": redis_url, "REDIS_PREFIX": redis_prefix, "COPY_DIR": str(tmp_path)}
    with redis.Redis.from_url(redis_url) as client:
        client.set(f"{redis_prefix}:leader", "otherhost:4711:abcd", px=30_000)
        result = _run(["sync", "--once"], **untis_settings(live_fake), **store)
        assert result.returncode == 1
        assert "another sync process leads" in result.stderr, result.stderr
        assert live_fake.count("timetable") == 0
        client.delete(f"{redis_prefix}:leader")
    again = _run(["sync", "--once"], **untis_settings(live_fake), **store)
    assert again.returncode == 0, again.stderr
    with redis.Redis.from_url(redis_url) as client:
        assert client.get(f"{redis_prefix}:leader") is None  # handed back on the way out
