"""Production mode end to end, all real processes: gunicorn with 2 workers, the sync process,
Redis and the fake upstream; a change upstream shows through HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port, live_day, untis_settings

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, None
    except OSError:  # not listening yet, or too busy to answer in time
        return 0, None


def _until(check, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    return None


def test_gunicorn_workers_show_what_the_sync_process_wrote(live_fake, redis_url, redis_prefix,
                                                           tmp_path):
    fake = live_fake  # gunicorn and the sync process read the real clock, and so does this fake
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNAGE_")}
    env.update({f"SIGNAGE_{k}": v for k, v in untis_settings(fake).items()})
    env.update(SIGNAGE_REDIS_URL=redis_url, SIGNAGE_REDIS_PREFIX=redis_prefix,
               SIGNAGE_REFRESH_SECONDS="1", SIGNAGE_IDLE_REFRESH_SECONDS="1",
               SIGNAGE_BIND=f"127.0.0.1:{port}", SIGNAGE_COPY_DIR=str(tmp_path))
    log = (tmp_path / "gunicorn.log").open("w")
    web = subprocess.Popen([str(GUNICORN), "wsgi:app"], cwd=ROOT, env=env, stdout=log,
                           stderr=subprocess.STDOUT)
    sync_log = (tmp_path / "sync.log").open("w")
    sync = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "signage", "sync"],
                            cwd=ROOT, env=env, stdout=sync_log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        assert _until(lambda: _get(f"{base}/healthz")[0] == 200, 20), "never became healthy"
        with urllib.request.urlopen(f"{base}/robots.txt", timeout=2) as response:
            assert response.read() == b"User-agent: *\nDisallow: /\n"  # boards stay unindexed
        day = live_day().isoformat()
        status, body = _get(f"{base}/api/v1/changes?date={day}")
        assert status == 200 and body["changes"] == []
        fake.update_period(1010, status="CANCELLED", substitutionText="entfällt")

        def changed():
            found = _get(f"{base}/api/v1/changes?date={day}")[1]
            return found and found["changes"]

        rows = _until(changed, 15)
        sync_log.flush()
        # The public profile (the default) leaves the planner's note out.
        assert rows and rows[0]["kinds"] == ["cancelled"] and rows[0]["text"] == "", (
            (tmp_path / "sync.log").read_text())
        # Both workers answer from the same snapshot: many requests, one answer.
        answers = {json.dumps(_get(f"{base}/api/v1/changes?date={day}")[1]["changes"])
                   for _ in range(20)}
        assert len(answers) == 1
    finally:
        for process in (web, sync):
            process.terminate()
            process.wait(timeout=15)
        log.close()
        sync_log.close()
    access = (tmp_path / "gunicorn.log").read_text()
    assert '"GET /api/v1/changes"' in access and "date=" not in access  # no query in the log
