"""The registry of displays and announcements: a JSON file in embedded mode, Redis otherwise."""

from __future__ import annotations

import json
import re
import stat

import pytest
import redis
from werkzeug.security import generate_password_hash

from signage import create_app
from signage.store import StoreError
from signage.store.registry import MemoryRegistry
from signage.store.registry_redis import RedisRegistry
from tests.conftest import RedisServer, untis_settings
from tests.web.test_admin import ADMIN_PASSWORD, CHEAP, Admin, new_display, pair

DISPLAY = {"id": "d1", "name": "Foyer", "token_hash": "ab" * 32}


def test_the_state_file_keeps_displays_but_not_heartbeats(tmp_path):
    path = tmp_path / "state.json"
    first = MemoryRegistry(path)
    first.put("displays", "d1", DISPLAY)
    first.put("heartbeats", "d1", {"seen": "2026-11-23T08:00:00+00:00"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds token hashes
    again = MemoryRegistry(path)
    assert again.items("displays") == {"d1": DISPLAY}
    assert again.items("heartbeats") == {}
    again.delete("displays", "d1")
    assert json.loads(path.read_text())["displays"] == {}


def test_a_broken_state_file_starts_empty_and_is_kept_for_a_human(tmp_path, caplog):
    path = tmp_path / "state.json"
    path.write_text("{not json")
    registry = MemoryRegistry(path)
    assert registry.items("displays") == {}
    assert "cannot read" in caplog.text
    assert path.read_text() == "{not json"


def test_an_unwritable_state_file_is_a_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    registry = MemoryRegistry(blocker / "state.json")  # a folder that cannot exist
    with pytest.raises(StoreError, match="cannot save"):
        registry.put("displays", "d1", DISPLAY)


def test_redis_registry_is_shared_by_workers(redis_url, redis_prefix):
    one = RedisRegistry(redis.Redis.from_url(redis_url), redis_prefix)
    two = RedisRegistry(redis.Redis.from_url(redis_url), redis_prefix)
    one.put("displays", "d1", DISPLAY)
    assert two.items("displays") == {"d1": DISPLAY}
    two.delete("displays", "d1")
    assert one.items("displays") == {}


def test_redis_registry_answers_its_last_copy_while_redis_is_away(tmp_path):
    server = RedisServer(tmp_path).start()
    registry = RedisRegistry(redis.Redis.from_url(server.url, socket_timeout=1,
                                                  socket_connect_timeout=1))
    registry.put("announcements", "a1", {"id": "a1", "text": "Hitzefrei"})
    assert registry.items("announcements")["a1"]["text"] == "Hitzefrei"
    server.stop()
    assert registry.items("announcements")["a1"]["text"] == "Hitzefrei"
    with pytest.raises(StoreError, match="Redis unreachable"):
        registry.put("announcements", "a2", {"id": "a2"})


def test_a_screen_paired_through_one_worker_is_known_to_another(fake, clock, engine, redis_url,
                                                                 redis_prefix, tmp_path):
    config = {**untis_settings(fake), "REDIS_URL": redis_url, "REDIS_PREFIX": redis_prefix,
              "COPY_DIR": str(tmp_path),
              "ADMIN_PASSWORD_HASH": generate_password_hash(ADMIN_PASSWORD, CHEAP),
              "SECRET_KEY": "a shared key of the workers"}
    workers = [create_app(config, clock=clock), create_app(config, clock=clock)]
    engine.store = workers[0].extensions["signage"].store
    assert engine.run_cycle(clock()).outcome == "full"
    admin = Admin(workers[0].test_client())
    admin.login()
    display_id = new_display(admin, name="Mensa")
    kiosk = workers[1].test_client()
    pair(admin, kiosk, display_id)  # code shown by worker 1, entered on worker 0
    page = workers[1].test_client()
    page.set_cookie("signage_display", kiosk.get_cookie("signage_display").value)
    assert page.get("/display").status_code == 200
    # The admin's session, signed with the shared key, works on the other worker too.
    other = workers[1].test_client()
    other.set_cookie("signage_session", admin.client.get_cookie("signage_session").value)
    assert re.search(r"Mensa", other.get("/admin").get_data(as_text=True))


def test_failed_logins_are_counted_across_workers(fake, redis_url, redis_prefix, tmp_path):
    config = {**untis_settings(fake), "REDIS_URL": redis_url, "REDIS_PREFIX": redis_prefix,
              "COPY_DIR": str(tmp_path),
              "ADMIN_PASSWORD_HASH": generate_password_hash(ADMIN_PASSWORD, CHEAP),
              "SECRET_KEY": "a shared key of the workers"}
    workers = [Admin(create_app(config).test_client()) for _ in range(2)]
    for attempt in range(5):
        assert workers[attempt % 2].login("wrong").status_code == 401
    assert workers[1].login(ADMIN_PASSWORD).status_code == 429


def test_a_worker_starting_while_redis_is_away_still_knows_the_paired_screens(
        fake, clock, engine, tmp_path):
    server = RedisServer(tmp_path).start()
    config = {**untis_settings(fake), "REDIS_URL": server.url, "REDIS_PREFIX": "host",
              "ADMIN_PASSWORD_HASH": generate_password_hash(ADMIN_PASSWORD, CHEAP),
              "SECRET_KEY": "a shared key of the workers", "COPY_DIR": str(tmp_path / "copy")}
    try:
        worker = create_app(config, clock=clock)
        engine.store = worker.extensions["signage"].store
        assert engine.run_cycle(clock()).outcome == "full"
        admin = Admin(worker.test_client())
        admin.login()
        kiosk = worker.test_client()
        pair(admin, kiosk, new_display(admin, name="Mensa"))
        token = kiosk.get_cookie("signage_display").value
        before = kiosk.get("/display?part=board")  # this host saves its copies
        assert before.status_code == 200 and 'data-version="1"' in before.get_data(as_text=True)
        server.stop()
        started = create_app(config, clock=clock)  # a worker (re)started during the outage
        screen = started.test_client()
        screen.set_cookie("signage_display", token)
        poll = screen.get("/display?part=board")
        assert poll.status_code == 200  # not 410 "pair again": the screen keeps its pairing
        assert screen.get_cookie("signage_display").value == token
        assert poll.get_data() == before.get_data()  # its board, from the saved snapshot
        new_host = create_app({**config, "COPY_DIR": str(tmp_path / "nothing-saved")})
        kiosk = new_host.test_client()
        kiosk.set_cookie("signage_display", token)
        poll = kiosk.get("/display?part=board")  # no copy anywhere: the token cannot be checked
        assert poll.status_code == 503 and "cannot be checked" in poll.get_data(as_text=True)
        assert kiosk.get_cookie("signage_display").value == token  # not told to pair again
    finally:
        server.stop()
