"""The circuit breaker for refused credentials, over real HTTP against the fake WebUntis server.

A wrong secret retried every few minutes locks the school's upstream account; after
`auth_failure_limit` refusals of the token endpoint the sync sends nothing for `auth_pause_s`.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta

import pytest
import redis

from signage import create_app
from signage.demo.server import Fault
from signage.domain.model import SyncStatus
from signage.sources.http import make_session
from signage.sources.untis import UntisSource
from signage.store.codec import status_from_json, status_to_json
from signage.store.redis_store import RedisStore
from signage.sync.engine import SyncEngine
from signage.sync.scheduler import build_sync
from tests.conftest import SCHEDULE, TZ, untis_settings

LIMIT = 3
PAUSE_S = 3600
WRONG_SECRET = "wrong-secret-4711"  # noqa: S105 - what the operator mistyped
CHECK = "check SIGNAGE_UNTIS_CLIENT_ID and SIGNAGE_UNTIS_CLIENT_SECRET"


def untis(fake, session, secret: str | None = None) -> UntisSource:
    """Return a v3 client of `fake`, with its own secret or the given one."""
    client_id, right = fake.credentials
    return UntisSource(fake.url, fake.tenant, client_id, secret or right, TZ, session)


def engine_of(source, store, limit: int = LIMIT, pause_s: float = PAUSE_S) -> SyncEngine:
    return SyncEngine(source, store, TZ, 2, SCHEDULE, auth_failure_limit=limit,
                      auth_pause_s=pause_s)


@pytest.fixture
def refused(fake, session, store) -> SyncEngine:
    """An engine whose client sends a secret the upstream refuses."""
    return engine_of(untis(fake, session, WRONG_SECRET), store)


def run_when_due(engine: SyncEngine, clock, times: int) -> list[str]:
    """Run `times` cycles, each as soon as the back-off allows; return their outcomes."""
    outcomes = []
    for _ in range(times):
        not_before = engine.store.status().not_before
        if not_before is not None and not_before > clock():
            clock.now = not_before
        outcomes.append(engine.run_cycle(clock()).outcome)
    return outcomes


def assert_silent_until(engine: SyncEngine, fake, clock, until) -> None:
    """Poll every minute (also forced) until just before `until`: the upstream hears nothing."""
    heard = len(fake.requests)
    while clock.advance(minutes=1) < until:
        assert engine.run_cycle(clock()).outcome == "paused"
        assert engine.run_cycle(clock(), force=True).outcome == "paused"
    clock.now = until - timedelta(seconds=1)
    assert engine.run_cycle(clock(), force=True).outcome == "paused"
    assert len(fake.requests) == heard


@pytest.mark.parametrize(
    ("limit", "fault"),
    [
        (3, None),
        (1, None),
        (5, None),
        (2, Fault("token", status=403, times=99)),
    ],
    ids=["3 refusals of a wrong secret", "a limit of 1 pauses at the first refusal",
         "a limit of 5", "403 from the token endpoint counts too"],
)
def test_token_refusals_pause_all_upstream_requests_after_the_limit(fake, session, store, clock,
                                                                    limit, fault):
    if fault is None:
        engine = engine_of(untis(fake, session, WRONG_SECRET), store, limit=limit)
    else:
        fake.inject(fault)
        engine = engine_of(untis(fake, session), store, limit=limit)
    assert run_when_due(engine, clock, limit) == ["failed"] * limit
    assert fake.count("token") == limit and len(fake.requests) == limit  # nothing else asked
    status = store.status()
    assert status.auth_failures == limit
    assert status.auth_paused_until == clock() + timedelta(seconds=PAUSE_S)
    assert status.not_before == status.auth_paused_until
    assert_silent_until(engine, fake, clock, status.auth_paused_until)


def test_refusals_below_the_limit_back_off_and_say_how_many_are_left(refused, store, clock):
    assert refused.run_cycle(clock()).outcome == "failed"
    status = store.status()
    assert status.auth_failures == 1 and status.auth_paused_until is None
    assert status.last_error == ("POST token: HTTP 401: invalid_client bad credentials; "
                                 f"refusal 1 of {LIMIT} in a row before the sync pauses: {CHECK}")


def test_the_pause_says_why_until_when_and_what_to_check_in_one_line(refused, store, clock):
    run_when_due(refused, clock, LIMIT)
    until = store.status().auth_paused_until
    expected = (f"the upstream refused our credentials {LIMIT} times in a row "
                "(POST token: HTTP 401: invalid_client bad credentials); sync paused until "
                f"{until:%Y-%m-%d %H:%M} UTC: {CHECK}")
    assert store.status().last_error == expected
    result = refused.run_cycle(clock.advance(minutes=5))
    assert (result.outcome, result.error) == ("paused", expected)


def test_fixed_credentials_resume_the_sync_once_the_pause_is_over(refused, fake, session, store,
                                                                  clock):
    run_when_due(refused, clock, LIMIT)
    until = store.status().auth_paused_until
    fixed = engine_of(untis(fake, session), store)  # the operator fixed the secret, restarted
    assert_silent_until(fixed, fake, clock, until)  # the pause holds for the fixed one, too
    clock.now = until
    assert fixed.run_cycle(clock()).outcome == "full"
    status = store.status()
    assert (status.auth_failures, status.auth_paused_until, status.last_error) == (0, None, None)
    assert (status.failures, status.not_before) == (0, None)
    assert fake.count("token") == LIMIT + 1


def test_one_more_refusal_after_the_pause_pauses_again_at_once(refused, fake, store, clock):
    run_when_due(refused, clock, LIMIT)
    clock.now = store.status().auth_paused_until
    assert refused.run_cycle(clock()).outcome == "failed"
    status = store.status()
    assert status.auth_failures == LIMIT + 1
    assert status.auth_paused_until == clock() + timedelta(seconds=PAUSE_S)
    assert f"refused our credentials {LIMIT + 1} times in a row" in status.last_error
    assert fake.count("token") == LIMIT + 1
    assert_silent_until(refused, fake, clock, status.auth_paused_until)


def test_the_pause_survives_a_restart_of_the_sync_process(fake, clock, redis_url, redis_prefix):
    clients = [redis.Redis.from_url(redis_url) for _ in range(2)]
    sessions = [make_session(connect_timeout_s=1, read_timeout_s=1) for _ in range(2)]
    try:
        before = engine_of(untis(fake, sessions[0], WRONG_SECRET),
                           RedisStore(clients[0], redis_prefix))
        run_when_due(before, clock, LIMIT)
        after = engine_of(untis(fake, sessions[1], WRONG_SECRET),
                          RedisStore(clients[1], redis_prefix))
        assert after.store.status().auth_failures == LIMIT
        assert_silent_until(after, fake, clock, after.store.status().auth_paused_until)
        assert fake.count("token") == LIMIT
    finally:
        for closable in (*clients, *sessions):
            closable.close()


@pytest.mark.parametrize(
    "fault",
    [
        Fault("timetable", status=401, times=99),
        Fault("timetable", status=403, times=99),
        Fault("token", status=500, times=99),
        Fault("token", status=302, headers={"Location": "http://127.0.0.1:9/"}, body=b"{}",
              times=99),
    ],
    ids=["401 on timetable: an expired token, renewed once", "403 on timetable",
         "500 from the token endpoint", "redirect from the token endpoint"],
)
def test_only_a_refusal_by_the_token_endpoint_counts(engine, fake, store, clock, fault):
    fake.inject(fault)
    assert run_when_due(engine, clock, LIMIT + 2) == ["failed"] * (LIMIT + 2)
    status = store.status()
    assert status.auth_failures == 0 and status.auth_paused_until is None
    assert status.failures == LIMIT + 2


def test_other_failures_keep_the_count_and_a_success_resets_it(engine, fake, store, clock):
    assert engine.run_cycle(clock()).outcome == "full"
    fake.expire_tokens()  # the renewal after the data call's 401 is what gets refused
    fake.inject(Fault("token", status=401))
    assert run_when_due(engine, clock, 1) == ["failed"]
    fake.inject(Fault("token", status=500))  # says nothing about the credentials
    assert run_when_due(engine, clock, 1) == ["failed"]
    assert store.status().auth_failures == 1
    fake.inject(Fault("token", status=401))
    assert run_when_due(engine, clock, 1) == ["failed"]
    assert store.status().auth_failures == 2
    assert run_when_due(engine, clock, 1) == ["delta"]
    assert store.status().auth_failures == 0


def test_healthz_tells_the_pause_and_turns_503_once_the_data_is_stale(app, client, refused,
                                                                      store, clock):
    assert client.get("/healthz").get_json()["auth_paused_until"] is None
    run_when_due(refused, clock, LIMIT)
    until = store.status().auth_paused_until
    fresh = client.get("/healthz")
    assert fresh.status_code == 200 and fresh.get_json()["status"] == "ok"
    assert fresh.get_json()["auth_paused_until"] == until.isoformat()
    assert "paused until" in fresh.get_json()["last_error"]
    clock.advance(seconds=app.extensions["signage"].settings.stale_after_s + 1)
    stale = client.get("/healthz")
    assert stale.status_code == 503 and stale.get_json()["status"] == "stale"
    assert stale.get_json()["auth_paused_until"] == until.isoformat()
    clock.now = until
    assert client.get("/healthz").get_json()["auth_paused_until"] is None


def test_status_page_and_metrics_show_the_refusals_and_the_pause(client, refused, clock):
    assert "signage_sync_auth_paused 0" in client.get("/metrics").get_data(as_text=True)
    run_when_due(refused, clock, LIMIT - 1)
    page = client.get("/status").get_data(as_text=True)
    assert f"<td>{LIMIT - 1} (the sync pauses at {LIMIT})</td>" in page
    assert "Sync paused until</th><td>–" in page
    run_when_due(refused, clock, 1)
    until = refused.store.status().auth_paused_until.astimezone(TZ)
    page = client.get("/status").get_data(as_text=True)
    assert f"<td>{LIMIT} (the sync pauses at {LIMIT})</td>" in page
    assert f"<strong>{until:%d.%m.%Y %H:%M:%S}</strong>" in page
    assert "signage_sync_auth_paused 1" in client.get("/metrics").get_data(as_text=True)


def test_the_secrets_never_reach_a_log_line_healthz_status_or_metrics(app, client, refused,
                                                                      fake, clock, caplog):
    caplog.set_level(logging.DEBUG)  # urllib3's request lines included
    run_when_due(refused, clock, LIMIT + 1)
    clock.advance(seconds=PAUSE_S)
    run_when_due(refused, clock, 1)
    client_id, right = fake.credentials
    basic = [base64.b64encode(f"{client_id}:{secret}".encode()).decode()
             for secret in (WRONG_SECRET, right)]
    texts = [record.getMessage() for record in caplog.records]
    texts += [record.exc_text or "" for record in caplog.records]
    texts += [client.get(path).get_data(as_text=True) for path in ("/healthz", "/status",
                                                                   "/metrics")]
    assert any("paused until" in text for text in texts)  # the breaker did speak
    for secret in (WRONG_SECRET, right, *basic):
        assert not [text for text in texts if secret in text], secret


def test_the_sync_process_takes_the_limits_from_the_settings_and_records_no_paused_ticks(
        fake, clock):
    settings = {**untis_settings(fake), "UNTIS_CLIENT_SECRET": WRONG_SECRET, "DAYS_AHEAD": 2,
                "AUTH_FAILURE_LIMIT": 2, "AUTH_PAUSE_SECONDS": 600}
    app = create_app(settings, clock=clock)
    rt = app.extensions["signage"]
    process = build_sync(rt)
    try:
        assert (process.engine.auth_failure_limit, process.engine.auth_pause_s) == (2, 600)
        outcomes = []
        for _ in range(10):
            outcomes.append(process.tick(clock()).outcome)
            clock.advance(seconds=SCHEDULE.refresh_s)  # ten ticks end inside the pause
    finally:
        process.close()
    assert outcomes[:2] == ["failed", "failed"] and set(outcomes[2:]) == {"paused"}
    assert fake.count("token") == 2
    assert [r.outcome for r in rt.store.history()] == ["failed", "failed"]
    assert rt.store.status().auth_paused_until is not None


def test_a_status_stored_before_the_breaker_existed_still_reads():
    old = {"schema": 1, "source": "untis", "last_error": None, "failures": 0,
           "last_success": "2026-11-23T08:00:00+00:00", "last_attempt": None, "cursor": None,
           "last_full_load": None, "not_before": None}
    status = status_from_json(old)
    assert (status.auth_failures, status.auth_paused_until) == (0, None)
    assert status.last_success.isoformat() == "2026-11-23T08:00:00+00:00"


def test_the_breaker_state_survives_the_json_round_trip(clock):
    status = SyncStatus(source="untis", failures=3, auth_failures=3,
                        auth_paused_until=clock() + timedelta(hours=1), last_error="paused")
    assert status_from_json(json.loads(json.dumps(status_to_json(status)))) == status
