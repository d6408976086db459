"""The school calendar: days with periods, school hours, and the day boards show."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from signage.domain.model import Snapshot


def has_periods(snapshot: Snapshot | None, day: date) -> bool:
    """Tell whether `day` is a school day: the snapshot holds a period on it, or the upstream
    lists the day (a changes-only upstream such as the WebUntis monitor, whose quiet days hold
    no period)."""
    return snapshot is not None and (day in snapshot.last_end_by_day or day in snapshot.notices)


def in_school_hours(
    local_now: datetime, hours: tuple[time, time], snapshot: Snapshot | None
) -> bool:
    """Tell whether `local_now` (school-local) lies in school hours on a day with periods.

    Without a snapshot yet, any time within the hours counts: better to poll than to wait.
    """
    begin, end = hours
    if not begin <= local_now.time() < end:
        return False
    return snapshot is None or has_periods(snapshot, local_now.date())


def display_day(snapshot: Snapshot | None, local_now: datetime, switch_at: time) -> date:
    """Return the day boards show: today, or the next school day after `switch_at` or after
    today's last period; days without periods (weekends, holidays) are skipped within the
    window. `local_now` is school-local."""
    today = local_now.date()
    if snapshot is None:
        return today
    # A listed day's periods are its changes alone: their last end is not the day's.
    listed = today in snapshot.notices
    last_end = None if listed else snapshot.last_end_by_day.get(today)
    over = local_now.time() >= switch_at or (last_end is not None and local_now >= last_end)
    day = today + timedelta(days=1) if over or (last_end is None and not listed) else today
    while day <= snapshot.window_end:
        if has_periods(snapshot, day):
            return day
        day += timedelta(days=1)
    return today


def next_school_day(snapshot: Snapshot, day: date) -> date:
    """Return the first day after `day` with periods inside the window; the day after `day`
    when none has any (a board then says there is no data for it)."""
    following = day + timedelta(days=1)
    while following <= snapshot.window_end:
        if has_periods(snapshot, following):
            return following
        following += timedelta(days=1)
    return day + timedelta(days=1)
