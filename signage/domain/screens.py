"""Displays (screens) as objects an admin manages: what each shows, how it pairs, whether it lives.

- A `Display` names a board (kind, name, parameters), a privacy profile, a language and a theme.
- Pairing: a kiosk without a token gets a `Pairing`: a short code to show and a secret kept in
  its cookie. The admin enters the code for a display; at its next check the kiosk receives a
  token (256 bits, in a long-lived cookie). Only hashes of secrets and tokens are stored.
- Revoking clears the display's token hash: its next poll finds no display and shows a code again.
- Groups ("cluster"): displays side by side that share one overview name one group; each shows
  its own page at the same time, screen k page k (`GroupSlot`), the group turning pages together.
- Each poll leaves a `Heartbeat`; a display unheard of for `SILENT_AFTER` in its on-hours is
  silent; outside them it is asleep (on purpose).
Pure: no Flask, no I/O; times are timezone-aware UTC.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a screen across a room
CODE_LENGTH = 6
PAIRING_TTL = timedelta(minutes=30)
MAX_PAIRINGS = 200  # open pairings kept; anyone can open a kiosk page, so the oldest go first
SILENT_AFTER = timedelta(minutes=10)
BOARD_KINDS = ("overview", "class", "room", "teacher")


def new_secret() -> str:
    """Return a fresh token or pairing secret (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """Return the stored form of a token or secret (they are random, so a plain hash suffices)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(stored: str | None, secret: str) -> bool:
    """Tell whether `secret` hashes to `stored`, in constant time."""
    return stored is not None and hmac.compare_digest(stored, digest(secret))


def new_code() -> str:
    """Return a short pairing code such as "K7QX2M"."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normal_code(typed: str) -> str:
    """Return a code as an admin typed it, normalised ("k7q-x2m " -> "K7QX2M")."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())


@dataclass(frozen=True)
class Display:
    """One screen: what it shows and as whom."""

    id: str
    name: str
    board: str = "overview"  # one of BOARD_KINDS
    target: str = ""  # the class, room or teacher; empty for the overview
    params: dict[str, str] = field(default_factory=dict)  # view, rows, days, group, position
    profile: str = "public"
    language: str = "de"
    theme: str = "light"
    token_hash: str | None = None
    paired_at: datetime | None = None

    @property
    def paired(self) -> bool:
        """Tell whether a screen holds a valid token for this display."""
        return self.token_hash is not None

    def revoked(self) -> Display:
        """Return the display without a token: its screen falls back to pairing."""
        return replace(self, token_hash=None, paired_at=None)


@dataclass(frozen=True)
class GroupSlot:
    """A display's place in its group: screen `position` (1-based) of `size`."""

    position: int
    size: int


def group_slot(display: Display, displays: Iterable[Display]) -> GroupSlot | None:
    """Return where `display` stands in its group, None when it is in none. Members are
    counted in the order of their positions (the display's id breaks a tie), so a member
    deleted from the middle leaves no gap."""
    name = display.params.get("group")
    if not name:
        return None
    members = sorted((d for d in displays if d.params.get("group") == name),
                     key=lambda d: (int(d.params.get("position") or 0), d.id))
    ids = [d.id for d in members]
    if display.id not in ids:  # not saved yet: it joins at the end
        ids.append(display.id)
    return GroupSlot(ids.index(display.id) + 1, len(ids))


@dataclass(frozen=True)
class Pairing:
    """A kiosk waiting for an admin to enter its code."""

    code: str
    secret_hash: str
    created: datetime
    display_id: str | None = None  # set when the admin entered the code

    def expired(self, now: datetime) -> bool:
        """Tell whether the code is too old to be entered."""
        return now - self.created > PAIRING_TTL


@dataclass(frozen=True)
class Heartbeat:
    """What a display's last poll reported."""

    seen: datetime
    version: int | None = None  # the snapshot version it shows
    app_version: str = ""
    screen: str = ""  # e.g. "1920x1080"


def state(display: Display, beat: Heartbeat | None, now: datetime, on: bool) -> str:
    """Return a display's state for the admin list: unpaired, waiting, online, silent, or
    asleep (outside its on-hours: never silent then, it sleeps on purpose)."""
    if not display.paired:
        return "unpaired"
    if beat is None or (display.paired_at and beat.seen < display.paired_at):
        return "waiting"
    if not on:
        return "asleep"
    if now - beat.seen > SILENT_AFTER:
        return "silent"
    return "online"


def to_json(item: Display | Pairing | Heartbeat) -> dict[str, Any]:
    """Return a registry document for a display, pairing or heartbeat."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(item).items()}


def display_from_json(doc: dict[str, Any]) -> Display:
    """Return the display a registry document holds."""
    return Display(**{**doc, "paired_at": _when(doc.get("paired_at")),
                      "params": dict(doc.get("params") or {})})


def pairing_from_json(doc: dict[str, Any]) -> Pairing:
    """Return the pairing a registry document holds."""
    return Pairing(**{**doc, "created": _when(doc["created"])})


def heartbeat_from_json(doc: dict[str, Any]) -> Heartbeat:
    """Return the heartbeat a registry document holds."""
    return Heartbeat(**{**doc, "seen": _when(doc["seen"])})


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
