"""Operators' pages: /metrics in Prometheus text format and /status with the last cycles."""

from __future__ import annotations

import re

from signage import create_app
from signage.demo.server import Fault
from signage.store.redis_store import RedisStore
from signage.sync.scheduler import build_sync
from tests.conftest import untis_settings

SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? (\d+(\.\d+)?|NaN)$')


def synced_app(fake, clock, **settings):
    app = create_app({**untis_settings(fake), "DAYS_AHEAD": 2, **settings}, clock=clock)
    rt = app.extensions["signage"]
    process = build_sync(rt)
    return app, process


def test_metrics_count_cycles_requests_and_responses(fake, clock):
    app, process = synced_app(fake, clock)
    try:
        process.tick(clock())
        clock.advance(minutes=2)
        fake.inject(Fault("timetable", status=500))
        process.tick(clock())
        clock.advance(minutes=2)
        process.tick(clock())
        client = app.test_client()
        client.get("/api/v1/classes")
        client.get("/board/class/nope")
        text = client.get("/metrics").get_data(as_text=True)
    finally:
        process.close()
    samples = [line for line in text.splitlines() if not line.startswith("#")]
    assert all(SAMPLE.match(line) for line in samples), samples
    for expected in ('signage_sync_cycles_total{outcome="full"} 1',
                     'signage_sync_cycles_total{outcome="failed"} 1',
                     'signage_sync_cycles_total{outcome="delta"} 1',
                     'signage_upstream_requests_total{endpoint="token",status="200"} 1',
                     'signage_upstream_requests_total{endpoint="timetable",status="200"} 2',
                     'signage_upstream_requests_total{endpoint="timetable",status="500"} 1',
                     'signage_upstream_requests_total{endpoint="deleted-periods",status="200"} 1',
                     "signage_periods_in_window 36", "signage_snapshot_stale 0",
                     "signage_sync_auth_paused 0",
                     'signage_leader_info{holder="embedded"} 1'):
        assert expected in samples, expected
    assert any(s.startswith('signage_http_responses_total{status="404"') for s in samples)


def test_status_shows_the_last_cycles_with_their_errors(fake, clock):
    app, process = synced_app(fake, clock)
    try:
        process.tick(clock())
        clock.advance(minutes=2)
        fake.inject(Fault("deleted", status=503, headers={"Retry-After": "120"}))
        process.tick(clock())
        page = app.test_client().get("/status").get_data(as_text=True)
    finally:
        process.close()
    assert "<svg" in page and page.count("<rect") == 2
    assert "HTTP 503" in page and "failed" in page and "full" in page
    assert fake.credentials[1] not in page


def test_with_redis_every_process_sees_the_same_history_and_leader(fake, clock, redis_url,
                                                                   redis_prefix, tmp_path):
    app, process = synced_app(fake, clock, REDIS_URL=redis_url, REDIS_PREFIX=redis_prefix,
                              COPY_DIR=str(tmp_path))
    worker = create_app({**untis_settings(fake), "REDIS_URL": redis_url,
                         "REDIS_PREFIX": redis_prefix, "COPY_DIR": str(tmp_path)}, clock=clock)
    try:
        process.tick(clock())
        text = worker.test_client().get("/metrics").get_data(as_text=True)
        assert 'signage_sync_cycles_total{outcome="full"} 1' in text
        assert f'signage_leader_info{{holder="{process.lease.token}"}} 1' in text
        assert "full" in worker.test_client().get("/status").get_data(as_text=True)
    finally:
        process.close()
        for app_ in (app, worker):
            store = app_.extensions["signage"].store
            if isinstance(store, RedisStore):
                store.close()
