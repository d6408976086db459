"""Serving figures: gunicorn (2 workers, gunicorn.conf.py) on Redis, loaded over loopback.

Run alone: `.venv/bin/python -m bench.run --only bench.serving` (`--quick`: a tiny run).

All real processes (see `bench.stack`): a throwaway redis-server, the demo school on the fake
WebUntis v3 server, one `flask --app wsgi signage sync --once` into Redis, and gunicorn with two
workers. Load comes from `wrk --latency` (Debian's package; `make bench` installs it) or, when it
is missing, from a closed-loop Python generator (the table names the one used). Both run on the
same two cores as the server.

Measured in one run, in twelve rounds that alternate the routes (the order rotates each round;
each figure is the median over the rounds): (a) `/robots.txt`, a constant: the limit of the app's
own stack; (b) the overview board, 200 from the per-version render cache; (c) the same board
answered 304 (If-None-Match); (d) the JSON API `/api/v1/changes`. (b), (c), (d) are reported as
ratios to (a), taken round by round: the median, and the middle half of the rounds (the
machine's neighbours make single rounds noisy).

(e) Cold renders: a paced open-loop client sends plain GETs of the overview board at
`COLD_RATE` (latency counted from each request's scheduled time, so a stall is not hidden),
while another process writes a new snapshot version into Redis every `CHANGE_EVERY_S` with
RedisStore.replace, as the sync process does (the versions come from the demo school's planner
and a real sync engine). The first answer carrying a new version's ETag is that version's cold
render; the cold window is every request answered with the new version that was sent before
that first answer came back (none of them could find a finished render).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import redis

from bench.load import CONNECTIONS, Load, Paced, Sample, run_python, run_wrk
from bench.stack import (
    TZ,
    free_port,
    get,
    signage_env,
    start_gunicorn,
    start_redis,
    start_upstream,
    sync_once,
)
from signage.demo.school import DemoSchool
from signage.demo.server import FakeUntis
from signage.domain.model import Snapshot
from signage.store.codec import snapshot_from_json, snapshot_to_json
from signage.store.redis_store import RedisStore

BOARD = "/board/overview"
ROUTES = {"trivial route": "/robots.txt", "board 200 (render cache)": BOARD,
          "board 304 (ETag)": BOARD, "JSON API": "/api/v1/changes"}
TARGETS = {"board 304 (ETag)": 0.80, "board 200 (render cache)": 0.50}
COLD_RATE = 330  # requests per second: about 10,000 kiosks polling every 30 s
CHANGE_EVERY_S = 0.5  # far more often than any sync (>= 1 s), for enough cold samples
COLD_P99_TARGET_MS = 50.0


# --- the measurement ----------------------------------------------------------------------------
def measure(quick: bool = False) -> dict[str, str]:
    """Start the stack, load each route in rounds, then the cold renders; return the rows."""
    seconds, rounds, cold_s = (1, 1, 3) if quick else (2, 12, 20)
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-serving-")))
        redis_url = start_redis(stack, folder)
        fake, school = start_upstream(stack)
        env = signage_env(fake, redis_url, free_port(), COPY_DIR=str(folder))
        sync_once(env)
        base = start_gunicorn(stack, env, folder / "gunicorn.log")
        status, headers, body = get(base, BOARD)
        if status != 200:
            raise RuntimeError(f"{BOARD} answered {status}")
        wrk = shutil.which("wrk")  # `make bench` installs it; else the Python generator

        def load(name: str, duration_s: float) -> Load:
            conditional = {"If-None-Match": headers["ETag"]} if "304" in name else {}
            if wrk:
                return run_wrk(wrk, base + ROUTES[name], duration_s, conditional)
            return run_python(base + ROUTES[name], duration_s, conditional,
                              304 if conditional else 200)

        for name in ROUTES:  # warm-up: imports, connections, the render cache
            load(name, 1)
        loads: dict[str, list[Load]] = {name: [] for name in ROUTES}
        names = list(ROUTES)
        for turn in range(rounds):
            for name in names[turn % len(names):] + names[:turn % len(names)]:
                loads[name].append(load(name, seconds))
        if get(base, BOARD, {"If-None-Match": headers["ETag"]})[0] != 304:
            raise RuntimeError("the board's ETag changed during the run: the 304 rows are void")
        figures = _route_rows(loads, "wrk" if wrk else "Python generator (wrk missing)")
        figures["overview board HTML"] = f"{len(body) / 1024:.0f} KiB"
        figures.update(_cold(base, redis_url, fake, school, cold_s))
        return figures


def _route_rows(loads: dict[str, list[Load]], generator: str) -> dict[str, str]:
    rows = {"load generator": f"{generator}, {CONNECTIONS} connections, same 2 cores"}
    for name, runs in loads.items():
        rows[f"{name}: requests/s"] = f"{statistics.median(r.rps for r in runs):,.0f}"
        rows[f"{name}: p50 / p99"] = (f"{statistics.median(r.p50_ms for r in runs):.2f} ms / "
                                      f"{statistics.median(r.p99_ms for r in runs):.2f} ms")
    trivial = loads["trivial route"]
    for name in ("board 304 (ETag)", "board 200 (render cache)", "JSON API"):
        ratios = sorted(r.rps / t.rps for r, t in zip(loads[name], trivial, strict=True))
        ratio = statistics.median(ratios)
        target = TARGETS.get(name)
        verdict = (f" (target ≥ {target:.0%}: {'met' if ratio >= target else 'missed'})"
                   if target else "")
        spread = (f"; rounds {ratios[len(ratios) // 4]:.0%}–{ratios[3 * len(ratios) // 4]:.0%}"
                  if len(ratios) >= 4 else "")  # the middle half of the rounds
        rows[f"{name} / trivial route"] = f"{ratio:.0%}{verdict}{spread}".replace("%", " %")
    return rows


def _cold(base: str, redis_url: str, fake: FakeUntis, school: DemoSchool,
          seconds: float) -> dict[str, str]:
    """Load the board at COLD_RATE while new versions are written; return the cold rows."""
    payloads = [json.dumps(snapshot_to_json(s)) for s in
                _versions(fake, school, round(seconds / CHANGE_EVERY_S) + 2)]
    # The writer is a process of its own, as the sync process is: its JSON encoding must not
    # hold this process's GIL while the paced client measures.
    context = multiprocessing.get_context("spawn")
    ready, go = context.Event(), context.Event()
    written = context.Array("d", len(payloads) + 16)  # version -> when its write was done
    writer = context.Process(target=_write_versions,
                             args=(redis_url, payloads, ready, go, written), daemon=True)
    writer.start()
    try:
        if not ready.wait(60):
            raise RuntimeError("the snapshot writer did not start")
        go.set()
        samples = Paced(base, BOARD, COLD_RATE).run(seconds)
    finally:
        writer.terminate()
        writer.join()
    if any(s.status != 200 or s.version is None for s in samples):
        raise RuntimeError(f"wrong answers: {sorted({s.status for s in samples})}")
    by_version: dict[int, list[Sample]] = {}
    for sample in sorted(samples, key=lambda s: s.sent):
        by_version.setdefault(sample.version, []).append(sample)
    firsts, windows, served = [], [], []
    for version, answers in sorted(by_version.items())[1:]:  # the first: the version before
        first_back = min(s.done for s in answers)
        firsts.append(answers[0].latency_ms)
        windows += [s.latency_ms for s in answers if s.sent < first_back]
        if version < len(written) and written[version]:
            served.append(1000 * (first_back - written[version]))
    firsts.sort()
    windows.sort()
    every = sorted(s.latency_ms for s in samples)
    p99 = _percentile(firsts, 0.99)
    verdict = "met" if p99 <= COLD_P99_TARGET_MS else "missed"
    return {
        "cold render: load": (f"{len(samples) / seconds:.0f} req/s of {BOARD} (paced), "
                              f"{len(firsts)} new versions, one every "
                              f"{CHANGE_EVERY_S * 1000:.0f} ms"),
        "cold render (first answer of a new version): p50 / p99 (max)": (
            f"{_percentile(firsts, 0.5):.1f} ms / {p99:.1f} ms ({firsts[-1]:.1f} ms), "
            f"n = {len(firsts)} (target p99 ≤ {COLD_P99_TARGET_MS:.0f} ms: {verdict})"),
        "cold windows (answers before a render was back): p99": (
            f"{_percentile(windows, 0.99):.1f} ms, n = {len(windows)}"),
        "from a version's write to its first answer: p50 / max": (
            f"{statistics.median(served):.1f} ms / {max(served):.1f} ms"),
        "all requests of the cold run: p50 / p99": (f"{_percentile(every, 0.5):.2f} ms / "
                                                    f"{_percentile(every, 0.99):.2f} ms"),
    }


def _write_versions(redis_url: str, payloads: list[str], ready, go, written) -> None:
    """Write one snapshot after the other into Redis, every CHANGE_EVERY_S (a child process),
    noting when each version's write was done."""
    snapshots = [snapshot_from_json(json.loads(p)) for p in payloads]
    with redis.Redis.from_url(redis_url) as client:
        store = RedisStore(client)
        store.current()
        ready.set()
        go.wait()
        next_at = time.perf_counter()
        for snapshot in snapshots:
            next_at += CHANGE_EVERY_S
            time.sleep(max(0.0, next_at - time.perf_counter()))
            version = store.replace(snapshot)
            if version < len(written):
                written[version] = time.perf_counter()


def _versions(fake: FakeUntis, school: DemoSchool, count: int) -> list[Snapshot]:
    """Return `count` successive snapshots, each after one planner change, by a real engine."""
    from datetime import time as clock_time

    from signage.sources.http import make_session
    from signage.sources.untis import UntisSource
    from signage.store import MemoryStore
    from signage.sync.engine import SyncEngine
    from signage.sync.schedule import Schedule

    schedule = Schedule(refresh_s=1, idle_refresh_s=1,
                        school_hours=(clock_time(0), clock_time(23, 59)),
                        full_reload_at=clock_time(3))
    session = make_session()
    client_id, secret = fake.credentials
    source = UntisSource(fake.url, fake.tenant, client_id, secret, TZ, session)
    store = MemoryStore()
    engine = SyncEngine(source, store, TZ, 7, schedule)
    snapshots = []
    try:
        engine.run_cycle(datetime.now(UTC), force=True)
        while len(snapshots) < count:
            before = store.version()
            school.step(datetime.now(TZ).date())
            engine.run_cycle(datetime.now(UTC), force=True)
            if store.version() != before:
                snapshots.append(store.snapshot())
    finally:
        session.close()
    return snapshots


def _percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")
