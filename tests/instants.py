"""The instant a shifted test run starts at (`scripts/test-at.sh`, `make test-at`): parsed from
school-local text, or derived from a commit's hash so that each CI run proves another instant.

`python -m tests.instants TEXT` prints the offset in seconds from the real clock and the instant.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, time, timedelta

from tests.conftest import TZ

# A commit's instant falls on one of these school-local times half of the time: the edges where
# a day, the shown day or school hours turn (other minutes of the day the other half).
EDGES = (time(0, 0), time(23, 58), time(6, 29), time(6, 31), time(16, 59), time(17, 1),
         time(7, 50), time(12, 0))
YEARS = 4


def instant_of(text: str, now: datetime) -> datetime:
    """Return the instant `text` names: a commit hash, or an ISO 8601 date-time (school-local
    unless it carries an offset; an ambiguous local time is its first occurrence)."""
    if re.fullmatch(r"[0-9a-f]{12,40}", text):
        return from_hash(text, now)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=TZ)


def from_hash(sha: str, now: datetime) -> datetime:
    """Return a school-local minute within the next four years, picked by a commit's hash."""
    number = int(sha[:12], 16)
    day = now.astimezone(TZ).date() + timedelta(days=number % (YEARS * 366))
    number //= YEARS * 366
    if number % 2:
        moment = EDGES[(number // 2) % len(EDGES)]
    else:
        minute = (number // 2) % (24 * 60)
        moment = time(minute // 60, minute % 60)
    return datetime.combine(day, moment, tzinfo=TZ)


def describe(moment: datetime) -> str:
    """Return an instant as a person reads it, school-local and in UTC."""
    local = moment.astimezone(TZ)
    return (f"{local:%a %Y-%m-%d %H:%M} {local.tzname()} "
            f"({moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC)")


def main(argv: list[str]) -> int:
    now = datetime.now(UTC)
    moment = instant_of(argv[0], now)
    print(f"{round((moment - now).total_seconds()):+d} {describe(moment)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
