"""The registry on Redis: one hash per collection, `{prefix}:registry:{collection}`, one JSON
document per field. Shared by every worker and host; no expiry (heartbeats are overwritten)."""

from __future__ import annotations

import json
import logging
from typing import Any

import redis

from signage.store import StoreError

log = logging.getLogger(__name__)


class RedisRegistry:
    """A `Registry` on Redis that answers its last good copy while Redis is away."""

    def __init__(self, client: redis.Redis, prefix: str = "signage") -> None:
        self._redis = client
        self._prefix = prefix
        self._copy: dict[str, dict[str, dict[str, Any]]] = {}
        self._failing = False

    def items(self, collection: str) -> dict[str, dict[str, Any]]:
        """Return one collection's documents by id (the last good copy if Redis is away)."""
        try:
            raw = self._redis.hgetall(self._key(collection))
        except redis.RedisError as exc:
            if not self._failing:
                log.warning("registry: Redis unreachable (%s); using the last copy", exc)
            self._failing = True
            return dict(self._copy.get(collection, {}))
        self._failing = False
        documents = {}
        for key, value in raw.items():
            try:
                documents[key.decode()] = json.loads(value)
            except ValueError:
                log.error("registry: %s %r is not JSON; skipped", collection, key)
        self._copy[collection] = documents
        return dict(documents)

    def put(self, collection: str, key: str, document: dict[str, Any]) -> None:
        """Store one document, replacing the one with the same id."""
        self._write(lambda: self._redis.hset(self._key(collection), key, json.dumps(document)))

    def delete(self, collection: str, key: str) -> None:
        """Remove one document (nothing happens when there is none)."""
        self._write(lambda: self._redis.hdel(self._key(collection), key))

    def _write(self, action) -> None:
        try:
            action()
        except redis.RedisError as exc:
            raise StoreError(f"Redis unreachable: {exc}") from exc

    def _key(self, collection: str) -> str:
        return f"{self._prefix}:registry:{collection}"
