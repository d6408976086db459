"""The registry on Redis: one hash per collection, `{prefix}:registry:{collection}`, one JSON
document per field. Shared by every worker and host; no expiry (heartbeats are overwritten).

Writes publish on `{prefix}:changed` (heartbeats aside: they come with every kiosk poll). With
a `Watch`, readers keep the collections that requests read (`KEPT`: a board's announcements, a
screen's display) in the process until a change is published (see `signage.store.watch`), so they
cost no Redis round trip per request; the others are always read from Redis, and so is a
collection this process has just written.

Every call asks the process's `Gate` first (see `signage.store.gate`): while Redis does not
answer, reads serve the copy (or this host's saved copy) without trying, a heartbeat is dropped,
and other writes fail at once with `StoreError`, so a request never waits on Redis.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import redis

from signage.store import StoreError
from signage.store.gate import Gate
from signage.store.kept import Kept
from signage.store.registry import VOLATILE
from signage.store.watch import Watch, channel_of

log = logging.getLogger(__name__)

KEPT = frozenset({"announcements", "displays"})  # read by every board request or screen poll


class RedisRegistry:
    """A `Registry` on Redis that answers its last good copy while Redis is away."""

    def __init__(self, client: redis.Redis, prefix: str = "signage",
                 watch: Watch | None = None, copy_dir: Path | None = None,
                 gate: Gate | None = None) -> None:
        self._redis = client
        self._prefix = prefix
        self._watch = watch
        self._channel = channel_of(prefix)
        self._copy: dict[str, dict[str, dict[str, Any]]] = {}
        self._kept = Kept(gate or Gate(), watch, copy_dir, prefix)  # see signage.store.kept
        if watch is not None:
            watch.on_change(self._prefetch)

    def _prefetch(self) -> None:
        # Read the kept collections again when a notice comes, before requests learn of it.
        for collection in KEPT & self._copy.keys():
            with self._kept.lock(collection):
                self._read(collection)

    def items(self, collection: str) -> dict[str, dict[str, Any]]:
        """Return one collection's documents by id (the last good copy if Redis is away)."""
        if collection in KEPT and collection in self._copy:
            self._kept.refresh(collection, lambda: self._read(collection), held=True)
        else:  # never read yet, or not kept between requests (heartbeats, pairings)
            with self._kept.lock(collection):
                self._read(collection)
        return dict(self._copy.get(collection, {}))

    def readable(self, collection: str) -> bool:
        """Tell whether this process holds the collection: read from Redis or from this host's
        saved copy (False: Redis is away and `items` answers empty for want of any copy)."""
        return collection in self._copy

    def put(self, collection: str, key: str, document: dict[str, Any]) -> None:
        """Store one document, replacing the one with the same id."""
        self._write(collection, lambda pipe: pipe.hset(self._key(collection), key,
                                                       json.dumps(document)))

    def delete(self, collection: str, key: str) -> None:
        """Remove one document (nothing happens when there is none)."""
        self._write(collection, lambda pipe: pipe.hdel(self._key(collection), key))

    def _known(self, collection: str) -> bool:
        return collection in KEPT and self._kept.current(collection)

    def _read(self, collection: str) -> None:
        stamp = self._kept.stamp()
        try:
            if not self._kept.gate.open:
                raise redis.ConnectionError("resting after a failed call")
            raw = self._redis.hgetall(self._key(collection))
        except redis.RedisError as exc:
            if self._kept.gate.open:
                self._kept.gate.failed(exc)
            if stamp is not None:  # not again at once (a timeout each time), but soon
                self._kept.mark(collection, (-1, stamp[1]))
            if collection in KEPT and collection not in self._copy:
                self._restore(collection)
            return
        self._kept.gate.passed()
        documents = {}
        for key, value in raw.items():
            try:
                documents[key.decode()] = json.loads(value)
            except ValueError:
                log.error("registry: %s %r is not JSON; skipped", collection, key)
        if collection in KEPT and documents != self._copy.get(collection):
            # On this host too: a process that starts while Redis is away still knows its
            # screens (else a paired screen's poll would be told to pair again).
            self._kept.save(collection, json.dumps(documents).encode())
        self._copy[collection] = documents
        self._kept.mark(collection, stamp)

    def _restore(self, collection: str) -> None:
        """Serve the collection saved on this host: Redis is away and this process has none."""
        raw = self._kept.load(collection)
        if raw is None:
            return
        try:
            documents = json.loads(raw)
            if not isinstance(documents, dict) or not all(isinstance(d, dict)
                                                          for d in documents.values()):
                raise ValueError("not an object of documents")
        except ValueError as exc:
            log.error("registry: the saved copy %s cannot be read (%s)",
                      self._kept.saved_path(collection), exc)
            return
        self._copy[collection] = documents
        log.warning("registry: Redis cannot be reached; serving the %s saved on this host",
                    collection)

    def _write(self, collection: str, action) -> None:
        if not self._kept.gate.open:
            if collection in VOLATILE:
                return  # a heartbeat: the next poll brings another
            raise StoreError("Redis unreachable: it did not answer a moment ago; try again in "
                             "a few seconds")
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                action(pipe)
                if collection not in VOLATILE:
                    pipe.publish(self._channel, collection)
                pipe.execute()
            self._kept.gate.passed()
        except redis.RedisError as exc:
            self._kept.gate.failed(exc)
            raise StoreError(f"Redis unreachable: {type(exc).__name__}") from exc
        finally:
            self._kept.forget(collection)  # read our own write next time, not at its notice

    def _key(self, collection: str) -> str:
        return f"{self._prefix}:registry:{collection}"
