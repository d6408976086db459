"""A process's kept copies of Redis data: the one mechanism the snapshot store and the registry
share.

- A copy stands without asking Redis while the process's `Gate` is closed (Redis did not answer
  a moment ago) or while the `Watch` says nothing was published since it was read (`current`).
- Reads of one copy are serialised (`refresh`): a thread that holds a copy does not wait for
  another thread's read of it and serves its copy meanwhile, unless this process wrote since
  (`forget`: it must read its own write).
- Each copy may be saved on this host (`save`, `load`: `{copy_dir}/{prefix}-{name}.json`, 0600),
  so a process that starts while Redis is away still has one.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from signage.store.files import write_private
from signage.store.gate import Gate
from signage.store.watch import Watch

log = logging.getLogger(__name__)

Stamp = tuple[int, float]


class Kept:
    """Stamps, read locks and the host file of a process's copies, by name."""

    def __init__(self, gate: Gate, watch: Watch | None = None, copy_dir: Path | None = None,
                 prefix: str = "signage") -> None:
        self.gate = gate
        self.watch = watch
        self._copy_dir = copy_dir
        self._prefix = prefix
        self._stamps: dict[str, Stamp] = {}
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    def lock(self, name: str) -> threading.Lock:
        """Return the lock that serialises reads and writes of one copy."""
        return self._locks[name]

    def stamp(self) -> Stamp | None:
        """Return the mark for a copy about to be read (take it before reading)."""
        return self.watch.stamp() if self.watch is not None else None

    def mark(self, name: str, stamp: Stamp | None) -> None:
        """Note that the copy was read under `stamp`."""
        if stamp is not None:
            self._stamps[name] = stamp

    def current(self, name: str) -> bool:
        """Tell whether the copy may be served without asking Redis."""
        if not self.gate.open:
            return True
        return self.watch is not None and self.watch.current(self._stamps.get(name))

    def refresh(self, name: str, read: Callable[[], None], held: bool) -> None:
        """Call `read` unless the copy is current; one thread at a time. A thread with a copy
        (`held`) does not wait for another's read, unless this process wrote since."""
        if self.current(name):
            return
        lock = self._locks[name]
        blocking = not held or self.watch is None or name not in self._stamps
        if not lock.acquire(blocking=blocking):
            return
        try:
            if not self.current(name):  # another thread may have just read it
                read()
        finally:
            lock.release()

    def forget(self, name: str) -> None:
        """Make the next read of the copy ask Redis (this process has just written it). Under
        the read lock: a read that began before the write must not leave its older copy marked
        current afterwards."""
        with self._locks[name]:
            self._stamps.pop(name, None)

    def save(self, name: str, raw: bytes) -> None:
        """Keep the copy's stored form on this host (nothing without a `copy_dir`)."""
        path = self.saved_path(name)
        if path is None:
            return
        try:
            write_private(path, raw)
        except OSError as exc:
            log.warning("store: cannot save the copy %s (%s)", path, exc.strerror or exc)

    def load(self, name: str) -> bytes | None:
        """Return the copy saved on this host (None: none saved, or unreadable, logged)."""
        path = self.saved_path(name)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.error("store: the saved copy %s cannot be read (%s)", path, exc.strerror or exc)
            return None

    def saved_path(self, name: str) -> Path | None:
        """Return where the copy is saved on this host (None: no `copy_dir`)."""
        return self._copy_dir / f"{self._prefix}-{name}.json" if self._copy_dir else None
