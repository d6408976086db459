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
import threading
from pathlib import Path
from typing import Any

import redis

from signage.store import StoreError
from signage.store.files import write_private
from signage.store.gate import Gate
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
        self._copy_dir = copy_dir
        self._prefix = prefix
        self._watch = watch
        self._channel = channel_of(prefix)
        self._copy: dict[str, dict[str, dict[str, Any]]] = {}
        self._stamps: dict[str, tuple[int, float]] = {}
        self._reading = threading.Lock()
        self._gate = gate or Gate()
        if watch is not None:
            watch.on_change(self._prefetch)

    def _prefetch(self) -> None:
        # Read the kept collections again when a notice comes, before requests learn of it.
        for collection in KEPT & self._copy.keys():
            with self._reading:
                self._read(collection)

    def items(self, collection: str) -> dict[str, dict[str, Any]]:
        """Return one collection's documents by id (the last good copy if Redis is away)."""
        if not self._known(collection):
            # With a copy, a request does not wait for another thread's read: it serves the
            # copy; unless this process wrote since (its stamp is gone): it reads its write.
            if self._reading.acquire(blocking=collection not in self._copy
                                     or collection not in self._stamps):
                try:
                    if not self._known(collection):
                        self._read(collection)
                finally:
                    self._reading.release()
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
        return (self._watch is not None and collection in KEPT
                and self._watch.current(self._stamps.get(collection)))

    def _read(self, collection: str) -> None:
        stamp = self._watch.stamp() if self._watch is not None else None
        try:
            if not self._gate.open:
                raise redis.ConnectionError("resting after a failed call")
            raw = self._redis.hgetall(self._key(collection))
        except redis.RedisError as exc:
            if self._gate.open:
                self._gate.failed(exc)
            if stamp is not None:  # not again at once (a timeout each time), but soon
                self._stamps[collection] = (-1, stamp[1])
            if collection in KEPT and collection not in self._copy:
                self._restore(collection)
            return
        self._gate.passed()
        documents = {}
        for key, value in raw.items():
            try:
                documents[key.decode()] = json.loads(value)
            except ValueError:
                log.error("registry: %s %r is not JSON; skipped", collection, key)
        if collection in KEPT and documents != self._copy.get(collection):
            self._save(collection, documents)
        self._copy[collection] = documents
        if stamp is not None:
            self._stamps[collection] = stamp

    def _path(self, collection: str) -> Path | None:
        return self._copy_dir / f"{self._prefix}-{collection}.json" if self._copy_dir else None

    def _save(self, collection: str, documents: dict[str, dict[str, Any]]) -> None:
        """Keep a kept collection on this host (`copy_dir`): a process that starts while Redis
        is away still knows its screens (else a paired screen's poll would be told to pair
        again) and announcements."""
        path = self._path(collection)
        if path is not None:
            try:
                write_private(path, json.dumps(documents).encode())
            except OSError as exc:
                log.warning("registry: cannot save the copy %s (%s)", path, exc.strerror or exc)

    def _restore(self, collection: str) -> None:
        """Serve the collection saved on this host: Redis is away and this process has none."""
        path = self._path(collection)
        if path is None:
            return
        try:
            documents = json.loads(path.read_bytes())
            if not isinstance(documents, dict) or not all(isinstance(d, dict)
                                                          for d in documents.values()):
                raise ValueError("not an object of documents")
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.error("registry: the saved copy %s cannot be read (%s)", path, exc)
            return
        self._copy[collection] = documents
        log.warning("registry: Redis cannot be reached; serving the %s saved on this host",
                    collection)

    def _write(self, collection: str, action) -> None:
        if not self._gate.open:
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
            self._gate.passed()
        except redis.RedisError as exc:
            self._gate.failed(exc)
            raise StoreError(f"Redis unreachable: {type(exc).__name__}") from exc
        finally:
            # Read our own write next time, not only once its notice has come back. Under the
            # read lock: a listener's read that began before the write must not leave its
            # older copy marked current afterwards.
            with self._reading:
                self._stamps.pop(collection, None)

    def _key(self, collection: str) -> str:
        return f"{self._prefix}:registry:{collection}"
