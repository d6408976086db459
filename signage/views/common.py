"""What every data view needs: the snapshot (503 before the first sync), the privacy profile,
the school-local now, the rows a profile may see, and ETags."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date, datetime

from flask import abort

from signage.model import ChangeRow, Snapshot
from signage.plan import without_teachers
from signage.runtime import runtime


def snapshot_or_503() -> tuple[int, Snapshot]:
    """Return the store's version and snapshot; 503 before the first successful sync."""
    version, snapshot = runtime().store.current()
    if snapshot is None:
        abort(503, "no timetable data yet: the first sync has not finished")
    return version, snapshot


def staff() -> bool:
    """Tell whether this request sees the staff profile (teacher names, teacher boards)."""
    return runtime().settings.default_profile == "staff"


def local_now() -> datetime:
    """Return the school-local time now, naive like the timetable's times."""
    rt = runtime()
    return rt.clock().astimezone(rt.settings.tz).replace(tzinfo=None)


def visible(rows: Iterable[ChangeRow], snapshot: Snapshot) -> list[ChangeRow]:
    """Return the rows as this request's profile may see them (public: no teacher names)."""
    rows = list(rows)
    return rows if staff() else without_teachers(rows, snapshot.names.get("teachers", {}).values())


def etag(*parts: object) -> str:
    """Return an ETag naming everything an answer depends on, the profile included (a hash:
    names may hold characters an ETag may not)."""
    key = json.dumps([p.isoformat() if isinstance(p, date | datetime) else p for p in parts]
                     + [staff()], default=str)
    return hashlib.blake2s(key.encode(), digest_size=12).hexdigest()
