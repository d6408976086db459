"""Announcements: messages an admin puts on screens for a while.

An announcement has a text, a start and (except an emergency) an end, a style (`ticker`: a
running line at the bottom, `banner`: a box above the board, `emergency`: the whole screen) and
a target: `all`, a board (`board:overview`, `board:class:5a`, ...) or a display (`display:<id>`).
An emergency goes to every screen and stays until an admin ends it. The upstream's own messages
(`Snapshot.messages`) run as tickers on every board. Pure: no Flask, no I/O.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

STYLES = ("ticker", "banner", "emergency")
MAX_TEXT_CHARS = 500


@dataclass(frozen=True)
class Announcement:
    """One message for screens."""

    id: str
    text: str
    start: datetime
    end: datetime | None  # None: until ended (emergencies)
    style: str = "banner"
    target: str = "all"

    def active(self, now: datetime) -> bool:
        """Tell whether the message is on screens at `now`."""
        return self.start <= now and (self.end is None or now < self.end)

    def reaches(self, board: str, name: str | None, display_id: str | None) -> bool:
        """Tell whether the message is meant for this board (and display)."""
        if self.style == "emergency" or self.target == "all":
            return True
        if self.target.startswith("display:"):
            return display_id is not None and self.target == f"display:{display_id}"
        wanted = f"board:{board}" if name is None else f"board:{board}:{name}"
        return self.target.casefold() in (wanted.casefold(), f"board:{board}")


def new_id() -> str:
    """Return a fresh announcement id."""
    return secrets.token_hex(6)


def for_board(announcements: Iterable[Announcement], now: datetime, board: str,
              name: str | None, display_id: str | None) -> list[Announcement]:
    """Return the messages a board shows at `now`, emergencies first, then by start."""
    chosen = [a for a in announcements if a.active(now) and a.reaches(board, name, display_id)]
    return sorted(chosen, key=lambda a: (a.style != "emergency", a.start, a.id))


def upstream_notices(messages: Iterable[str]) -> list[Announcement]:
    """Return the upstream's own messages (e.g. MyTimetable's) as tickers on every board."""
    since = datetime(1970, 1, 1, tzinfo=UTC)  # the upstream decides when they show
    return [Announcement(id=f"upstream-{i}", text=text[:MAX_TEXT_CHARS], start=since, end=None,
                         style="ticker") for i, text in enumerate(messages) if text.strip()]


def to_json(announcement: Announcement) -> dict[str, Any]:
    """Return the registry document of an announcement."""
    return {k: v.isoformat() if isinstance(v, datetime) else v
            for k, v in asdict(announcement).items()}


def from_json(doc: dict[str, Any]) -> Announcement:
    """Return the announcement a registry document holds."""
    end = doc.get("end")
    return Announcement(**{**doc, "start": datetime.fromisoformat(doc["start"]),
                           "end": datetime.fromisoformat(end) if end else None})
