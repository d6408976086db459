"""What one app instance shares between its views and its sync process: settings, store, clock."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from signage.config import Settings
from signage.store import Store
from signage.store.gate import Gate
from signage.store.registry import MemoryRegistry, Registry


def utc_now() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass
class Runtime:
    """The app's settings, its store, the admins' registry (displays, announcements), the
    clock the edges read (tests pass a frozen one), and the gate in front of Redis."""

    settings: Settings
    store: Store
    registry: Registry = field(default_factory=MemoryRegistry)
    clock: Callable[[], datetime] = field(default=utc_now)
    responses: Counter[int] = field(default_factory=Counter)  # this process's, by status
    gate: Gate = field(default_factory=Gate)  # whether requests may try Redis now
