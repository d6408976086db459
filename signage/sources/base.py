"""The contract every upstream adapter fulfils, and the two errors it may raise.

An adapter turns its upstream into `Batch`es of `Period`s with display names. `fetch_window`
loads every period of a date range; `fetch_changes` returns what changed since a UTC instant
plus the ids of deleted periods. Both raise `SourceUnavailable` for transport trouble (refused,
timed out, 429/5xx), `SourceAuthError` when the upstream refuses our credentials, and
`SourceError` for a payload or answer that cannot be used; either way the sync engine keeps the
last good snapshot. Refused credentials are counted apart: retrying a wrong secret too often
locks the school's upstream account, so the engine pauses after a few in a row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from signage.domain.model import DayNotice, Period


class SourceError(Exception):
    """The upstream answered, but with something we cannot use (bad payload, refused request)."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SourceAuthError(SourceError):
    """The upstream refused our credentials: its token (or login) endpoint answered 401 or 403.

    Only the credential exchange raises it; a 401 on a data call is an expired token, not a
    wrong secret. `hint` tells the operator which settings to check, never their values.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class SourceSetupError(SourceError):
    """The upstream answered, but the settings point at something it does not offer (an
    unknown school, a list that is not public); the message says what to change."""


class SourceUnavailable(SourceError):
    """The upstream could not be reached or is overloaded (refused, timeout, 429, 5xx)."""


class SourceBusy(SourceUnavailable):
    """The upstream is publishing a new timetable: ask again later. Not a failure of the
    source (a planner's daily routine), so it neither counts nor backs the sync off."""


@dataclass(frozen=True)
class Batch:
    """Periods and the display names they reference, as one upstream answer delivered them."""

    periods: Sequence[Period]
    names: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    school: str = ""
    server_time: datetime | None = None  # the upstream's clock (aware, UTC) when it answered
    # True: the periods tell only the current state (references REGULAR, no change statuses);
    # the engine marks substitutions, room changes, extra and vanished lessons against its copy
    # (see signage.sync.reconcile). A plain period may still carry the upstream's own knowledge of
    # the plan as REMOVED (planned, no longer) and ADDED references.
    plain: bool = False
    # For a plain batch: a period missing from a complete answer (or moved out of the window)
    # did not take place, and the board shows it cancelled (upstreams that drop cancelled
    # lessons). False: it was deleted (upstreams that report cancellations themselves).
    vanished_cancelled: bool = True
    # The upstream's own messages for the boards' ticker; None: this answer says nothing about
    # them (the copy keeps its own), a tuple replaces them.
    messages: tuple[str, ...] | None = None
    # What the upstream says about whole days (absent teachers and classes); None: nothing
    # (the copy keeps its own), a mapping replaces them.
    notices: Mapping[date, DayNotice] | None = None


@dataclass(frozen=True)
class Changes:
    """What changed upstream since a cursor: upserted periods and deleted period ids."""

    batch: Batch
    deleted: frozenset[int]
    # True: the batch holds every period of the range (an upstream without deltas answered
    # the whole window), so any other period of the copy's range is gone too.
    complete: bool = False


class Source(Protocol):
    """An upstream timetabling system."""

    name: str

    def fetch_window(self, start: date, end: date) -> Batch:
        """Return every period from `start` to `end` (both school-local dates, inclusive)."""
        ...

    def fetch_changes(self, start: date, end: date, since: datetime) -> Changes:
        """Return the periods of the range modified after `since` (UTC) and deletions since."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

    # Optional: `last_day(today: date) -> date` caps the window's end for an upstream that asks
    # clients to request only the days they show (the engine then holds today .. that day).
