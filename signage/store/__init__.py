"""The snapshot store: the one place the sync process writes and the views read.

Contract (a Redis store follows with the same methods):
- `current()` returns `(version, snapshot)` read together; the snapshot is None before the first
  successful sync. `snapshot()` and `version()` return one half each.
- The version is an integer that changes whenever the snapshot's content changes; views key
  their ETags on it. Writing an identical snapshot keeps the version.
- `replace(snapshot)` swaps the whole snapshot at once: a reader sees the old or the new one,
  never a mix. It returns the version now current.
- `status()` / `write_status(status)` hold the sync status (last success, last error, cursor).
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import TYPE_CHECKING, Protocol

from signage.domain.model import CycleRecord, Snapshot, SyncStatus

if TYPE_CHECKING:
    from signage.store.lease import Lease

HISTORY_LENGTH = 50  # cycles kept for /status


class StoreError(Exception):
    """The store could not be written (e.g. Redis unreachable); nothing was half-written."""


class Store(Protocol):
    """What the sync engine writes and the views read; memory and Redis implement it."""

    def current(self) -> tuple[int, Snapshot | None]: ...
    def snapshot(self) -> Snapshot | None: ...
    def version(self) -> int: ...
    def replace(self, snapshot: Snapshot) -> int: ...
    def status(self) -> SyncStatus: ...
    def write_status(self, status: SyncStatus) -> None: ...
    def record_cycle(self, record: CycleRecord) -> None: ...
    def history(self) -> list[CycleRecord]: ...
    def counters(self) -> dict[str, dict[str, int]]: ...
    def leader(self) -> str | None: ...
    def lease(self, ttl_s: float) -> Lease | None: ...
    @property
    def reachable(self) -> bool: ...


class MemoryStore:
    """An in-process store for embedded mode and tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: tuple[int, Snapshot | None] = (0, None)
        self._status = SyncStatus()
        self._history: deque[CycleRecord] = deque(maxlen=HISTORY_LENGTH)
        self._counters: dict[str, Counter[str]] = {"cycles": Counter(), "requests": Counter()}

    def current(self) -> tuple[int, Snapshot | None]:
        """Return the version and the snapshot it belongs to, read together."""
        return self._current

    def snapshot(self) -> Snapshot | None:
        """Return the current snapshot, None before the first successful sync."""
        return self._current[1]

    def version(self) -> int:
        """Return the content version (0 before the first snapshot)."""
        return self._current[0]

    def replace(self, snapshot: Snapshot) -> int:
        """Swap in a new snapshot atomically; bump the version when the content differs."""
        with self._lock:
            version, old = self._current
            if snapshot is not old and snapshot != old:
                # One tuple assignment: readers get the old pair or the new one, never a mix.
                self._current = (version + 1, snapshot)
            return self._current[0]

    def status(self) -> SyncStatus:
        """Return the last written sync status."""
        return self._status

    def write_status(self, status: SyncStatus) -> None:
        """Record the sync status."""
        self._status = status

    def record_cycle(self, record: CycleRecord) -> None:
        """Keep a cycle for the history and count it and its upstream requests."""
        with self._lock:
            self._history.appendleft(record)
            self._counters["cycles"][record.outcome] += 1
            self._counters["requests"].update(record.requests)

    def history(self) -> list[CycleRecord]:
        """Return the last cycles, newest first."""
        return list(self._history)

    def counters(self) -> dict[str, dict[str, int]]:
        """Return the totals: cycles by outcome, upstream requests by endpoint and status."""
        with self._lock:
            return {name: dict(counter) for name, counter in self._counters.items()}

    def leader(self) -> str | None:
        """Return who syncs: in memory always this process."""
        return "embedded"

    def lease(self, ttl_s: float) -> Lease | None:
        """Return no lease: in memory this process is the only writer."""
        return None

    @property
    def reachable(self) -> bool:
        """Tell whether the store answers (memory always does)."""
        return True
