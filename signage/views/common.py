"""What every data view needs: the snapshot (503 before the first sync), the privacy profile,
the school-local now, the rows a profile may see, ETags (which name the profile, so a
public screen never gets a staff answer from a cache), a board's announcements and its
kiosk poll URL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlencode

from flask import abort, request

from signage.domain.announcements import Announcement, for_board, from_json
from signage.domain.model import ChangeRow, Snapshot
from signage.domain.privacy import for_public, public_messages, teacher_names
from signage.domain.screens import Display
from signage.views.access import profile
from signage.views.context import runtime


def snapshot_or_503() -> tuple[int, Snapshot]:
    """Return the store's version and snapshot; 503 before the first successful sync."""
    version, snapshot = runtime().store.current()
    if snapshot is None:
        abort(503, "no timetable data yet: the first sync has not finished")
    return version, snapshot


def staff() -> bool:
    """Tell whether this request sees the staff profile (teacher names, teacher boards)."""
    return profile() == "staff"


def local_now() -> datetime:
    """Return the school-local time now, naive like the timetable's times."""
    rt = runtime()
    return rt.clock().astimezone(rt.settings.tz).replace(tzinfo=None)


def visible(rows: Iterable[ChangeRow], snapshot: Snapshot) -> list[ChangeRow]:
    """Return the rows as this request's profile may see them (public: no teacher names and
    no notes, unless the school opted in)."""
    rows = list(rows)
    if staff():
        return rows
    settings = runtime().settings
    return for_public(rows, teacher_names(snapshot),
                      show_teachers=settings.public_teacher_abbreviations,
                      show_notes=settings.public_notes)


def visible_messages(snapshot: Snapshot | None) -> tuple[str, ...]:
    """Return the upstream's messages as this request's profile may see them (public: teacher
    names blanked, unless the school opted in to showing them)."""
    if snapshot is None:
        return ()
    if staff() or runtime().settings.public_teacher_abbreviations:
        return snapshot.messages
    return public_messages(snapshot.messages, teacher_names(snapshot))



def etag(*parts: object) -> str:
    """Return an ETag naming everything an answer depends on, the profile included (a hash:
    names may hold characters an ETag may not). Parts are plain values (numbers, strings,
    dates, None, lists and tuples of them), whose repr is the same in every worker."""
    key = repr((*parts, profile()))
    return hashlib.blake2s(key.encode(), digest_size=12).hexdigest()


def announcements_for(kind: str, name: str | None,
                      display: Display | None) -> list[Announcement]:
    """Return the admins' announcements a board (or a display's) shows now."""
    rt = runtime()
    stored = [from_json(doc) for doc in rt.registry.items("announcements").values()]
    return for_board(stored, rt.clock(), kind, name, display.id if display else None)


def poll_url() -> str:
    """Return this board's URL for the kiosk's polls: the same parameters, plus part=board."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "part"]
    return f"{request.path}?{urlencode([*args, ('part', 'board')])}"
