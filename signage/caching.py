"""Rendered boards cached with Flask-Caching: on Redis when the store is (shared by all workers),
in memory in embedded mode. Keys are the boards' ETags, which name the snapshot version and
everything else a page depends on, so an entry never needs invalidating: it just stops being asked
for. A cache that fails is skipped, never an error on a screen."""

from __future__ import annotations

import logging

import redis
from flask import Flask
from flask_caching import Cache

from signage.config import Settings
from signage.store import Store

log = logging.getLogger(__name__)

cache = Cache()
RENDER_TTL_S = 600
REDIS_TIMEOUT_S = 2.0


def init_cache(app: Flask, settings: Settings) -> None:
    """Bind the cache to the app: Redis with SIGNAGE_REDIS_URL, else this process's memory."""
    config = {"CACHE_DEFAULT_TIMEOUT": RENDER_TTL_S}
    if settings.redis_url:
        config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=settings.redis_url,
                      CACHE_KEY_PREFIX=f"{settings.redis_prefix}:render:",
                      CACHE_OPTIONS={"socket_timeout": REDIS_TIMEOUT_S,
                                     "socket_connect_timeout": REDIS_TIMEOUT_S})
    else:
        config.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=500)
    cache.init_app(app, config=config)


def cached(store: Store, key: str) -> str | None:
    """Return a rendered page, None when absent or when the cache cannot be reached."""
    if not store.reachable:
        return None  # Redis is away: do not wait for its timeout on every request
    try:
        return cache.get(key)
    except (redis.RedisError, OSError) as exc:
        log.warning("render cache unavailable (%s)", type(exc).__name__)
        return None


def keep(store: Store, key: str, html: str) -> None:
    """Keep a rendered page for the next request with the same ETag (best effort)."""
    if not store.reachable:
        return
    try:
        cache.set(key, html)
    except (redis.RedisError, OSError) as exc:
        log.warning("render cache unavailable (%s)", type(exc).__name__)
