"""The Redis store against a real redis-server: JSON with a schema, atomic versions, workers
keeping their copy through an outage, a restarted sync process continuing with a delta."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest
import redis

from signage import create_app
from signage.domain.model import DayNotice
from signage.store.codec import (
    SchemaError,
    snapshot_from_json,
    snapshot_to_json,
    status_from_json,
    status_to_json,
)
from signage.store.redis_store import RETRY_AFTER_S, RedisStore
from signage.sync.engine import SyncEngine
from tests.conftest import MONDAY, SCHEDULE, TZ, RedisServer, free_port, untis_settings


@pytest.fixture
def store_at():
    """Return a factory of Redis stores whose clients are closed after the test."""
    clients = []

    def make(url: str, prefix: str, **options) -> RedisStore:
        clients.append(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1))
        return RedisStore(clients[-1], prefix, **options)

    yield make
    for client in clients:
        client.close()


def test_snapshots_and_status_survive_the_json_round_trip(engine, store, clock):
    engine.run_cycle(clock())
    snapshot, status = store.snapshot(), store.status()
    assert snapshot_from_json(json.loads(json.dumps(snapshot_to_json(snapshot)))) == snapshot
    assert status_from_json(json.loads(json.dumps(status_to_json(status)))) == status


def test_the_upstreams_messages_survive_the_round_trip_and_older_data_reads(engine, store,
                                                                          clock):
    engine.run_cycle(clock())
    snapshot = replace(store.snapshot(), messages=("Library closed Friday", "Ünïcode ✓"))
    data = json.loads(json.dumps(snapshot_to_json(snapshot)))
    assert snapshot_from_json(data).messages == snapshot.messages
    del data["messages"]  # written by 0.5, before messages existed
    assert snapshot_from_json(data) == replace(snapshot, messages=())


def test_day_notices_survive_the_round_trip_and_older_data_reads(engine, store, clock):
    engine.run_cycle(clock())
    notice = DayNotice(absent_teachers=(("MÜL", "1-4"),), absent_classes=(("7c", ""),),
                       affected_classes=("5a",), teachers=("SCH", "Zwackelmann"))
    snapshot = replace(store.snapshot(), notices={MONDAY: notice})
    data = json.loads(json.dumps(snapshot_to_json(snapshot)))
    assert snapshot_from_json(data) == snapshot
    del data["notices"][MONDAY.isoformat()]["teachers"]  # a copy from before the field
    assert snapshot_from_json(data).notices[MONDAY] == replace(notice, teachers=())


@pytest.mark.parametrize("data", [{}, {"schema": 99}, [], None])
def test_data_of_another_schema_is_refused_clearly(data):
    with pytest.raises(SchemaError, match="schema"):
        snapshot_from_json(data)


def test_two_workers_see_the_same_version_and_snapshot(source, redis_url, redis_prefix, clock,
                                                        fake, store_at):
    writer = store_at(redis_url, redis_prefix)
    SyncEngine(source, writer, TZ, 2, SCHEDULE).run_cycle(clock())
    first, second = store_at(redis_url, redis_prefix), store_at(redis_url, redis_prefix)
    assert first.current() == second.current() == writer.current()
    assert first.version() == 1 and len(first.snapshot().periods) == 36
    with redis.Redis.from_url(redis_url) as raw:
        assert raw.ttl(f"{redis_prefix}:snapshot") == -1  # no expiry on the last good snapshot
        # Periods as texts of their own: schema 2 (schema 1, periods as objects, still reads)
        assert json.loads(raw.get(f"{redis_prefix}:snapshot"))["snapshot"]["schema"] == 2


def test_an_unchanged_snapshot_keeps_its_version(source, redis_url, redis_prefix, clock, store_at):
    store = store_at(redis_url, redis_prefix)
    engine = SyncEngine(source, store, TZ, 2, SCHEDULE)
    engine.run_cycle(clock())
    clock.advance(minutes=2)
    assert engine.run_cycle(clock()).version == 1


def test_a_restarted_sync_process_continues_with_a_delta(source, redis_url, redis_prefix, clock,
                                                          fake, store_at):
    SyncEngine(source, store_at(redis_url, redis_prefix), TZ, 2, SCHEDULE).run_cycle(clock())
    clock.advance(minutes=2)
    fake.update_period(1010, status="CANCELLED")
    restarted = SyncEngine(source, store_at(redis_url, redis_prefix), TZ, 2, SCHEDULE)
    result = restarted.run_cycle(clock())
    assert result.outcome == "delta" and result.upserts == 1 and result.version == 2


def test_the_app_reads_the_redis_store(source, redis_url, redis_prefix, clock, fake, store_at,
                                       tmp_path):
    SyncEngine(source, store_at(redis_url, redis_prefix), TZ, 2, SCHEDULE).run_cycle(clock())
    app = create_app({**untis_settings(fake), "REDIS_URL": redis_url,
                      "REDIS_PREFIX": redis_prefix, "DAYS_AHEAD": 2, "COPY_DIR": str(tmp_path)},
                     clock=clock)
    client = app.test_client()
    assert client.get("/api/v1/classes").get_json() == ["5a", "5b", "10a"]
    assert client.get("/healthz").status_code == 200


def test_workers_serve_their_copy_while_redis_is_down(source, fake, clock, tmp_path, store_at):
    server = RedisServer(tmp_path).start()
    try:
        writer = store_at(server.url, "outage", retry_after_s=0)
        engine = SyncEngine(source, writer, TZ, 2, SCHEDULE)
        engine.run_cycle(clock())
        app = create_app({**untis_settings(fake), "REDIS_URL": server.url,
                          "REDIS_PREFIX": "outage", "DAYS_AHEAD": 2, "COPY_DIR": str(tmp_path)},
                         clock=clock)
        client = app.test_client()
        assert client.get("/board/overview").status_code == 200
        server.stop()
        assert client.get("/board/overview").status_code == 200
        assert client.get("/api/v1/classes").get_json() == ["5a", "5b", "10a"]
        clock.advance(minutes=2)
        fake.update_period(1010, status="CANCELLED")
        failed = engine.run_cycle(clock())
        assert failed.outcome == "failed" and failed.error.startswith("store:")
        server.start()  # the same port: Redis is back, empty as after a crash without disk
        clock.advance(minutes=2)
        result = engine.run_cycle(clock())
        assert result.outcome in ("full", "delta")
        deadline = time.monotonic() + RETRY_AFTER_S + 3  # workers look again every few seconds
        kinds = None
        while time.monotonic() < deadline and kinds != [["cancelled"]]:
            kinds = [r["kinds"] for r in client.get("/api/v1/changes").get_json()["changes"]]
            time.sleep(0.2)
        assert kinds == [["cancelled"]]
        app.extensions["signage"].store.close()  # its change notices end with the test
    finally:
        server.stop()


def test_while_redis_is_away_readers_ask_again_only_every_few_seconds(source, clock, tmp_path,
                                                                      store_at):
    server = RedisServer(tmp_path).start()
    ticks = [0.0]
    try:
        SyncEngine(source, store_at(server.url, "p"), TZ, 2, SCHEDULE).run_cycle(clock())
        reader = store_at(server.url, "p", retry_after_s=5, monotonic=lambda: ticks[0])
        assert reader.version() == 1
        server.stop()
        assert reader.version() == 1  # the copy; Redis is now known to be away
        server.start()
        with redis.Redis.from_url(server.url) as raw:
            raw.set("p:version", 7)
        ticks[0] = 4.9
        assert reader.version() == 1  # resting: Redis was not asked
        ticks[0] = 5.1
        reader.current()
        assert reader.reachable  # asked again, and found
    finally:
        server.stop()


def test_a_worker_restarted_during_an_upstream_outage_serves_the_last_snapshot(
        source, fake, clock, redis_url, redis_prefix, store_at, tmp_path):
    SyncEngine(source, store_at(redis_url, redis_prefix), TZ, 2, SCHEDULE).run_cycle(clock())
    upstream = untis_settings(fake)
    fake.stop()  # the upstream is gone; a worker (re)starts now
    worker = create_app({**upstream, "REDIS_URL": redis_url,
                         "REDIS_PREFIX": redis_prefix, "DAYS_AHEAD": 2, "COPY_DIR": str(tmp_path)},
                        clock=clock)
    client = worker.test_client()
    assert client.get("/api/v1/classes").get_json() == ["5a", "5b", "10a"]
    assert client.get("/board/class/5a").status_code == 200
    worker.extensions["signage"].store.close()


def test_a_snapshot_of_another_schema_is_refused_with_a_clear_log_line(redis_url, redis_prefix,
                                                                        store_at, caplog):
    with redis.Redis.from_url(redis_url) as raw:
        raw.set(f"{redis_prefix}:snapshot", json.dumps({"version": 3, "snapshot": {"schema": 99}}))
        raw.set(f"{redis_prefix}:version", 3)
    reader = store_at(redis_url, redis_prefix)
    assert reader.current() == (0, None)  # no data rather than misread data
    assert "schema 99; this signage reads 1" in caplog.text


def test_a_redis_restarted_empty_gets_the_snapshot_back_without_any_upstream_change(
        source, fake, clock, tmp_path, store_at):
    server = RedisServer(tmp_path).start()
    try:
        writer = store_at(server.url, "empty", retry_after_s=0)
        engine = SyncEngine(source, writer, TZ, 2, SCHEDULE)
        engine.run_cycle(clock())
        version = writer.version()
        server.stop()
        server.start()  # back on the same port, empty (no persistence)
        clock.advance(minutes=2)
        assert engine.run_cycle(clock()).outcome == "delta"  # nothing changed upstream
        worker = create_app({**untis_settings(fake), "REDIS_URL": server.url,
                             "REDIS_PREFIX": "empty", "DAYS_AHEAD": 2,
                             "COPY_DIR": str(tmp_path)}, clock=clock)
        client = worker.test_client()
        assert client.get(f"/board/overview?date={MONDAY}").status_code == 200
        assert client.get("/api/v1/classes").get_json() == ["5a", "5b", "10a"]
        assert worker.extensions["signage"].store.version() > version  # never an older one
        worker.extensions["signage"].store.close()
    finally:
        server.stop()


def test_a_new_version_decodes_only_what_changed_and_reads_the_same(source, redis_url,
                                                                    redis_prefix, clock, fake,
                                                                    store_at):
    writer = store_at(redis_url, redis_prefix)
    engine = SyncEngine(source, writer, TZ, 2, SCHEDULE)
    engine.run_cycle(clock())
    reader = store_at(redis_url, redis_prefix)
    before = reader.snapshot()
    clock.advance(minutes=2)
    fake.update_period(1010, status="CANCELLED")
    fake.delete_period(1012)
    assert engine.run_cycle(clock()).version == 2
    after = reader.snapshot()
    assert after == store_at(redis_url, redis_prefix).snapshot() == writer.snapshot()  # as a
    # reader decoding all of it reads
    assert after.periods[1011] is before.periods[1011]  # unchanged: the object it had
    assert after.periods[1010].status == "CANCELLED" and 1012 not in after.periods


def test_periods_are_stored_as_texts_and_the_older_form_still_reads(source, redis_url,
                                                                    redis_prefix, clock,
                                                                    store_at):
    writer = store_at(redis_url, redis_prefix)
    SyncEngine(source, writer, TZ, 2, SCHEDULE).run_cycle(clock())
    with redis.Redis.from_url(redis_url) as raw:
        stored = json.loads(raw.get(f"{redis_prefix}:snapshot"))
        assert all(isinstance(p, str) for p in stored["snapshot"]["periods"])
        older = {"version": 7, "snapshot": snapshot_to_json(writer.snapshot())}  # objects
        raw.set(f"{redis_prefix}:snapshot", json.dumps(older))
        raw.set(f"{redis_prefix}:version", 7)
    assert store_at(redis_url, redis_prefix).current() == (7, writer.snapshot())


def test_a_broken_period_text_keeps_the_last_good_copy(source, redis_url, redis_prefix, clock,
                                                       store_at, caplog):
    writer = store_at(redis_url, redis_prefix)
    SyncEngine(source, writer, TZ, 2, SCHEDULE).run_cycle(clock())
    reader = store_at(redis_url, redis_prefix)
    good = reader.current()
    with redis.Redis.from_url(redis_url) as raw:
        stored = json.loads(raw.get(f"{redis_prefix}:snapshot"))
        stored["snapshot"]["periods"][0] = '{"id": 1, "start": '
        stored["version"] = 2
        raw.set(f"{redis_prefix}:snapshot", json.dumps(stored))
        raw.set(f"{redis_prefix}:version", 2)
    assert reader.current() == good
    assert "the stored snapshot cannot be read" in caplog.text


def test_a_worker_starting_while_redis_is_away_serves_the_copy_saved_on_this_host(
        source, fake, clock, tmp_path, store_at, caplog):
    server = RedisServer(tmp_path).start()
    host, other_host = tmp_path / "host", tmp_path / "other-host"
    try:
        writer = store_at(server.url, "saved")
        SyncEngine(source, writer, TZ, 2, SCHEDULE).run_cycle(clock())
        worker = store_at(server.url, "saved", copy_dir=host)
        seen = worker.current(), worker.status()
        assert seen[0][1] is not None and seen[1].last_success is not None
        saved = sorted(p.name for p in host.iterdir())
        assert saved == ["saved-snapshot.json", "saved-status.json"]
        assert {oct(p.stat().st_mode & 0o777) for p in host.iterdir()} == {"0o600"}  # names inside
        server.stop()
        restarted = store_at(server.url, "saved", copy_dir=host)
        assert (restarted.current(), restarted.status()) == seen
        assert "serving the copy saved on this host (version 1)" in caplog.text
        elsewhere = store_at(server.url, "saved", copy_dir=other_host)
        assert elsewhere.current() == (0, None)  # nothing saved there: no data, said clearly
        assert "no copy was saved on this host yet" in caplog.text
        server.start()  # back, empty: the restored copy stands until a sync writes again
        assert restarted.current() == seen[0]
    finally:
        server.stop()


def test_a_broken_saved_copy_is_named_and_ignored(tmp_path, store_at, caplog):
    (tmp_path / "x-snapshot.json").write_text('{"version": 3, "snapshot": {"schema": 1')
    away = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    store = store_at(away, "x", copy_dir=tmp_path)
    assert store.current() == (0, None)
    assert "the saved copy" in caplog.text and "x-snapshot.json cannot be read" in caplog.text


def test_a_stale_leader_writes_nothing_once_another_holds_the_lease(
        source, redis_url, redis_prefix, clock, fake, store_at):
    # After a failover both sync processes may believe they lead: the lease on the new primary
    # names the other one. The old leader's next snapshot and status must not land.
    old, new = store_at(redis_url, redis_prefix), store_at(redis_url, redis_prefix)
    old_lease, new_lease = old.lease(30), new.lease(30)
    assert old_lease.acquire()
    old_engine = SyncEngine(source, old, TZ, 2, SCHEDULE)
    assert old_engine.run_cycle(clock()).version == 1
    with redis.Redis.from_url(redis_url) as raw:
        raw.delete(f"{redis_prefix}:leader")  # the promoted replica never saw the renewal
        assert new_lease.acquire()
        before = (raw.get(f"{redis_prefix}:snapshot"), raw.get(f"{redis_prefix}:status"))
        clock.advance(minutes=2)
        fake.update_period(1010, status="CANCELLED")
        result = old_engine.run_cycle(clock())  # it still believes it leads
        assert result.outcome == "failed" and "another sync process holds the lease" in (
            result.error or "")
        assert (raw.get(f"{redis_prefix}:snapshot"), raw.get(f"{redis_prefix}:status")) == before
        new_engine = SyncEngine(source, new, TZ, 2, SCHEDULE)
        assert new_engine.run_cycle(clock()).version == 2  # the leader writes
        assert json.loads(raw.get(f"{redis_prefix}:snapshot"))["version"] == 2
