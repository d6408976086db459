"""When screens are on: a power schedule from the school's own calendar.

A `PowerPlan` is `auto` (from 45 minutes before a day's first period until 30 minutes after its
last, on days with periods), `always`, or fixed on-hours on days with periods. `power_state`
tells whether a screen is on at a moment, until when, and why. A day a changes-only upstream
lists (the WebUntis monitor) is a school day on `LISTED_HOURS`. Days without periods inside the
synced window (weekends, holidays) are dark; beyond the window the plan knows nothing, and a
screen asks again. Pure: no Flask, no I/O. Times of periods are school-local and naive; `now` is
timezone-aware, and `until` comes back aware in the school's zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from signage.domain.model import Snapshot

BEFORE_FIRST = timedelta(minutes=45)
AFTER_LAST = timedelta(minutes=30)
# A day a changes-only upstream lists (the WebUntis monitor: no regular plan to read the hours
# from) is on these hours, stretched to cover its changes; SIGNAGE_SCREENS_ON=HH:MM-HH:MM sets
# the school's own.
LISTED_HOURS = (time(7, 0), time(17, 0))
AUTO, ALWAYS, HOURS = "auto", "always", "hours"
_RANGE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


@dataclass(frozen=True)
class PowerPlan:
    """How a screen's on-hours are found."""

    mode: str = AUTO  # auto, always or hours
    hours: tuple[time, time] | None = None  # with mode hours: on from .. to, on school days

    def __str__(self) -> str:
        if self.mode == HOURS and self.hours:
            return f"{self.hours[0]:%H:%M}-{self.hours[1]:%H:%M}"
        return self.mode


@dataclass(frozen=True)
class PowerState:
    """Whether a screen is on now, until when (None: no change known), and why."""

    on: bool
    until: datetime | None
    reason: str  # e.g. "school day", "no lessons", "emergency", "woken by an admin"

    def to_json(self) -> dict:
        return {"on": self.on, "until": self.until.isoformat() if self.until else None,
                "reason": self.reason}


def parse_plan(value: str | None) -> PowerPlan | None:
    """Return the plan a setting names (`auto`, `always`, `HH:MM-HH:MM`; empty: auto), None
    when it is malformed."""
    text = (value or "").strip().lower()
    if text in ("", AUTO):
        return PowerPlan()
    if text == ALWAYS:
        return PowerPlan(ALWAYS)
    found = _RANGE.fullmatch(text)
    if found is None:
        return None
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) >= (h2, m2):
        return None
    return PowerPlan(HOURS, (time(h1, m1), time(h2, m2)))


def on_hours(plan: PowerPlan, snapshot: Snapshot | None, day: date) -> tuple[datetime,
                                                                            datetime] | None:
    """Return a day's on-hours as naive school-local times, None when the screen stays dark
    (a day without periods), or the whole day when the plan is `always`."""
    if plan.mode == ALWAYS:
        return datetime.combine(day, time()), datetime.combine(day + timedelta(days=1), time())
    listed = snapshot is not None and day in snapshot.notices
    if snapshot is None or (day not in snapshot.last_end_by_day and not listed):
        return None
    if plan.mode == HOURS and plan.hours:
        return datetime.combine(day, plan.hours[0]), datetime.combine(day, plan.hours[1])
    starts = [datetime.combine(day, LISTED_HOURS[0])] if listed else []
    ends = [datetime.combine(day, LISTED_HOURS[1])] if listed else []
    if day in snapshot.last_end_by_day:
        starts.append(snapshot.first_start_by_day[day] - BEFORE_FIRST)
        ends.append(snapshot.last_end_by_day[day] + AFTER_LAST)
    return min(starts), max(ends)


def power_state(plan: PowerPlan, snapshot: Snapshot | None, now: datetime,
                tz: ZoneInfo) -> PowerState:
    """Return whether a screen on `plan` is on at `now`, and until when."""
    if plan.mode == ALWAYS:
        return PowerState(True, None, "always on")
    if snapshot is None:  # before the first sync: better awake than dark for no reason
        return PowerState(True, None, "no timetable yet")
    local = now.astimezone(tz).replace(tzinfo=None)
    today = local.date()
    hours = on_hours(plan, snapshot, today)
    if hours is not None and hours[0] <= local < hours[1]:
        return PowerState(True, _aware(hours[1], tz), "school day")
    if hours is not None and local < hours[0]:
        return PowerState(False, _aware(hours[0], tz), "before school")
    day = today + timedelta(days=1)
    while day <= snapshot.window_end:
        following = on_hours(plan, snapshot, day)
        if following is not None:
            reason = "after school" if hours is not None else "no lessons today"
            return PowerState(False, _aware(following[0], tz), reason)
        day += timedelta(days=1)
    return PowerState(False, None, "no lessons in the synced window")


def week_hours(plan: PowerPlan, snapshot: Snapshot | None, first: date,
               days: int = 7) -> list[tuple[date, tuple[datetime, datetime] | None]]:
    """Return the on-hours of `days` days from `first` (for the admin's overview)."""
    return [(first + timedelta(days=n), on_hours(plan, snapshot, first + timedelta(days=n)))
            for n in range(days)]


def _aware(local: datetime, tz: ZoneInfo) -> datetime:
    """Return a naive school-local time as an aware one (the earlier of a repeated hour)."""
    return local.replace(tzinfo=tz)
