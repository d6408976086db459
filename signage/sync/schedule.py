"""When the sync polls: the schedule (in and outside school hours, the nightly full reload) and
the back-off after failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time as clock_time

MAX_BACKOFF_S = 900


@dataclass(frozen=True)
class Schedule:
    """How often to poll (`refresh_s` in school hours, `idle_refresh_s` outside them), and when
    the full reload that reconciles the delta-kept copy runs."""

    refresh_s: float
    idle_refresh_s: float
    school_hours: tuple[clock_time, clock_time]
    full_reload_at: clock_time  # school-local time of the nightly full reload


def backoff_s(failures: int, refresh_s: float, retry_after_s: float | None = None) -> float:
    """Return how long to wait before the next try: doubling per failure, at least Retry-After."""
    wait = 0.0 if failures <= 1 else min(refresh_s * 2 ** (failures - 1), MAX_BACKOFF_S)
    return max(wait, retry_after_s or 0.0)
