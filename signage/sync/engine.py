"""The sync engine: keep the store's snapshot equal to the upstream's timetable window.

One `run_cycle(now)` does, in order: a full load when there is no copy yet (or the periodic full
reload is due), else a window roll when the school-local date moved on (past days dropped, new
days loaded) and a delta (periods modified after the cursor, plus deleted period ids). Everything
a cycle learns is applied to a new snapshot that replaces the old one in one step, and the cursor
advances only after that: a failed call leaves snapshot and cursor as they were. A delta that
brings nothing (the usual quiet cycle) keeps the snapshot as it is, without copying the window:
its cost stays flat however large the school.

The next cursor is the upstream's own clock (`Batch.server_time`) minus `CURSOR_OVERLAP_S`, so a
skewed local clock cannot skip changes; re-applying a period twice is harmless. Only when the
upstream sends no clock does our clock (minus the overlap) stand in.

Refused credentials (`SourceAuthError`) trip a circuit breaker: after `auth_failure_limit`
refusals in a row the engine makes no upstream request at all for `auth_pause_s`, because an
upstream that sees a wrong secret retried every few minutes locks the school's account. The
pause lives in the stored `SyncStatus`, so a restart keeps it, and even a forced cycle honours
it. Only a successful cycle resets the count: after the pause, one more refusal pauses again at
once. Other failures (5xx, timeouts) neither count nor reset, since they prove nothing about
the credentials.

No Flask here: `now` is passed in, timezone-aware.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from signage.domain.calendar import in_school_hours
from signage.domain.model import DayNotice, Snapshot, SyncStatus
from signage.sources.base import (
    Batch,
    Changes,
    Source,
    SourceAuthError,
    SourceBusy,
    SourceError,
)
from signage.store import Store, StoreError
from signage.sync.apply import count_differences, held, in_window, remove, upsert
from signage.sync.schedule import Schedule, backoff_s

log = logging.getLogger(__name__)

CURSOR_OVERLAP_S = 120


@dataclass(frozen=True)
class CycleResult:
    """What one cycle did."""

    # "full", "delta", "skipped", "paused" (refused credentials), "busy" (the upstream is
    # publishing: asked again later, not a failure) or "failed"
    outcome: str
    version: int = 0
    upserts: int = 0
    deletions: int = 0
    differences: int | None = None  # full reload vs the delta-maintained copy
    error: str | None = None
    duration_s: float = 0.0


class SyncEngine:
    """Runs sync cycles of one source into one store."""

    def __init__(
        self,
        source: Source,
        store: Store,
        tz: ZoneInfo,
        days_ahead: int,
        schedule: Schedule,
        auth_failure_limit: int = 3,
        auth_pause_s: float = 3600,
    ) -> None:
        self.source = source
        self.store = store
        self.tz = tz
        self.days_ahead = days_ahead
        self.schedule = schedule
        self.auth_failure_limit = auth_failure_limit
        self.auth_pause_s = auth_pause_s
        self._empty_once = False  # the last answer was an empty window, refused once

    def run_cycle(self, now: datetime, force: bool = False) -> CycleResult:
        """Run one cycle unless paused, backing off or idle; never raise.

        `force` overrides backing off and idling, not the pause after refused credentials:
        each try with a refused secret brings the upstream's account lockout nearer.
        """
        status = self.store.status()
        if status.auth_pause(now) is not None:
            return CycleResult("paused", self.store.version(), error=status.last_error)
        if not force and not self._due(now, status):
            return CycleResult("skipped", self.store.version())
        started = time.perf_counter()
        try:
            result = self._sync(now, status)
        except SourceAuthError as exc:
            return self._refused(now, status, exc, started)
        except SourceBusy as exc:
            return self._busy(now, status, exc, started)
        except SourceError as exc:
            return self._fail(now, status, str(exc), exc.retry_after_s, started)
        except StoreError as exc:
            return self._fail(now, status, f"store: {exc}", None, started)
        except Exception as exc:  # a cycle is a loop boundary: log it, keep the last good snapshot
            log.exception("sync cycle failed unexpectedly")
            return self._fail(now, status, f"internal error ({type(exc).__name__})", None, started)
        return replace(result, duration_s=time.perf_counter() - started)

    def window(self, now: datetime) -> tuple[date, date]:
        """Return the school-local date range the snapshot holds at `now`."""
        today = now.astimezone(self.tz).date()
        end = today + timedelta(days=self.days_ahead)
        last_day = getattr(self.source, "last_day", None)  # an upstream that asks for less
        return today, min(end, max(today, last_day(today))) if last_day is not None else end

    def _due(self, now: datetime, status: SyncStatus) -> bool:
        slack = timedelta(seconds=1)  # the scheduler's tick and a deadline may land together
        if status.last_attempt is not None and status.last_attempt > now + slack:
            # Our clock stepped back (NTP): deadlines taken on the old clock mean nothing now.
            log.warning("sync: the clock went back %s: not waiting for deadlines set before",
                        status.last_attempt - now)
            return True
        if status.not_before is not None and now + slack < status.not_before:
            return False
        local = now.astimezone(self.tz)
        if status.last_attempt is None or in_school_hours(
            local, self.schedule.school_hours, self.store.snapshot()
        ):
            return True
        idle_for = (now - status.last_attempt).total_seconds()
        return idle_for + 1 >= self.schedule.idle_refresh_s

    def _sync(self, now: datetime, status: SyncStatus) -> CycleResult:
        old = self.store.snapshot()
        start, end = self.window(now)
        if self._full_load_due(now, status, old, start):
            return self._full_load(now, status, old, start, end)
        assert old is not None and status.cursor is not None  # noqa: S101 - _full_load_due
        gained = None
        if end > old.window_end:  # the window rolled: load the days it gained
            gained = self.source.fetch_window(max(old.window_end + timedelta(days=1), start), end)
        changes = self.source.fetch_changes(start, end, status.cursor)
        if gained is None and _nothing_new(old, changes, start, end):
            # The usual quiet cycle: no copy of the window, no new snapshot to compare. The same
            # snapshot is handed back, so a store that lost it (Redis restarted empty) has it
            # again.
            self.store.replace(old)
            self._succeed(now, status, changes.batch, full=False)
            log.info("sync: delta, nothing changed, version %d", self.store.version())
            return CycleResult("delta", self.store.version())
        periods = in_window(old, start, end)
        names = {category: dict(table) for category, table in old.names.items()}
        if gained is not None:
            upsert(periods, names, gained, start, end, old)
        upserts = upsert(periods, names, changes.batch, start, end, old)
        # An id both deleted and in the answer was deleted and put back between the cursor and
        # now: it stands (should the deletion be the later event, the overlapping cursor's next
        # cycle reports it again without the period).
        gone = set(changes.deleted) - {p.id for p in changes.batch.periods}
        if changes.complete:
            self._guard_empty(held(periods, changes.batch), changes.batch, start, end)
            gone |= periods.keys() - {p.id for p in changes.batch.periods}
        batch = changes.batch
        deletions = remove(periods, gone, cancel=batch.plain and batch.vanished_cancelled)
        messages = old.messages if batch.messages is None else batch.messages
        notices = _notices(old.notices if batch.notices is None else batch.notices, start, end)
        new = Snapshot(start, end, periods, names, batch.school or old.school, messages, notices)
        version = self.store.replace(new)
        self._succeed(now, status, changes.batch, full=False)
        log.info("sync: delta, %d upserts, %d deletions, version %d", upserts, deletions, version)
        return CycleResult("delta", version, upserts=upserts, deletions=deletions)

    def _full_load_due(
        self, now: datetime, status: SyncStatus, old: Snapshot | None, start: date
    ) -> bool:
        if old is None or status.cursor is None or status.last_full_load is None:
            return True
        # A window that does not overlap the old one (a long outage, a clock jump) is no delta.
        if not old.window_start <= start <= old.window_end:
            return True
        local = now.astimezone(self.tz)
        reload_at = datetime.combine(local.date(), self.schedule.full_reload_at, tzinfo=self.tz)
        if reload_at > local:
            reload_at -= timedelta(days=1)
        return status.last_full_load < reload_at

    def _full_load(
        self, now: datetime, status: SyncStatus, old: Snapshot | None, start: date, end: date
    ) -> CycleResult:
        batch = self.source.fetch_window(start, end)
        kept = in_window(old, start, end) if old is not None else {}
        self._guard_empty(held(kept, batch), batch, start, end)
        names: dict[str, dict[int, str]] = {}
        if batch.plain:
            # The plan lives in the copy alone: a reload marks against it, it does not reset it.
            periods = dict(kept)
            upsert(periods, names, batch, start, end, old)
            remove(periods, kept.keys() - {p.id for p in batch.periods},
                   cancel=batch.vanished_cancelled)
        else:
            periods = {}
            upsert(periods, names, batch, start, end)
        messages = batch.messages if batch.messages is not None else old.messages if old else ()
        notices = batch.notices if batch.notices is not None else old.notices if old else {}
        new = Snapshot(start, end, periods, names, batch.school, messages,
                       _notices(notices, start, end))
        differences = count_differences(old, new) if old is not None else None
        if differences:
            log.warning(
                "sync: full reload found %d periods that differed from the delta-kept copy",
                differences,
            )
        version = self.store.replace(new)
        self._succeed(now, status, batch, full=True)
        log.info("sync: full load, %d periods, version %d", len(periods), version)
        return CycleResult("full", version, upserts=len(periods), differences=differences)

    def _guard_empty(self, held: int, batch: Batch, start: date, end: date) -> None:
        """Refuse the first answer of a whole window with no periods while the copy holds some.

        A school does not drop its whole plan between two polls, so an empty answer is more
        likely broken than true; the same answer on the next try confirms it (the last meeting
        of a term deleted, a room given up) and is taken.
        """
        if not held or any(start <= p.day <= end for p in batch.periods):
            self._empty_once = False
            return
        if not self._empty_once:
            self._empty_once = True
            raise SourceError(
                f"the upstream answered no periods for a window that holds {held}; keeping "
                "the last good copy (the same answer next time is taken as confirmed)"
            )
        self._empty_once = False
        log.warning("sync: the upstream answered an empty window again: taken as confirmed")

    def _succeed(self, now: datetime, status: SyncStatus, batch: Batch, full: bool) -> None:
        # The earlier of both clocks: an upstream clock running ahead would skip changes, and
        # so would ours.
        clock = min(batch.server_time or now, now)
        self.store.write_status(
            replace(
                status,
                source=self.source.name,
                last_success=now,
                last_attempt=now,
                last_error=None,
                cursor=clock - timedelta(seconds=CURSOR_OVERLAP_S),
                last_full_load=now if full else status.last_full_load,
                failures=0,
                not_before=None,
                auth_failures=0,
                auth_paused_until=None,
            )
        )

    def _fail(
        self,
        now: datetime,
        status: SyncStatus,
        error: str,
        retry_after_s: float | None,
        started: float,
        paused_until: datetime | None = None,
    ) -> CycleResult:
        failures = status.failures + 1
        if paused_until is not None:  # an operator has to act: louder than a back-off
            not_before: datetime | None = paused_until
            log.error("sync failed (%d in a row): %s", failures, error)
        else:
            wait_s = backoff_s(failures, self.schedule.refresh_s, retry_after_s)
            when = f"next try in {wait_s:.0f} s" if wait_s else "next try at the next poll"
            log.warning("sync failed (%d in a row), %s: %s", failures, when, error)
            not_before = now + timedelta(seconds=wait_s) if wait_s else None
        failed = replace(
            status,
            source=self.source.name,
            last_attempt=now,
            last_error=error,
            failures=failures,
            not_before=not_before,
        )
        try:
            self.store.write_status(failed)
        except StoreError as exc:  # the store is away too: the next cycle tries again
            log.warning("sync: could not record the failure: %s", exc)
        duration = time.perf_counter() - started
        return CycleResult("failed", self.store.version(), error=error, duration_s=duration)

    def _busy(self, now: datetime, status: SyncStatus, exc: SourceBusy,
              started: float) -> CycleResult:
        """Ask again at the next poll (or after Retry-After); the failure count stays as it was."""
        log.info("sync: %s", exc)
        wait_s = exc.retry_after_s or 0.0
        not_before = now + timedelta(seconds=wait_s) if wait_s else status.not_before
        try:
            self.store.write_status(replace(status, source=self.source.name, last_attempt=now,
                                            not_before=not_before))
        except StoreError as error:  # the store is away too: the next cycle tries again
            log.warning("sync: could not record the wait: %s", error)
        return CycleResult("busy", self.store.version(), error=str(exc),
                           duration_s=time.perf_counter() - started)

    def _refused(
        self, now: datetime, status: SyncStatus, exc: SourceAuthError, started: float
    ) -> CycleResult:
        """Count a refusal of our credentials; at the limit, pause every upstream request."""
        refusals = status.auth_failures + 1
        check = f": {exc.hint}" if exc.hint else ""
        if refusals < self.auth_failure_limit:
            error = (f"{exc}; refusal {refusals} of {self.auth_failure_limit} in a row before "
                     f"the sync pauses{check}")
            return self._fail(now, replace(status, auth_failures=refusals), error, None, started)
        until = now + timedelta(seconds=self.auth_pause_s)
        error = (f"the upstream refused our credentials {refusals} times in a row ({exc}); "
                 f"sync paused until {until.astimezone(UTC):%Y-%m-%d %H:%M} UTC{check}")
        paused = replace(status, auth_failures=refusals, auth_paused_until=until)
        return self._fail(now, paused, error, None, started, paused_until=until)


def _nothing_new(old: Snapshot, changes: Changes, start: date, end: date) -> bool:
    """Tell whether a delta leaves the snapshot as it is: same window, no periods, no
    deletions, no names, school or messages that differ (a complete answer always counts)."""
    batch = changes.batch
    return (
        (start, end) == (old.window_start, old.window_end)
        and not batch.periods
        and not changes.deleted
        and not changes.complete
        and not any(batch.names.values())
        and batch.school in ("", old.school)
        and batch.messages in (None, old.messages)
        and batch.notices in (None, old.notices)
    )


def _notices(notices: Mapping[date, DayNotice], start: date,
             end: date) -> dict[date, DayNotice]:
    """Return the day notices of the window's days."""
    return {day: notice for day, notice in notices.items() if start <= day <= end}
