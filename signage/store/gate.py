"""How a process's requests use Redis without ever waiting on it.

A Redis that stops answering (a long fork or save, a partition without resets, a paused VM, a
Sentinel promotion) keeps its connections open: without care every request would wait for a
socket timeout, and redis-py's default retries would multiply it. So:

- Request-path clients (`RedisTarget.fast` in signage.store.connect) have a short timeout
  (`FAST_TIMEOUT_S`) and no retries: the first request after Redis hangs waits that long once.
- One `Gate` per process: every Redis call on the request path asks it first (`open`) and tells
  it how the call went. A call that fails closes the gate for `BACKOFF_S`; meanwhile no request
  tries Redis: the store and registry answer their copies, the render cache is skipped, heartbeats
  are dropped. The first call after the back-off tries again, and one answer opens the gate.
- The sync process's writes and the lease keep a patient client (`REDIS_TIMEOUT_S`): they are
  not on any request's path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

FAST_TIMEOUT_S = 0.25  # a request-path call to Redis gives up after this
BACKOFF_S = 5.0  # after a failed call, no request tries Redis for this long
REDIS_TIMEOUT_S = 2.0  # the sync process's writes and the lease


class Gate:
    """Whether this process's requests may try Redis now (closed for a while after a failure)."""

    def __init__(self, backoff_s: float = BACKOFF_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._backoff_s = backoff_s
        self._monotonic = monotonic
        self._until = 0.0
        self._failing = False
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        """Tell whether a request may try Redis now (False during the back-off)."""
        return self._monotonic() >= self._until

    @property
    def reachable(self) -> bool:
        """Tell whether Redis answered the last call."""
        return not self._failing

    def failed(self, exc: BaseException) -> None:
        """Note a call that got no good answer: close the gate for the back-off."""
        with self._lock:
            self._until = self._monotonic() + self._backoff_s
            first = not self._failing
            self._failing = True
        if first:
            log.warning("Redis does not answer (%s): requests are served from this process's "
                        "copies; trying again every %.0f s", type(exc).__name__, self._backoff_s)

    def passed(self) -> None:
        """Note a call that Redis answered."""
        with self._lock:
            was_failing, self._failing = self._failing, False
        if was_failing:
            log.info("Redis answers again")
