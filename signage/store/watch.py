"""Change notices over Redis pub/sub, so a process may keep copies of Redis data.

Writers publish on one channel (`{prefix}:changed`) in the same atomic step as their write. A
`Watch` tells this process's readers whether a copy they read earlier is still current: a daemon
thread subscribes to the channel, and every message and every (re)subscription moves an epoch
on. A copy read at the current epoch is current while the subscription is live; without a live
subscription (not yet, or lost) a copy stands for at most `FALLBACK_READ_S`, so a change shows
within about a second either way. The thread starts with the first reader of each process
(after gunicorn's fork, never in the app factory), pings a quiet channel, resubscribes after an
error, and ends when its Watch is closed or no longer used.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

FALLBACK_READ_S = 1.0  # without a live subscription, a copy stands this long
LISTEN_S = 1.0  # the subscriber wakes this often (to notice a dropped Watch)
PING_S = 5.0  # a channel quiet this long is pinged; no answer in as long again: lost
RESUBSCRIBE_S = 1.0  # after a lost subscription, try again this often


def channel_of(prefix: str) -> str:
    """Return the channel the writers under a key prefix publish their changes on."""
    return f"{prefix}:changed"


class Watch:
    """Tells a process's readers whether their copies of Redis data may still be current.

    Give it a client without retries (see `signage.create_app`), so a lost connection shows at
    once instead of after the client's own reconnection attempts.
    """

    def __init__(self, client: redis.Redis, channel: str,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.channel = channel
        self.monotonic = monotonic
        self._state = (0, False)  # (epoch, live), swapped as one: read without a lock
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._listeners: list[Callable[[], None]] = []
        self._notice = threading.local()  # the epoch a notice being handled will open

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` in the watching thread on each notice, before readers learn of it:
        what it reads from Redis (a new snapshot, say) is current once they do, and until
        then they go on with their copies, without waiting for it."""
        self._listeners.append(listener)

    def close(self) -> None:
        """Stop listening (the thread ends within LISTEN_S); copies then stand a second each."""
        self._closed.set()

    def stamp(self) -> tuple[int, float]:
        """Return the mark for a copy about to be read from Redis (take it before reading)."""
        # A listener reads after the notice it handles was published: its copy belongs to the
        # epoch that notice opens.
        opening = getattr(self._notice, "epoch", None)
        epoch = opening if opening is not None else self._current_state()[0]
        return epoch, self.monotonic()

    def current(self, stamp: tuple[int, float] | None) -> bool:
        """Tell whether a copy read under `stamp` may be served without asking Redis."""
        epoch, live = self._current_state()
        if stamp is None:
            return False
        if live:  # a listener's copy may belong to the epoch its notice is about to open
            return stamp[0] >= epoch
        return self.monotonic() - stamp[1] < FALLBACK_READ_S

    @property
    def live(self) -> bool:
        """Tell whether the subscription is up (messages reach this process)."""
        return self._state[1]

    def _current_state(self) -> tuple[int, bool]:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():  # first use in this process (or after a fork)
                    self._pid = os.getpid()
                    self._state = (self._state[0] + 1, False)
                    threading.Thread(target=_listen, args=(weakref.ref(self),),
                                     name="signage-watch", daemon=True).start()
        return self._state

    def _heard(self, message: dict) -> None:
        if message["type"] not in ("subscribe", "message"):
            return
        epoch, live = self._state
        self._notice.epoch = epoch + 1
        try:
            for listener in self._listeners:
                try:
                    listener()
                except Exception:  # a loop boundary: a failing listener must not end notices
                    log.exception("store: a change listener failed")
        finally:
            self._notice.epoch = None
        # After a (re)subscription, changes made while away may have been missed: copies read
        # before now are stale either way.
        self._state = (epoch + 1, live or message["type"] == "subscribe")

    def _lost(self) -> None:
        self._state = (self._state[0] + 1, False)


def _listen(ref: weakref.ReferenceType[Watch]) -> None:
    """Subscribe and listen until the Watch is closed or gone (holding it only briefly)."""
    pid = os.getpid()
    while (watch := _open(ref, pid)) is not None:
        client, channel, was_live = watch.client, watch.channel, watch.live
        del watch
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(channel)
            quiet_since, pinged = time.monotonic(), False
            while _open(ref, pid) is not None:
                message = pubsub.get_message(timeout=LISTEN_S)
                if message is None:
                    if time.monotonic() - quiet_since < PING_S:
                        continue
                    if pinged:
                        raise redis.ConnectionError("no answer to PING")
                    pubsub.ping()
                    quiet_since, pinged = time.monotonic(), True
                    continue
                quiet_since, pinged = time.monotonic(), False
                if (watch := _open(ref, pid)) is not None:
                    watch._heard(message)
                    was_live = watch.live
                    del watch
        except (redis.RedisError, OSError, ValueError) as exc:  # ValueError: closed under us
            if was_live and _open(ref, pid) is not None:
                log.warning("store: lost the change notices (%s); reading Redis every %.0f s "
                            "until they are back", type(exc).__name__, FALLBACK_READ_S)
        except Exception:  # a loop boundary: the thread must outlive one odd message
            log.exception("store: the change notices failed; subscribing again")
        finally:
            if (watch := ref()) is not None:
                watch._lost()
                del watch
            pubsub.close()
        if _open(ref, pid) is not None:
            time.sleep(RESUBSCRIBE_S)


def _open(ref: weakref.ReferenceType[Watch], pid: int) -> Watch | None:
    """Return the Watch while this process's thread should listen for it, else None."""
    watch = ref()
    if watch is None or watch._pid != pid or watch._closed.is_set():
        return None
    return watch
