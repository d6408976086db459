"""The sync process's wiring: build the source and engine, run the engine on an APScheduler job.

Embedded mode runs a BackgroundScheduler next to the web server; `signage sync` a blocking one.
The job ticks every `refresh_s`, never overlaps itself (max_instances=1) and coalesces missed
runs; the engine itself skips ticks while it backs off, while outside school hours, and while
refused credentials pause it (a cheap status read, no upstream request, nothing recorded).
A second job answers the admin's "check the connection" (see `signage.store.checks`): the
leading process runs `signage check`'s probe on a store of its own and stores the report.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from signage.config import Settings
from signage.demo import start_demo
from signage.domain.model import CycleRecord
from signage.runtime import Runtime
from signage.sources.adapters import ADAPTERS
from signage.sources.http import UpstreamSession, make_session
from signage.store import MemoryStore, StoreError, checks
from signage.store.lease import Lease
from signage.sync.check import run_check
from signage.sync.engine import CycleResult, SyncEngine
from signage.sync.schedule import Schedule

log = logging.getLogger(__name__)


@dataclass
class SyncProcess:
    """A ready sync engine, its leader lease (with Redis), and what to close at the end."""

    engine: SyncEngine
    closers: list[Callable[[], None]]
    lease: Lease | None = None
    session: UpstreamSession | None = None

    def tick(self, now: datetime) -> CycleResult | None:
        """Run one cycle if this process leads (always without a lease) and record it for
        operators; None when standing by."""
        if self.lease is not None and not self.lease.acquire():
            return None
        result = self.engine.run_cycle(now)
        # A paused tick sent nothing: recording it would push real cycles out of the history.
        if result.outcome not in ("skipped", "paused"):
            requests = self.session.take_counts() if self.session is not None else {}
            record = CycleRecord(now, result.outcome, result.upserts + result.deletions,
                                 requests, result.duration_s, result.error)
            try:
                self.engine.store.record_cycle(record)
            except StoreError as exc:  # the history is for operators: never fail a cycle
                log.warning("sync: cycle not recorded: %s", exc)
        return result

    def close(self) -> None:
        """Close the source (and the demo upstream, if one runs)."""
        for close in reversed(self.closers):
            close()


def build_sync(rt: Runtime) -> SyncProcess:
    """Build the engine for the configured source; the demo starts its loopback upstream here."""
    settings = rt.settings
    closers: list[Callable[[], None]] = []
    upstream, name = dict(settings.upstream), settings.source
    if name == "demo":
        demo = start_demo(settings.tz)
        closers.append(demo.stop)
        upstream, name = demo.settings(), "untis"
    session = make_session()
    source = ADAPTERS[name].from_settings(upstream, settings.tz, session)
    closers.append(source.close)
    engine = SyncEngine(source, rt.store, settings.tz, settings.days_ahead, schedule_of(settings),
                        settings.auth_failure_limit, settings.auth_pause_s)
    lease = rt.store.lease(settings.lease_s)  # None: the only writer (in memory)
    if lease is not None:
        closers.append(lease.release)
    return SyncProcess(engine, closers, lease, session)


def schedule_of(settings: Settings) -> Schedule:
    """Return the polling schedule the settings ask for."""
    return Schedule(
        refresh_s=settings.refresh_s,
        idle_refresh_s=settings.idle_refresh_s,
        school_hours=settings.school_hours,
        full_reload_at=settings.full_reload_at,
    )


def probe_source(rt: Runtime, out: Callable[[str], None],
                 sample_dir: Path | None = None) -> list[str]:
    """Run `signage check`'s probe (printing with `out`) on the sync's own wiring with a store
    of its own, so the real store is never touched; return the problems."""
    process = build_sync(Runtime(rt.settings, MemoryStore(), clock=rt.clock))
    try:
        return run_check(process, rt.settings, rt.clock, out, sample_dir)
    finally:
        process.close()


def answer_check_request(rt: Runtime, process: SyncProcess) -> bool:
    """Run the connection check an admin asked for, if any and this process leads; store its
    report. Return whether a check ran."""
    try:
        asked = checks.pending(rt.registry)
    except StoreError as exc:
        log.warning("check: cannot read the requests (%s)", exc)
        return False
    if asked is None or (process.lease is not None and not process.lease.held):
        return False
    log.info("check: probing the source, as an admin asked at %s", asked.isoformat())
    lines: list[str] = []
    problems = probe_source(rt, lines.append)
    done = checks.CheckReport(asked, rt.clock(), tuple(lines), not problems)
    try:
        checks.answer(rt.registry, done)
    except StoreError as exc:
        log.warning("check: the report was not stored (%s); it runs again", exc)
    return True


def add_sync_job(scheduler: BaseScheduler, rt: Runtime, process: SyncProcess) -> None:
    """Schedule the sync job: now, then every refresh interval; coalesced, never overlapping.
    Also the job answering the admins' connection checks."""
    scheduler.add_job(
        lambda: process.tick(rt.clock()),
        "interval",
        seconds=rt.settings.refresh_s,
        next_run_time=rt.clock(),
        id="sync",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=rt.settings.refresh_s,
    )
    scheduler.add_job(
        lambda: answer_check_request(rt, process),
        "interval",
        seconds=checks.POLL_S,
        id="check",
        coalesce=True,
        max_instances=1,
    )


def start_background(rt: Runtime, process: SyncProcess) -> BackgroundScheduler:
    """Start a background scheduler running the sync job (embedded mode)."""
    scheduler = BackgroundScheduler(timezone="UTC")
    add_sync_job(scheduler, rt, process)
    scheduler.start()
    return scheduler


def run_blocking(rt: Runtime, process: SyncProcess) -> None:
    """Run the sync job in this thread until interrupted or terminated (the sync process)."""
    scheduler = BlockingScheduler(timezone="UTC")
    add_sync_job(scheduler, rt, process)
    # SIGTERM (systemd, kill) ends the loop cleanly, so the lease is released at once.
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("sync process stopping")
