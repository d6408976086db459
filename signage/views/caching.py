"""Rendered boards cached with Flask-Caching: on Redis when the store is (shared by all workers),
in memory in embedded mode. Keys are the boards' ETags, which name the snapshot version and
everything else a page depends on, so an entry never needs invalidating: it just stops being asked
for. On Redis, each worker also keeps the pages it served last (`LOCAL_ENTRIES`), so a board's
200 costs no Redis round trip either. A cache that fails is skipped, never an error on a screen:
its client has the request path's short timeout and no retries, and a failure closes the
process's `Gate` (see `signage.store.gate`), so no request tries the cache during the back-off."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

import redis
from flask import Flask, current_app
from flask_caching import Cache

from signage.config import Settings
from signage.store.gate import Gate

log = logging.getLogger(__name__)

cache = Cache()
RENDER_TTL_S = 600
LOCAL_ENTRIES = 128  # pages per worker: every board and language in use, a few versions deep
RENDER_WAIT_S = 5.0  # how long a request waits for another thread's render of its page
RECENT = "signage_recent_pages"
RENDERS = "signage_renders"


class _Recent:
    """The pages this process served last, by key (least recently used out first)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._pages: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: str, page: str) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)



class _Renders:
    """The renders under way in this process, by key: one render per page, not one per request
    (after a new version every kiosk asks for the same page at once)."""

    def __init__(self) -> None:
        self._running: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def join(self, key: str) -> threading.Event | None:
        """Return the event of a render of `key` under way; None: the caller renders it."""
        with self._lock:
            running = self._running.get(key)
            if running is None:
                self._running[key] = threading.Event()
            return running

    def done(self, key: str) -> None:
        """Tell the waiting requests that the render of `key` has finished (or failed)."""
        with self._lock:
            self._running.pop(key).set()


def init_cache(app: Flask, settings: Settings) -> None:
    """Bind the cache to the app: on Redis (one server or Sentinel's primary) when the store is,
    else in this process's memory."""
    config = {"CACHE_DEFAULT_TIMEOUT": RENDER_TTL_S}
    # In memory (embedded mode) the cache itself is this process's: no second layer.
    app.extensions[RECENT] = _Recent(LOCAL_ENTRIES) if settings.redis else None
    app.extensions[RENDERS] = _Renders()
    if settings.redis:
        config.update(settings.redis.cache_config(f"{settings.redis_prefix}:render:"))
    else:
        config.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=500)
    cache.init_app(app, config=config)


def page(gate: Gate, key: str, render: Callable[[], str]) -> str:
    """Return the page cached under `key`, else render and keep it; requests that ask for a
    page while this process renders it wait for that render."""
    html = cached(gate, key)
    if html is not None:
        return html
    renders = current_app.extensions[RENDERS]
    running = renders.join(key)
    if running is not None:
        running.wait(RENDER_WAIT_S)
        html = cached(gate, key)
        return html if html is not None else render()  # that render failed: our own
    try:
        # A render of this page in this process may have ended between our first look and
        # joining: it left the page here (no second round trip to Redis for it).
        html = _local(key)
        if html is None:
            html = render()
            keep(gate, key, html)
        return html
    finally:
        renders.done(key)


def _local(key: str) -> str | None:
    """Return a page this process rendered and keeps itself, None when it has none."""
    recent = current_app.extensions[RECENT]
    if recent is not None:
        return recent.get(key)
    return cache.get(key)  # embedded mode: the cache is this process's memory


def cached(gate: Gate, key: str) -> str | None:
    """Return a rendered page, None when absent or when the cache cannot be reached."""
    recent = current_app.extensions[RECENT]
    if recent is not None and (page := recent.get(key)) is not None:
        return page
    if not gate.open:
        return None  # Redis does not answer: do not wait for its timeout on every request
    try:
        page = cache.get(key)
    except (redis.RedisError, OSError) as exc:
        gate.failed(exc)
        log.warning("render cache unavailable (%s)", type(exc).__name__)
        return None
    if recent is not None and page is not None:
        recent.put(key, page)
    return page


def keep(gate: Gate, key: str, html: str) -> None:
    """Keep a rendered page for the next request with the same ETag (best effort)."""
    recent = current_app.extensions[RECENT]
    if recent is not None:
        recent.put(key, html)
    if not gate.open:
        return
    try:
        cache.set(key, html)
    except (redis.RedisError, OSError) as exc:
        gate.failed(exc)
        log.warning("render cache unavailable (%s)", type(exc).__name__)
