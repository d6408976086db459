"""The instants shifted test runs start at (`make test-at`): what a person types, and what a
commit picks for CI."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import TZ
from tests.instants import EDGES, YEARS, describe, from_hash, instant_of

NOW = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "utc"), [
    ("2028-02-29 07:50", datetime(2028, 2, 29, 6, 50, tzinfo=UTC)),
    ("2027-12-31 23:59", datetime(2027, 12, 31, 22, 59, tzinfo=UTC)),
    ("2027-10-31 02:30", datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),  # the first 02:30 (CEST)
    ("2027-10-31T02:30+01:00", datetime(2027, 10, 31, 1, 30, tzinfo=UTC)),  # the second one
])
def test_a_typed_instant_is_school_local_unless_it_carries_an_offset(text, utc):
    assert instant_of(text, NOW).astimezone(UTC) == utc  # (an ambiguous time equals none)


def test_each_commit_picks_a_school_local_minute_within_the_next_four_years():
    picked = [from_hash(hashlib.sha256(bytes([n % 256, n // 256])).hexdigest()[:40], NOW)
              for n in range(1000)]
    assert all(NOW - timedelta(days=1) <= p <= NOW + timedelta(days=YEARS * 366 + 1)
               for p in picked)
    assert len({p.date() for p in picked}) > 600  # spread over the days (about 725 expected)
    edges = sum(p.astimezone(TZ).time() in EDGES for p in picked)
    assert 0.3 < edges / len(picked) < 0.7  # about half of them on a day's edges
    sha = "8dfa7d0c1a2b3c4d5e6f708192a3b4c5d6e7f809"
    assert from_hash(sha, NOW) == instant_of(sha, NOW)  # the same commit, the same instant


def test_an_instant_is_described_school_local_and_in_utc():
    assert describe(datetime(2027, 10, 31, 1, 30, tzinfo=UTC)) == (
        "Sun 2027-10-31 02:30 CET (2027-10-31 01:30 UTC)")
