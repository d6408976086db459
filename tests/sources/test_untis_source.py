"""The WebUntis v3 client against the fake server over real HTTP: auth, protocol, faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signage.demo.server import API, FakeUntis, Fault
from signage.sources.base import SourceError, SourceUnavailable
from signage.sources.http import PoliteRetry
from signage.sources.untis import TOKEN_MARGIN_S, UntisSource
from tests.conftest import MONDAY, TZ

WEDNESDAY = MONDAY + timedelta(days=2)


def test_full_load_parses_periods_names_and_the_upstream_clock(fake, source, clock):
    batch = source.fetch_window(MONDAY, WEDNESDAY)
    assert len(batch.periods) == 36
    assert batch.names["classes"] == {1: "5a", 2: "5b", 3: "10a"}
    assert batch.school == "Testschule"
    assert batch.server_time == clock()
    first = min(batch.periods, key=lambda p: p.id)
    assert first.start == datetime(2026, 11, 23, 8, 0)
    assert first.ref_list("teachers")[0].id == 1


def test_token_request_uses_client_credentials_and_is_cached(fake, source):
    source.fetch_window(MONDAY, MONDAY)
    source.fetch_window(MONDAY, MONDAY)
    token_calls = [r for r in fake.requests if r.endpoint == "token"]
    api_calls = [r for r in fake.requests if r.endpoint == "timetable"]
    assert len(token_calls) == 1 and token_calls[0].status == 200
    assert [r.status for r in api_calls] == [200, 200]
    assert api_calls[0].bearer and api_calls[0].bearer == api_calls[1].bearer
    assert all(r.gzip for r in fake.requests)


def test_token_is_renewed_before_it_expires(fake, session):
    ticks = [0.0]
    client_id, secret = fake.credentials
    source = UntisSource(fake.url, fake.tenant, client_id, secret, TZ, session,
                         monotonic=lambda: ticks[0])
    source.fetch_window(MONDAY, MONDAY)
    ticks[0] = fake.token_ttl_s - TOKEN_MARGIN_S + 1  # inside the renewal margin
    source.fetch_window(MONDAY, MONDAY)
    assert fake.count("token") == 2
    bearers = [r.bearer for r in fake.requests if r.endpoint == "timetable"]
    assert bearers[0] != bearers[1]


def test_a_401_renews_the_token_once_and_retries(fake, source):
    source.fetch_window(MONDAY, MONDAY)
    fake.expire_tokens()
    batch = source.fetch_window(MONDAY, MONDAY)
    assert len(batch.periods) == 12
    assert fake.count("token") == 2
    assert [r.status for r in fake.requests if r.endpoint == "timetable"] == [200, 401, 200]


def test_a_401_on_every_call_is_an_error_after_one_renewal(fake, source):
    fake.inject(Fault("timetable", status=401, times=5))
    with pytest.raises(SourceError, match="HTTP 401"):
        source.fetch_window(MONDAY, MONDAY)
    assert fake.count("token") == 2
    assert fake.count("timetable") == 2


def test_wrong_credentials_name_the_upstream_error_but_not_the_secret(fake, session):
    source = UntisSource(fake.url, fake.tenant, "signage-demo", "wrong-secret", TZ, session)
    with pytest.raises(SourceError) as info:
        source.fetch_window(MONDAY, MONDAY)
    assert "HTTP 401" in str(info.value) and "invalid_client" in str(info.value)
    assert "wrong-secret" not in str(info.value)
    assert not isinstance(info.value, SourceUnavailable)


def test_v3_error_body_is_named_in_the_error(fake, source):
    fake.inject(Fault("timetable", status=400,
                      body=b'{"errorCode":"INVALID_DATE","errorMessage":"start after end",'
                           b'"requestId":"r1","traceId":"t1"}'))
    with pytest.raises(SourceError, match="HTTP 400: INVALID_DATE start after end"):
        source.fetch_window(MONDAY, MONDAY)


@pytest.mark.slow
def test_retry_after_on_429_is_honoured(fake, source):
    fake.inject(Fault("timetable", status=429, headers={"Retry-After": "1"}))
    batch = source.fetch_window(MONDAY, MONDAY)
    assert len(batch.periods) == 12
    first, second = [r for r in fake.requests if r.endpoint == "timetable"]
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 0.9


@pytest.mark.slow
def test_retry_after_on_the_token_endpoint_is_honoured(fake, source):
    fake.inject(Fault("token", status=429, headers={"Retry-After": "1"}))
    source.fetch_window(MONDAY, MONDAY)
    first, second = [r for r in fake.requests if r.endpoint == "token"]
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.9


def test_a_long_retry_after_is_handed_to_the_caller_instead_of_slept(fake, source):
    wait = PoliteRetry.MAX_RETRY_AFTER_S * 20
    fake.inject(Fault("timetable", status=429, headers={"Retry-After": str(int(wait))}))
    with pytest.raises(SourceUnavailable) as info:
        source.fetch_window(MONDAY, MONDAY)
    assert info.value.retry_after_s == wait
    assert fake.count("timetable") == 1


def test_503s_are_retried_with_backoff(fake, source):
    fake.inject(Fault("timetable", status=503, times=2))
    assert len(source.fetch_window(MONDAY, MONDAY).periods) == 12
    assert [r.status for r in fake.requests if r.endpoint == "timetable"] == [503, 503, 200]


def test_a_500_is_unavailable_without_retrying(fake, source):
    fake.inject(Fault("timetable", status=500))
    with pytest.raises(SourceUnavailable, match="HTTP 500"):
        source.fetch_window(MONDAY, MONDAY)
    assert fake.count("timetable") == 1


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        (Fault("timetable", status=200, body=b"{not json"), SourceError, "not valid JSON"),
        (Fault("timetable", status=200, body=b"[1, 2]"), SourceError, "not an object"),
        (Fault("timetable", status=200, body=b'{"timetableData": {"periods": [{"id": "x"}]}}'),
         SourceError, "no numeric id"),
        (Fault("timetable", status=200, truncate=True), SourceError, "GET /timetable"),
        (Fault("deleted", status=200, body=b'{"nothing": 1}'), SourceError, "deleted-periods"),
    ],
    ids=["malformed JSON", "wrong shape", "period without id", "truncated gzip",
         "deleted-periods of the wrong shape"],
)
def test_unusable_answers_are_one_source_error(fake, source, fault, error, message):
    fake.inject(fault)
    with pytest.raises(error, match=message):
        source.fetch_changes(MONDAY, MONDAY, datetime(2026, 11, 23, 7, 0, tzinfo=UTC))


@pytest.mark.slow
def test_a_hang_past_the_read_timeout_is_unavailable(fake, source):
    fake.inject(Fault("timetable", status=200, delay_s=1.5, times=4))  # the try and 3 retries
    with pytest.raises(SourceUnavailable, match="timed out"):
        source.fetch_window(MONDAY, MONDAY)


def test_a_refused_connection_is_unavailable(fake, source):
    fake.stop()
    with pytest.raises(SourceUnavailable, match="connection failed"):
        source.fetch_window(MONDAY, MONDAY)


def test_changes_send_the_cursor_in_utc_to_both_endpoints(fake, source, clock):
    since = clock()  # 09:00 in Berlin, 08:00 UTC
    clock.advance(minutes=10)
    fake.update_period(1010, status="CANCELLED")
    fake.delete_period(1011)
    changes = source.fetch_changes(MONDAY, WEDNESDAY, since)
    assert [p.id for p in changes.batch.periods] == [1010]
    assert changes.deleted == {1011}
    timetable, deleted = [r for r in fake.requests if r.endpoint in ("timetable", "deleted")]
    assert timetable.params["dateLastModifiedAfter"] == ["2026-11-23T08:00:00"]
    assert deleted.params["dateLastModifiedAfter"] == ["2026-11-23T08:00:00"]
    # Five weeks around the window, whole days: a period moved out of it is seen too.
    assert timetable.params["start"] == ["2026-10-19T00:00:00"]
    assert timetable.params["end"] == ["2026-12-30T23:59:59"]


def test_a_period_moved_out_of_the_window_leaves_the_copy_at_the_next_delta(fake, engine, store,
                                                                            clock):
    engine.run_cycle(clock())
    clock.advance(minutes=2)
    fake.update_period(2010, start="2026-11-30T08:00", end="2026-11-30T08:45")
    assert engine.run_cycle(clock()).outcome == "delta"
    assert 2010 not in store.snapshot().periods


def test_a_period_deleted_and_put_back_under_its_id_stays(fake, engine, store, clock):
    engine.run_cycle(clock())
    kept = dict(fake.periods[1010])
    fake.delete_period(1010)
    clock.advance(seconds=20)
    fake.put_period(kept)
    for _ in range(3):  # the deletion stays in deleted-periods while the cursor overlaps it
        clock.advance(minutes=2)
        assert engine.run_cycle(clock()).outcome == "delta"
        assert 1010 in store.snapshot().periods


@pytest.fixture
def elsewhere(clock):
    """A second fake upstream on another loopback port: where a redirect would lead."""
    server = FakeUntis(TZ, clock=clock).start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("endpoint", "status", "path"),
    [
        ("token", 302, "/WebUntis/api/sso/v3/demo/token"),
        ("token", 307, "/WebUntis/api/sso/v3/demo/token"),
        ("token", 308, "/WebUntis/api/sso/v3/demo/token"),
        ("timetable", 301, f"{API}/timetable"),
        ("timetable", 302, f"{API}/timetable"),
        ("timetable", 307, f"{API}/timetable"),
        ("deleted", 303, f"{API}/timetable/deleted-periods"),
        ("deleted", 308, f"{API}/timetable/deleted-periods"),
    ],
    ids=["token 302", "token 307", "token 308", "timetable 301", "timetable 302",
         "timetable 307", "deleted-periods 303", "deleted-periods 308"],
)
def test_a_redirect_is_an_error_and_is_not_followed(fake, source, elsewhere, endpoint, status,
                                                    path):
    location = f"{elsewhere.url}{path}?access_token=carried-along"
    fake.inject(Fault(endpoint, status=status, headers={"Location": location}, body=b"{}"))
    with pytest.raises(SourceError) as info:
        source.fetch_changes(MONDAY, MONDAY, datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
    message = str(info.value)
    host = elsewhere.url.removeprefix("http://")
    assert f"HTTP {status} redirect to {host} not followed" in message
    assert "carried-along" not in message and "\n" not in message
    assert not isinstance(info.value, SourceUnavailable)
    assert list(elsewhere.requests) == []  # no request at all, so no credential either
    assert fake.count(endpoint) == 1


def test_a_redirect_without_a_location_is_an_error_too(fake, source):
    fake.inject(Fault("timetable", status=302, body=b"{}"))
    with pytest.raises(SourceError, match=r"GET /timetable: HTTP 302 redirect not followed"):
        source.fetch_window(MONDAY, MONDAY)


def test_the_session_follows_no_redirect_even_when_a_call_forgets_to_refuse(fake, session,
                                                                            elsewhere):
    fake.inject(Fault("timetable", status=302, body=b"{}",
                      headers={"Location": f"{elsewhere.url}{API}/timetable"}))
    with pytest.raises(SourceError, match="HTTP 302 redirect to 127.0.0.1:"):
        session.get(f"{fake.url}{API}/timetable", headers={"Authorization": "Bearer t0ken"})
    assert list(elsewhere.requests) == []
    assert session.take_counts() == {"timetable 302": 1}
