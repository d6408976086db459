"""Freshness: from a change at the upstream to the first 200 with the new version at a kiosk.

Run alone: `.venv/bin/python -m bench.run --only bench.freshness` (`--quick`: a tiny run).

All real processes (see `bench.stack`): a throwaway redis-server, the demo school on the fake
WebUntis v3 server, the sync process (`flask --app wsgi signage sync`) and gunicorn with two
workers. A kiosk (a thread in this process) polls `/board/overview?part=board` as the kiosk script
does: with If-None-Match, the next poll `data-poll-s` after the last answer. For each of 20 changes
this process edits a period's note at the upstream, then waits for the kiosk's first 200 whose
`data-version` is newer, and a random pause so the changes fall at random phases of the sync's and
the kiosk's timers.

Each change's time splits into: waiting for the next sync cycle (until the upstream is next
asked for the timetable), the cycle itself (until the new version is published in Redis), and
from there to the kiosk (its poll timer and the answer). The short intervals are measured end
to end. The default intervals (refresh 120 s, kiosk poll 30 s) would take about an hour and a
half for 20 changes, so that figure is derived, and labelled so: the measured parts that do not
depend on the intervals, plus waits drawn uniformly from the default intervals.
"""

from __future__ import annotations

import contextlib
import random
import re
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import redis

from bench.stack import (
    TZ,
    free_port,
    get,
    signage_env,
    start_gunicorn,
    start_redis,
    start_sync,
    start_upstream,
    until,
)
from signage.demo.server import FakeUntis
from signage.store.watch import channel_of

KIOSK_PATH = "/board/overview?part=board"
SHORT_REFRESH_S = 2
DEFAULT_REFRESH_S, DEFAULT_POLL_S = 120, 30  # SIGNAGE_REFRESH_SECONDS, the kiosk's cap
CHANGES = 20
DRAWS = 100_000  # samples of the derived default-interval distribution
VERSION = re.compile(rb'class="region" data-version="(\d+)"')


@dataclass
class Change:
    """One change's timeline (time.monotonic() of this process)."""

    made: float
    fetched: float  # the sync's next timetable request at the upstream
    published: float  # the new version's notice on the Redis channel
    seen: float  # the kiosk's first 200 with the new version came back
    asked: float  # ... and when that poll was sent


class Kiosk:
    """Polls a board like static/board.js: If-None-Match, then the poll interval after each
    answer; remembers when each version was first seen."""

    def __init__(self, base: str, poll_s: float) -> None:
        self.base, self.poll_s = base, poll_s
        self.seen: dict[int, tuple[float, float]] = {}  # version -> (sent, answered)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Kiosk:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        etag = None
        while not self._stop.is_set():
            sent = time.monotonic()
            status, headers, body = get(self.base, KIOSK_PATH,
                                        {"If-None-Match": etag} if etag else {})
            if status == 200 and (found := VERSION.search(body)):
                etag = headers.get("ETag")
                self.seen.setdefault(int(found.group(1)), (sent, time.monotonic()))
            self._stop.wait(self.poll_s)


class Notices:
    """Listens on the store's change channel (as workers do) and notes when each snapshot
    version was published."""

    def __init__(self, redis_url: str, prefix: str = "signage") -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.version_key = f"{prefix}:version"
        self.published: dict[int, float] = {}
        self._pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(**{channel_of(prefix): self._heard})
        self._thread = self._pubsub.run_in_thread(sleep_time=0.05, daemon=True)

    def _heard(self, message: dict) -> None:
        if message["data"] == b"snapshot":
            at = time.monotonic()
            self.published.setdefault(int(self.client.get(self.version_key) or 0), at)

    def version(self) -> int:
        """Return the version now in Redis."""
        return int(self.client.get(self.version_key) or 0)

    def close(self) -> None:
        self._thread.stop()
        self._thread.join()
        self._pubsub.close()
        self.client.close()


def measure(quick: bool = False) -> dict[str, str]:
    """Make the changes under the short intervals; return measured and derived rows."""
    count = 3 if quick else CHANGES
    rng = random.Random(8)  # noqa: S311 - phases of a benchmark, not secrets
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-fresh-")))
        redis_url = start_redis(stack, folder)
        fake, _school = start_upstream(stack)
        env = signage_env(fake, redis_url, free_port(), REFRESH_SECONDS=str(SHORT_REFRESH_S),
                          IDLE_REFRESH_SECONDS=str(SHORT_REFRESH_S), COPY_DIR=str(folder))
        start_sync(stack, env, folder / "sync.log")
        base = start_gunicorn(stack, env, folder / "gunicorn.log")
        until(lambda: _region(base), 60, f"no board; see {folder / 'sync.log'}")
        page = get(base, KIOSK_PATH.split("?")[0])[2]  # the kiosk script reads its interval
        poll_s = float(re.search(rb'data-poll-s="(\d+)"', page).group(1))
        notices = Notices(redis_url)
        stack.callback(notices.close)
        kiosk = Kiosk(base, poll_s).start()
        stack.callback(kiosk.stop)
        targets = _periods_in_window(fake)
        changes = []
        for i in range(count):
            time.sleep(rng.uniform(0, SHORT_REFRESH_S))  # a random phase of both timers
            changes.append(_change(fake, notices, kiosk, rng.choice(targets), i))
    return _rows(changes, poll_s, rng)


def _region(base: str) -> bytes | None:
    status, _, body = get(base, KIOSK_PATH)
    return body if status == 200 and VERSION.search(body) else None


def _periods_in_window(fake: FakeUntis) -> list[int]:
    today = datetime.now(TZ).date()
    days = {(today + timedelta(days=d)).isoformat() for d in range(7)}
    with fake.lock:
        return sorted(pid for pid, p in fake.periods.items() if p["start"][:10] in days)


def _change(fake: FakeUntis, notices: Notices, kiosk: Kiosk, period_id: int, i: int) -> Change:
    """Change a period's note at the upstream; return the change's timeline once seen."""
    before = notices.version()
    made = time.monotonic()
    fake.update_period(period_id, substitutionText=f"Freshness {i}: Raum beachten")
    version = until(lambda: next((v for v in sorted(kiosk.seen) if v > before), None), 600,
                    "the kiosk never saw the change")
    with fake.lock:
        fetched = min(r.at for r in fake.requests if r.endpoint == "timetable" and r.at > made)
    asked, seen = kiosk.seen[version]
    return Change(made, fetched, notices.published.get(version, seen), seen, asked)


def _rows(changes: list[Change], poll_s: float, rng: random.Random) -> dict[str, str]:
    total = [c.seen - c.made for c in changes]
    cycle = [c.published - c.fetched for c in changes]  # the sync's work, any interval
    answer = [c.seen - c.asked for c in changes]  # the kiosk's 200 itself
    overhead = [a + b for a, b in zip(cycle, answer, strict=True)]
    derived = [rng.uniform(0, DEFAULT_REFRESH_S) + rng.uniform(0, DEFAULT_POLL_S)
               + rng.choice(overhead) for _ in range(DRAWS)]
    worst = DEFAULT_REFRESH_S + DEFAULT_POLL_S + max(overhead)
    return {
        "changes": (f"{len(changes)}, each a note edited at the fake upstream, at random phases "
                    "of the sync's and the kiosk's timers"),
        f"short intervals (refresh {SHORT_REFRESH_S} s, kiosk poll {poll_s:g} s): "
        "median / max": _span(total),
        "… of which waiting for the sync cycle: median / max": _span(
            [c.fetched - c.made for c in changes]),
        "… the sync cycle until the version is published: median / max": _span(cycle),
        "… from publication to the kiosk's 200: median / max": _span(
            [c.seen - c.published for c in changes]),
        f"default intervals (refresh {DEFAULT_REFRESH_S} s, kiosk poll {DEFAULT_POLL_S} s): "
        "median / max": (
            f"{statistics.median(derived):.1f} s / {worst:.1f} s (derived, not run: the "
            "measured cycle and answer times plus uniform waits for the next cycle and the "
            "next poll; the max is the worst case)"),
    }


def _span(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s / {max(values):.2f} s"
