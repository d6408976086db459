"""The leader lease: of several sync processes sharing one Redis, exactly one polls.

`SET key token NX PX ttl` takes a free lease; the holder renews it (compare-and-expire in one
Lua script) before each cycle and deletes it on a clean shutdown (compare-and-delete). A holder
that dies stops renewing: the lease runs out after `ttl_s` and a standby takes it on its next
tick, continuing from the stored cursor.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket

import redis

log = logging.getLogger(__name__)

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Lease:
    """A Redis lease held by this process under a random token."""

    def __init__(self, client: redis.Redis, key: str, ttl_s: float) -> None:
        self._redis = client
        self.key = key
        self.ttl_ms = int(ttl_s * 1000)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self.held = False

    def acquire(self) -> bool:
        """Take or renew the lease; return whether this process is the leader now."""
        try:
            held = bool(self._redis.set(self.key, self.token, nx=True, px=self.ttl_ms)) or bool(
                self._renew(keys=[self.key], args=[self.token, self.ttl_ms]))
        except redis.RedisError as exc:
            # Without Redis nobody can be sure to lead: stand by rather than poll twice.
            log.warning("lease: Redis cannot be reached (%s); standing by", type(exc).__name__)
            held = False
        if held != self.held:
            log.info("lease: %s", "leading the sync" if held else "standing by")
        self.held = held
        return held

    def holder(self) -> str | None:
        """Return the token of the current leader (None when the lease is free)."""
        value = self._redis.get(self.key)
        return value.decode() if value is not None else None

    def release(self) -> None:
        """Give the lease up (on a clean shutdown), if this process holds it."""
        try:
            self._release(keys=[self.key], args=[self.token])
        except redis.RedisError:
            log.warning("lease: could not release; it runs out by itself")
        self.held = False
