"""The power schedule from the school's calendar (issue 20): a school day, a Saturday, a
holiday inside the window and the night the clocks go back, with the clock passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from signage.domain.model import Period, Snapshot
from signage.domain.power import ALWAYS, PowerPlan, parse_plan, power_state, week_hours
from tests.conftest import TZ

# The week after the clocks went back (Sun 25 Oct 2026, 03:00 CEST -> 02:00 CET): lessons on
# Fri 23, Mon 26, Tue 27 and Thu 29; Wed 28 is a holiday, the weekend has none.
SCHOOL_DAYS = [date(2026, 10, 23), date(2026, 10, 26), date(2026, 10, 27), date(2026, 10, 29)]
FIRST, LAST = time(8, 0), time(13, 5)


def snapshot() -> Snapshot:
    periods = {}
    for n, day in enumerate(SCHOOL_DAYS):
        for k, (start, end) in enumerate([(FIRST, time(8, 45)), (time(12, 20), LAST)]):
            pid = 10 * n + k
            periods[pid] = Period(pid, datetime.combine(day, start), datetime.combine(day, end))
    return Snapshot(date(2026, 10, 23), date(2026, 10, 30), periods, {})


def at(day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    """Return a school-local moment as the aware UTC instant the app's clock gives."""
    return datetime.combine(day, time(hour, minute), tzinfo=TZ).replace(fold=fold).astimezone(UTC)


def local(moment: datetime | None) -> str | None:
    return moment.astimezone(TZ).strftime("%a %d.%m. %H:%M %z") if moment else None


@pytest.mark.parametrize(("now", "on", "until", "reason"), [
    (at(date(2026, 10, 26), 7, 14), False, "Mon 26.10. 07:15 +0100", "before school"),
    (at(date(2026, 10, 26), 7, 15), True, "Mon 26.10. 13:35 +0100", "school day"),
    (at(date(2026, 10, 26), 13, 34), True, "Mon 26.10. 13:35 +0100", "school day"),
    (at(date(2026, 10, 26), 13, 35), False, "Tue 27.10. 07:15 +0100", "after school"),
    (at(date(2026, 10, 24), 10, 0), False, "Mon 26.10. 07:15 +0100", "no lessons today"),
    (at(date(2026, 10, 28), 10, 0), False, "Thu 29.10. 07:15 +0100", "no lessons today"),
    # The night the clocks go back: 02:30 happens twice; both are dark until Monday.
    (at(date(2026, 10, 25), 2, 30), False, "Mon 26.10. 07:15 +0100", "no lessons today"),
    (at(date(2026, 10, 25), 2, 30, fold=1), False, "Mon 26.10. 07:15 +0100", "no lessons today"),
    (at(date(2026, 10, 23), 9, 0), True, "Fri 23.10. 13:35 +0200", "school day"),  # CEST
    (at(date(2026, 10, 30), 10, 0), False, None, "no lessons in the synced window"),
], ids=["before", "from 45 min before", "until 30 min after", "after", "saturday", "holiday",
        "clocks go back", "the repeated hour", "before the change", "beyond the window"])
def test_auto_is_awake_from_before_the_first_period_until_after_the_last(now, on, until,
                                                                          reason):
    state = power_state(PowerPlan(), snapshot(), now, TZ)
    assert (state.on, local(state.until), state.reason) == (on, until, reason)


def test_fixed_hours_apply_on_school_days_only_and_always_never_sleeps():
    hours = parse_plan("06:30-17:00")
    monday, holiday = date(2026, 10, 26), date(2026, 10, 28)
    assert power_state(hours, snapshot(), at(monday, 6, 30), TZ).on
    assert local(power_state(hours, snapshot(), at(monday, 16, 0), TZ).until) == (
        "Mon 26.10. 17:00 +0100")
    assert not power_state(hours, snapshot(), at(holiday, 10, 0), TZ).on
    assert power_state(PowerPlan(ALWAYS), snapshot(), at(holiday, 3, 0), TZ).on
    week = week_hours(hours, snapshot(), monday)
    assert [(d.day, h is not None) for d, h in week] == [
        (26, True), (27, True), (28, False), (29, True), (30, False), (31, False), (1, False)]


def test_without_a_timetable_yet_screens_stay_awake():
    state = power_state(PowerPlan(), None, at(date(2026, 10, 24), 3, 0), TZ)
    assert state.on and state.reason == "no timetable yet"


@pytest.mark.parametrize("value", ["", "auto", "AUTO", "always", " 06:30-17:00 ", "6:30 - 17:00"])
def test_plans_that_parse(value):
    assert parse_plan(value) is not None


@pytest.mark.parametrize("value", ["sometimes", "17:00-06:30", "06:30", "25:00-26:00",
                                   "06:30-17:60", "06:30-06:30", "on"])
def test_malformed_plans_are_refused(value):
    assert parse_plan(value) is None


def test_first_and_last_period_of_each_day_are_known():
    snap = snapshot()
    assert snap.first_start_by_day[date(2026, 10, 26)] == datetime(2026, 10, 26, 8, 0)
    assert snap.last_end_by_day[date(2026, 10, 26)] == datetime(2026, 10, 26, 13, 5)
    assert date(2026, 10, 28) not in snap.first_start_by_day
    assert timedelta(0) < snap.last_end_by_day[date(2026, 10, 23)] - snap.first_start_by_day[
        date(2026, 10, 23)]
