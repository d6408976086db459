"""Where Redis is and how each part connects to it: one server (`SIGNAGE_REDIS_URL`) or the
primary that Redis Sentinel names (`SIGNAGE_REDIS_SENTINELS`, `SIGNAGE_REDIS_SENTINEL_MASTER`).

With Sentinel every client is redis-py's `Sentinel.master_for`: it asks the sentinels for the
primary when it connects and again after a connection error or a READONLY answer (a primary
demoted to replica), so the store, the change notices, the registry and the lease follow a
failover by themselves. The render cache uses Flask-Caching's `RedisSentinelCache` and the login
counter the `limits` library's `redis+sentinel://` storage: each library's own Sentinel support.
`SIGNAGE_REDIS_URL` then gives only the database number and the password (its host is not used).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import redis
from redis.backoff import NoBackoff
from redis.connection import parse_url
from redis.retry import Retry
from redis.sentinel import Sentinel

from signage.store.gate import FAST_TIMEOUT_S, REDIS_TIMEOUT_S

_SENTINEL = re.compile(r"(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})")


@dataclass(frozen=True)
class RedisTarget:
    """One Redis server by URL, or the primary of a Sentinel-watched group."""

    url: str | None = None  # the server; with sentinels only its database and password count
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str = "signage"

    def fast(self) -> redis.Redis:
        """Return a client for the request path: a short timeout, no retries."""
        return self._client(FAST_TIMEOUT_S, 0)

    def patient(self) -> redis.Redis:
        """Return a client for the sync process's writes and the lease: a longer timeout and
        one quick retry (a connection dropped by a restart or a failover is made again)."""
        return self._client(REDIS_TIMEOUT_S, 1)

    def notices(self) -> redis.Redis:
        """Return a client for the change notices: a lost connection must show at once."""
        return self._client(REDIS_TIMEOUT_S, 0)

    def _client(self, timeout_s: float, retries: int) -> redis.Redis:
        options = _timeouts(timeout_s, retries)
        if not self.sentinels:
            return redis.Redis.from_url(str(self.url), **options)
        sentinel = Sentinel(list(self.sentinels), sentinel_kwargs=_timeouts(timeout_s, 0),
                            **self._auth(), **options)
        return sentinel.master_for(self.master)

    def _auth(self) -> dict[str, Any]:
        """Return the database and credentials the URL gives (with sentinels)."""
        if not self.url:
            return {}
        given = parse_url(self.url)
        return {k: given[k] for k in ("db", "username", "password") if given.get(k) is not None}

    def cache_config(self, prefix: str) -> dict[str, Any]:
        """Return Flask-Caching's settings for the render cache on this Redis (request path)."""
        fast = _timeouts(FAST_TIMEOUT_S, 0)
        if not self.sentinels:
            return {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": self.url,
                    "CACHE_KEY_PREFIX": prefix, "CACHE_OPTIONS": fast}
        auth = self._auth()
        return {"CACHE_TYPE": "RedisSentinelCache",
                "CACHE_REDIS_SENTINELS": list(self.sentinels),
                "CACHE_REDIS_SENTINEL_MASTER": self.master,
                "CACHE_REDIS_PASSWORD": auth.get("password"),
                "CACHE_REDIS_DB": auth.get("db", 0), "CACHE_KEY_PREFIX": prefix,
                "CACHE_OPTIONS": {**fast, **{f"sentinel_{k}": v for k, v in
                                             _timeouts(FAST_TIMEOUT_S, 0).items()}}}

    def limits_storage(self, prefix: str) -> tuple[str, dict[str, Any]]:
        """Return the `limits` storage URI and options for the login counter (request path)."""
        options: dict[str, Any] = {"key_prefix": prefix, "wrap_exceptions": True,
                                   **_timeouts(FAST_TIMEOUT_S, 0)}
        if not self.sentinels:
            return str(self.url).replace("unix://", "redis+unix://", 1), options
        hosts = ",".join(f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                         for host, port in self.sentinels)
        auth = self._auth()
        options.update(use_replicas=False, db=auth.get("db", 0),
                       sentinel_kwargs=_timeouts(FAST_TIMEOUT_S, 0))
        if auth.get("password"):
            options["password"] = auth["password"]
        return f"redis+sentinel://{hosts}/{quote(self.master, safe='')}", options


def _timeouts(timeout_s: float, retries: int) -> dict[str, Any]:
    """Return redis-py's connection options for a timeout and a number of retries. Every
    connection, the sentinels' too, gets them: redis-py's default retries a refused or silent
    server three times with a back-off of up to seconds (a sentinel need not be retried: the
    next one in the list is asked)."""
    return {"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s,
            "retry": Retry(NoBackoff(), retries)}


def parse_sentinels(value: str) -> tuple[tuple[str, int], ...] | None:
    """Return the `host:port` pairs of a comma-separated list (an IPv6 host in brackets), None
    when one is malformed."""
    pairs = []
    for item in (part.strip() for part in value.split(",")):
        found = _SENTINEL.fullmatch(item)
        if found is None or not 0 < int(found["port"]) < 65536:
            return None
        pairs.append((found["host"].strip("[]"), int(found["port"])))
    return tuple(pairs) or None
