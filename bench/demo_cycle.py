"""Figures of one demo run: periods in the window, full-load and delta-cycle times, requests.

Run: `make bench` (or `.venv/bin/python -m bench.demo_cycle --cycles 20`). The demo school is
served by the fake WebUntis v3 server on loopback and synced by the real client and engine; the
planner makes one change before each delta cycle. Times are medians of this machine's runs:
figures for the notes, not claims.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from bench import print_table
from signage.demo.school import DemoSchool
from signage.demo.server import FakeUntis
from signage.sources.http import make_session
from signage.sources.untis import UntisSource
from signage.store import MemoryStore
from signage.sync import Schedule, SyncEngine

TZ = ZoneInfo("Europe/Berlin")
SCHEDULE = Schedule(refresh_s=10, idle_refresh_s=10, school_hours=(clock_time(0), clock_time(23)),
                    full_reload_at=clock_time(3))


def measure(cycles: int = 20, loads: int = 3, days_ahead: int = 7) -> dict[str, float]:
    """Run `loads` full loads and `cycles` delta cycles against the demo; return the figures."""
    now = [datetime(2026, 11, 23, 8, 0, tzinfo=TZ).astimezone(UTC)]
    fake = FakeUntis(TZ, clock=lambda: now[0]).start()
    school = DemoSchool(fake)
    session = make_session()
    client_id, secret = fake.credentials
    source = UntisSource(fake.url, fake.tenant, client_id, secret, TZ, session)
    try:
        full_s = []
        for _ in range(loads):
            engine = SyncEngine(source, MemoryStore(), TZ, days_ahead, SCHEDULE)
            started = time.perf_counter()
            assert engine.run_cycle(now[0]).outcome == "full"  # noqa: S101 - a broken run is no figure
            full_s.append(time.perf_counter() - started)
        periods = len(engine.store.snapshot().periods)
        delta_s, counts = [], Counter()
        for _ in range(cycles):
            now[0] += timedelta(seconds=10)
            school.step(now[0].astimezone(TZ).date())
            before = Counter(r.endpoint for r in fake.requests)
            started = time.perf_counter()
            result = engine.run_cycle(now[0])
            delta_s.append(time.perf_counter() - started)
            assert result.outcome == "delta", result  # noqa: S101
            counts += Counter(r.endpoint for r in fake.requests) - before
        return {
            "periods in the window": periods,
            "full load, median s": statistics.median(full_s),
            "delta cycle, median s": statistics.median(delta_s),
            "delta / full load": statistics.median(delta_s) / statistics.median(full_s),
            "requests per delta cycle": sum(counts.values()) / cycles,
            "token requests per delta cycle": counts["token"] / cycles,
        }
    finally:
        session.close()
        fake.stop()


def main() -> None:
    """Print the figures as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    print_table(measure(args.cycles, args.loads))


if __name__ == "__main__":
    main()
