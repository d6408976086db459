"""The snapshot store on Redis: one writer (the sync process), any number of readers (workers).

Keys under a prefix, none with an expiry:
- `{prefix}:snapshot`: JSON `{"version": n, "snapshot": {...}}` (schema-versioned, see codec),
  each of its periods a JSON text of its own (schema 2, see codec): readers decode only the
  texts they do not hold;
- `{prefix}:version`: the bare version, so readers check for news without loading the snapshot;
- `{prefix}:status`: the sync status (last success, last error, cursor), so a restarted sync
  process continues with a delta;
- `{prefix}:changed`: a pub/sub channel; every write of the snapshot, the status or the registry
  (heartbeats aside) publishes on it, in the same atomic step as the write.
Snapshot and version are written, and the notice published, in one Lua script: a reader sees the
old pair or the new one. With the leader lease taken through `lease`, that script also checks
that the lease still holds this process's token (a fenced write): after a Sentinel failover a
stale leader writes nothing.
Readers keep their last good copy and answer from it while Redis cannot be reached (asking again
every `RETRY_AFTER_S`, so requests never wait for a timeout each); writes raise `StoreError` so
the sync cycle fails (and is retried) without losing anything. With a `copy_dir`, every snapshot
and status read or written is also saved on the host (`{prefix}-snapshot.json`,
`{prefix}-status.json`, 0600), and a process that starts while Redis is away serves that.

With a `Watch` (the app gives its store and registry one), readers also answer from their copy
while Redis can be reached: the copy stands until something is published, so a kiosk's 304 costs
no Redis round trip (see `signage.store.watch`). Reads that do go to Redis are serialised per
process, so a worker never goes back to a version older than one it has served.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import redis

from signage.domain.model import CycleRecord, Snapshot, SyncStatus
from signage.store import HISTORY_LENGTH, StoreError
from signage.store.codec import (
    PeriodTexts,
    SchemaError,
    record_from_json,
    record_to_json,
    status_from_json,
    status_to_json,
)
from signage.store.gate import Gate
from signage.store.kept import Kept
from signage.store.lease import Lease
from signage.store.watch import Watch, channel_of

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5.0  # while Redis is away, readers ask again this often
FENCED = ("not written: another sync process holds the lease now (after a failover, say); "
          "this one stands by")
# KEYS: the lease, then the keys to set; ARGV: the fence token ("" for none), the channel, the
# notice, then the values. Setting and publishing happen together, or not at all.
_FENCED_WRITE = """
if ARGV[1] ~= '' and redis.call('get', KEYS[1]) ~= ARGV[1] then
  return 0
end
for i = 2, #KEYS do
  redis.call('set', KEYS[i], ARGV[i + 2])
end
redis.call('publish', ARGV[2], ARGV[3])
return 1
"""


class RedisStore:
    """A `Store` on Redis, with a per-process copy of the last good snapshot."""

    def __init__(self, client: redis.Redis, prefix: str = "signage",
                 retry_after_s: float = RETRY_AFTER_S,
                 monotonic: Callable[[], float] = time.monotonic,
                 watch: Watch | None = None, copy_dir: Path | None = None,
                 reader: redis.Redis | None = None, gate: Gate | None = None) -> None:
        self._redis = client  # the writer's (patient) client
        self._reader = reader or client  # requests' reads (the app gives a fast one)
        # The copies, their stamps and read locks, and this host's saved copy (signage.store.kept)
        self._kept = Kept(gate or Gate(retry_after_s, monotonic), watch, copy_dir, prefix)
        self._prefix = prefix
        self._restored = threading.Lock()  # held for good once the saved copy was tried
        self._watch = watch
        names = ("snapshot", "version", "status", "history", "cycles", "requests", "leader")
        self._keys = {name: f"{prefix}:{name}" for name in names} | {"changed": channel_of(prefix)}
        self._copy: tuple[int, Snapshot | None] = (0, None)
        self._stored = 0  # the version Redis held when last read (0: none, e.g. emptied)
        self._texts = PeriodTexts()  # the stored form: periods as texts (codec, schema 2)
        self._status = SyncStatus()
        self._fence: str | None = None  # the lease token writes require (see `lease`)
        self._fenced_write = client.register_script(_FENCED_WRITE)
        if watch is not None:
            watch.on_change(self._prefetch)

    def _prefetch(self) -> None:
        # Load a new snapshot when its notice comes, not when the first request asks for it;
        # requests go on with the copy meanwhile (see Watch.on_change).
        for copy, read in (("snapshot", self._read_current), ("status", self._read_status)):
            with self._kept.lock(copy):
                read()

    @property
    def reachable(self) -> bool:
        """Tell whether Redis answered last time (False while readers rest between tries)."""
        return self._kept.gate.reachable

    def close(self) -> None:
        """Close this store's Redis connections and end its change notices (the registry
        sharing them then reads Redis again after a second, like without notices)."""
        if self._watch is not None:
            self._watch.close()
        self._redis.close()
        if self._reader is not self._redis:
            self._reader.close()

    def lease(self, ttl_s: float) -> Lease:
        """Return the sync processes' leader lease on this store, and fence this store's
        writes with it: a snapshot or status is written only while the lease holds this
        process's token, checked in the same atomic step as the write (after a failover two
        processes may each believe they lead; the stale one writes nothing)."""
        lease = Lease(self._redis, self._keys["leader"], ttl_s)
        self._fence = lease.token
        return lease

    def current(self) -> tuple[int, Snapshot | None]:
        """Return the version and its snapshot; the last good copy while Redis is away."""
        self._kept.refresh("snapshot", self._read_current, held=self._copy[1] is not None)
        if self._copy[1] is None and not self.reachable:
            self._restore()
        return self._copy

    def _read_current(self, client: redis.Redis | None = None) -> None:
        stamp = self._kept.stamp()
        client = client or self._reader
        try:
            version = int(client.get(self._keys["version"]) or 0)
            self._stored = version
            if version != self._copy[0]:
                raw = client.get(self._keys["snapshot"])
                if raw is not None:
                    data = json.loads(raw)
                    self._copy = (data["version"], self._texts.decode(data["snapshot"]))
                    self._kept.save("snapshot", raw)
            self._note_reachable(True)
        except redis.RedisError as exc:
            self._note_reachable(False, exc)
            return
        except (SchemaError, ValueError, KeyError, TypeError) as exc:
            log.error("store: the stored snapshot cannot be read (%s); waiting for a new one", exc)
        self._kept.mark("snapshot", stamp)

    def _known(self, copy: str) -> bool:
        """Tell whether this process's copy may be served without asking Redis."""
        return self._kept.current(copy)

    def snapshot(self) -> Snapshot | None:
        """Return the current snapshot, None before the first successful sync."""
        return self.current()[1]

    def version(self) -> int:
        """Return the content version (0 before the first snapshot)."""
        return self.current()[0]

    def replace(self, snapshot: Snapshot) -> int:
        """Store a new snapshot with the next version when its content differs; atomic."""
        # Under the read lock throughout: a listener's read that began before this write must
        # not put its older copy back afterwards.
        with self._kept.lock("snapshot"):
            return self._replace(snapshot)

    def _replace(self, snapshot: Snapshot) -> int:
        self._read_current(self._redis)  # the next version follows Redis's, never a copy's
        version, old = self._copy
        if not self.reachable:
            raise StoreError("Redis cannot be reached; the snapshot was not written")
        if old is not None and (snapshot is old or snapshot == old) and self._stored == version:
            return version  # a Redis that lost its data (restarted empty) is written again
        new_version = version + 1
        data, stored = self._texts.encode(snapshot)
        payload = json.dumps({"version": new_version, "snapshot": data})
        try:
            written = self._write(
                {self._keys["snapshot"]: payload, self._keys["version"]: str(new_version)},
                "snapshot")
        except redis.RedisError as exc:
            raise StoreError(f"Redis write failed: {type(exc).__name__}") from exc
        if not written:
            raise StoreError(FENCED)
        self._copy = (new_version, snapshot)
        self._stored = new_version
        stored()
        self._kept.save("snapshot", payload.encode())
        return new_version

    def status(self) -> SyncStatus:
        """Return the stored sync status (the last one read while Redis is away)."""
        self._kept.refresh("status", self._read_status, held=True)
        if self._copy[1] is None and not self.reachable:
            self._restore()
        return self._status

    def _read_status(self) -> None:
        stamp = self._kept.stamp()
        try:
            raw = self._reader.get(self._keys["status"])
            if raw is not None:
                status = status_from_json(json.loads(raw))
                if status != self._status:
                    self._status = status
                    self._kept.save("status", raw)
        except redis.RedisError as exc:
            self._note_reachable(False, exc)
            return
        except (SchemaError, ValueError, KeyError, TypeError) as exc:
            log.error("store: the stored sync status cannot be read (%s)", exc)
        self._kept.mark("status", stamp)

    def _write(self, values: dict[str, str], notice: str) -> bool:
        """Set the keys and publish the notice in one atomic step; with a fence, only while the
        lease holds this process's token. Return whether it was written."""
        args = [self._fence or "", self._keys["changed"], notice]
        for value in values.values():
            args.append(value)
        keys = [self._keys["leader"], *values]
        return bool(self._fenced_write(keys=keys, args=args))

    def _restore(self) -> None:
        """Serve this host's saved copy: once, when Redis is away and this process has none."""
        if not self._restored.acquire(blocking=False):
            return
        raw = self._kept.load("snapshot")
        if raw is None:
            if self._kept.saved_path("snapshot") is not None:
                log.warning("store: Redis cannot be reached and no copy was saved on this host "
                            "yet")
            return
        try:
            data = json.loads(raw)
            copy = (data["version"], self._texts.decode(data["snapshot"]))
            status = self._kept.load("status")
            if status is not None:
                self._status = status_from_json(json.loads(status))
        except (SchemaError, ValueError, KeyError, TypeError) as exc:
            log.error("store: the saved copy %s cannot be read (%s)",
                      self._kept.saved_path("snapshot"), exc)
            return
        if self._copy[1] is None:  # Redis may have answered meanwhile
            self._copy = copy
        log.warning("store: Redis cannot be reached; serving the copy saved on this host "
                    "(version %d)", copy[0])

    def write_status(self, status: SyncStatus) -> None:
        """Record the sync status."""
        raw = json.dumps(status_to_json(status))
        with self._kept.lock("status"):  # as in `replace`: no older read lands after this
            self._status = status
            try:
                written = self._write({self._keys["status"]: raw}, "status")
            except redis.RedisError as exc:
                raise StoreError(f"Redis write failed: {type(exc).__name__}") from exc
            if not written:
                raise StoreError(FENCED)
        self._kept.save("status", raw.encode())

    def record_cycle(self, record: CycleRecord) -> None:
        """Keep a cycle for the history and count it and its upstream requests."""
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                pipe.lpush(self._keys["history"], json.dumps(record_to_json(record)))
                pipe.ltrim(self._keys["history"], 0, HISTORY_LENGTH - 1)
                pipe.hincrby(self._keys["cycles"], record.outcome, 1)
                for key, count in record.requests.items():
                    pipe.hincrby(self._keys["requests"], key, count)
                pipe.execute()
        except redis.RedisError as exc:
            raise StoreError(f"Redis write failed: {type(exc).__name__}") from exc

    def history(self) -> list[CycleRecord]:
        """Return the last cycles, newest first (empty while Redis is away)."""
        if self._resting():
            return []
        try:
            return [record_from_json(json.loads(raw))
                    for raw in self._reader.lrange(self._keys["history"], 0, -1)]
        except redis.RedisError as exc:
            self._note_reachable(False, exc)
            return []

    def counters(self) -> dict[str, dict[str, int]]:
        """Return the totals: cycles by outcome, upstream requests by endpoint and status."""
        if self._resting():
            return {"cycles": {}, "requests": {}}
        try:
            return {name: {k.decode(): int(v) for k, v in self._reader.hgetall(
                self._keys[name]).items()} for name in ("cycles", "requests")}
        except redis.RedisError as exc:
            self._note_reachable(False, exc)
            return {"cycles": {}, "requests": {}}

    def leader(self) -> str | None:
        """Return the lease holder's token (host:pid:random), None when no process leads."""
        if self._resting():
            return None
        try:
            value = self._reader.get(self._keys["leader"])
        except redis.RedisError as exc:
            self._note_reachable(False, exc)
            return None
        return value.decode() if value is not None else None

    def _resting(self) -> bool:
        # While Redis is away, ask again only every few seconds: a request must not wait for
        # a timeout each time (see signage.store.gate).
        return not self._kept.gate.open

    def _note_reachable(self, reachable: bool, exc: Exception | None = None) -> None:
        if reachable:
            self._kept.gate.passed()
        else:
            self._kept.gate.failed(exc or StoreError("no answer"))
