"""How fresh the data is: shared by /healthz and the boards' "Stand" line and stale badge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from signage.config import Settings
from signage.domain.calendar import in_school_hours
from signage.domain.model import Snapshot
from signage.runtime import Runtime


@dataclass(frozen=True)
class Freshness:
    """The last successful sync, its age, and the limit past which data counts as stale."""

    last_success: datetime | None  # aware UTC
    age_s: int | None
    stale_after_s: int

    @property
    def state(self) -> str:
        """Return "never", "ok" or "stale"."""
        if self.age_s is None:
            return "never"
        return "ok" if self.age_s <= self.stale_after_s else "stale"


def freshness(rt: Runtime, snapshot: Snapshot | None = None) -> Freshness:
    """Return the freshness of the store's data now; outside school hours the sync polls less
    often, so the limit is the idle one then. Pass the snapshot a view already holds, so the
    store is not read again on the hot path."""
    settings = rt.settings
    last = rt.store.status().last_success
    if last is None:
        return Freshness(None, None, settings.stale_after_s)
    now = rt.clock()
    snapshot = snapshot if snapshot is not None else rt.store.snapshot()
    busy = _busy(now, settings, snapshot) and _busy(last, settings, snapshot)
    limit = settings.stale_after_s if busy else settings.idle_stale_after_s
    return Freshness(last, max(0, round((now - last).total_seconds())), limit)


def _busy(moment: datetime, settings: Settings, snapshot: Snapshot | None) -> bool:
    return in_school_hours(moment.astimezone(settings.tz).replace(tzinfo=None),
                           settings.school_hours, snapshot)
