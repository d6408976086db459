"""Board render time, 304 time and HTML size, in-process on the demo school.

Run: `make bench` (or `.venv/bin/python -m bench.board_render --requests 200`). Requests go
through the Flask test client (no network); times are medians on this machine: figures for the
notes, and the 304/200 ratio measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bench import print_table
from signage import create_app
from signage.caching import cache
from signage.demo.school import DemoSchool
from signage.demo.server import FakeUntis
from signage.scheduler import build_sync

TZ = ZoneInfo("Europe/Berlin")
BOARDS = ("/board/overview", "/board/class/5a", "/board/room/R101")


def measure(requests: int = 200) -> dict[str, float]:
    """Return median render and 304 times (ms) and HTML sizes (bytes) for the boards."""
    now = datetime(2026, 11, 23, 8, 0, tzinfo=TZ).astimezone(UTC)
    fake = FakeUntis(TZ, clock=lambda: now).start()
    DemoSchool(fake)
    client_id, secret = fake.credentials
    app = create_app({"SOURCE": "untis", "UNTIS_URL": fake.url, "UNTIS_TENANT": fake.tenant,
                      "UNTIS_CLIENT_ID": client_id, "UNTIS_CLIENT_SECRET": secret})
    rt = app.extensions["signage"]
    rt.clock = lambda: now
    process = build_sync(rt)
    try:
        assert process.engine.run_cycle(now).outcome == "full"  # noqa: S101 - no data, no figure
        client = app.test_client()
        figures: dict[str, float] = {}
        for path in BOARDS:
            cold, warm, unchanged = [], [], []
            response = client.get(path)
            etag = response.headers["ETag"]
            for _ in range(requests):
                with app.app_context():
                    cache.clear()  # a cold render: as after a new snapshot version
                cold.append(_timed(client, path))
                warm.append(_timed(client, path))  # the same version: the render cache answers
                unchanged.append(_timed(client, path, {"If-None-Match": etag}, expect=304))
            median_cold = statistics.median(cold)
            figures[f"{path} cold render, median ms"] = median_cold * 1000
            figures[f"{path} cached 200, median ms"] = statistics.median(warm) * 1000
            figures[f"{path} 304, median ms"] = statistics.median(unchanged) * 1000
            figures[f"{path} 304 / cold render"] = statistics.median(unchanged) / median_cold
            figures[f"{path} HTML bytes"] = len(response.data)
        return figures
    finally:
        process.close()
        fake.stop()


def _timed(client, path: str, headers: dict | None = None, expect: int = 200) -> float:
    started = time.perf_counter()
    status = client.get(path, headers=headers or {}).status_code
    elapsed = time.perf_counter() - started
    assert status == expect, (path, status)  # noqa: S101 - a wrong answer is no figure
    return elapsed


def main() -> None:
    """Print the figures as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    print_table(measure(args.requests))


if __name__ == "__main__":
    main()
