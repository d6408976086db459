"""The embedded sync job: real APScheduler, real wiring from settings to the fake upstream."""

from __future__ import annotations

import time

import pytest

from signage import create_app
from signage.sync.scheduler import build_sync, start_background
from tests.conftest import untis_settings


@pytest.mark.slow
def test_the_background_job_syncs_every_refresh_interval(fake, clock):
    app = create_app({**untis_settings(fake), "REFRESH_SECONDS": 1}, clock=clock)
    rt = app.extensions["signage"]
    process = build_sync(rt)
    scheduler = start_background(rt, process)
    try:
        job = scheduler.get_job("sync")
        assert job.coalesce is True and job.max_instances == 1
        assert job.trigger.interval.total_seconds() == 1
        deadline = time.monotonic() + 10
        while fake.count("deleted") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
        process.close()
    assert rt.store.version() == 1 and len(rt.store.snapshot().periods) == 36
    assert fake.count("deleted") >= 2  # a full load, then deltas with deleted-periods
    assert rt.store.status().last_error is None


def test_the_demo_source_starts_its_own_loopback_upstream(clock):
    app = create_app({}, clock=clock)
    rt = app.extensions["signage"]
    process = build_sync(rt)
    try:
        result = process.engine.run_cycle(clock())
        assert result.outcome == "full" and result.upserts > 500
        assert process.engine.source.name == "untis"  # the real v3 client, not a shortcut
    finally:
        process.close()
