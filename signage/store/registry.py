"""What admins configure: displays, pairings, heartbeats and announcements, as JSON documents.

A `Registry` holds collections (`displays`, `pairings`, `heartbeats`, `announcements`, and
`checks`: the admin's connection check, see `signage.store.checks`) of documents keyed by id.
`MemoryRegistry` serves the embedded mode and keeps everything but the heartbeats in a JSON
file (written atomically, read on first use), so paired screens survive a restart;
`RedisRegistry` (in `registry_redis`) shares them between workers and hosts.
Reads never fail: a registry that cannot read answers its last good copy. Writes raise
`StoreError`, so an admin sees that a change was not saved.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any, Protocol

from signage.store import StoreError
from signage.store.files import write_private

log = logging.getLogger(__name__)

COLLECTIONS = ("displays", "pairings", "heartbeats", "announcements", "checks")
VOLATILE = frozenset({"heartbeats"})  # rewritten every poll: not worth a file write each time


class Registry(Protocol):
    """Collections of JSON documents keyed by id."""

    def items(self, collection: str) -> dict[str, dict[str, Any]]: ...
    def put(self, collection: str, key: str, document: dict[str, Any]) -> None: ...
    def delete(self, collection: str, key: str) -> None: ...
    def readable(self, collection: str) -> bool: ...


class MemoryRegistry:
    """A `Registry` in this process, persisted to `path` (None: memory only, for tests)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, dict[str, Any]]] | None = None

    def readable(self, collection: str) -> bool:
        """Tell whether `items` answers what is stored (always: the file is this process's)."""
        return True

    def items(self, collection: str) -> dict[str, dict[str, Any]]:
        """Return a copy of one collection's documents by id."""
        with self._lock:
            return {k: dict(v) for k, v in self._loaded()[collection].items()}

    def put(self, collection: str, key: str, document: dict[str, Any]) -> None:
        """Store one document, replacing the one with the same id."""
        with self._lock:
            self._loaded()[collection][key] = dict(document)
            if collection not in VOLATILE:
                self._save()

    def delete(self, collection: str, key: str) -> None:
        """Remove one document (nothing happens when there is none)."""
        with self._lock:
            if self._loaded()[collection].pop(key, None) is not None and collection not in VOLATILE:
                self._save()

    def _loaded(self) -> dict[str, dict[str, dict[str, Any]]]:
        if self._data is None:
            self._data = {name: {} for name in COLLECTIONS}
            if self._path is not None and self._path.exists():
                try:
                    stored = json.loads(self._path.read_text(encoding="utf-8"))
                    for name in COLLECTIONS:
                        self._data[name].update(stored.get(name, {}))
                except (OSError, ValueError, AttributeError) as exc:
                    # Start empty rather than not at all; the broken file stays for a human.
                    log.error("cannot read %s (%s); starting without displays", self._path, exc)
        return self._data

    def _save(self) -> None:
        if self._path is None or self._data is None:
            return
        kept = {k: v for k, v in self._data.items() if k not in VOLATILE}
        try:  # private: it holds token hashes
            write_private(self._path, json.dumps(kept, indent=1, sort_keys=True).encode())
        except OSError as exc:
            raise StoreError(f"cannot save {self._path}: {exc.strerror or exc}") from exc
