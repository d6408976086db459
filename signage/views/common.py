"""What every data view needs: the snapshot (503 before the first sync), the privacy profile,
the school-local now, the rows a profile may see, and ETags (which name the profile, so a
public screen never gets a staff answer from a cache)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from flask import abort

from signage.domain.model import ChangeRow, Snapshot
from signage.domain.privacy import for_public
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
    return for_public(rows, snapshot.names.get("teachers", {}).values(),
                      show_teachers=settings.public_teacher_abbreviations,
                      show_notes=settings.public_notes)


def etag(*parts: object) -> str:
    """Return an ETag naming everything an answer depends on, the profile included (a hash:
    names may hold characters an ETag may not). Parts are plain values (numbers, strings,
    dates, None, lists and tuples of them), whose repr is the same in every worker."""
    key = repr((*parts, profile()))
    return hashlib.blake2s(key.encode(), digest_size=12).hexdigest()
