"""The stored format of snapshots, sync status and cycle records: plain JSON, a schema number,
no pickle. This module is the format's one owner; data of an unknown schema is refused clearly.

Snapshot schemas:
- 1: each period a JSON object inside the snapshot (`snapshot_to_json`); still read.
- 2: each period a JSON text of its own (`PeriodTexts.encode`), what the Redis store writes:
  a reader decodes only the texts it does not hold, and a writer re-encodes only changed periods
  (a new version changes a few of hundreds).
The sync status is schema 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from signage.domain.model import CycleRecord, DayNotice, Period, Ref, Snapshot, SyncStatus

SCHEMA_VERSION = 1  # the sync status, and snapshots with periods as objects
TEXTS_SCHEMA = 2  # snapshots with periods as texts of their own


class SchemaError(ValueError):
    """Stored data was written by another (or no) schema version of signage."""


def snapshot_to_json(snapshot: Snapshot) -> dict[str, Any]:
    """Return the snapshot as JSON-ready data."""
    return {
        "schema": SCHEMA_VERSION,
        "window": [snapshot.window_start.isoformat(), snapshot.window_end.isoformat()],
        "school": snapshot.school,
        "messages": list(snapshot.messages),
        **({"notices": {d.isoformat(): _notice_to_json(n) for d, n in snapshot.notices.items()}}
           if snapshot.notices else {}),
        "names": {c: {str(i): n for i, n in t.items()} for c, t in snapshot.names.items()},
        "periods": [period_to_json(p) for p in snapshot.periods.values()],
    }


def snapshot_from_json(data: Any) -> Snapshot:
    """Return the snapshot stored as `data` (schema 1, or 2 via `PeriodTexts.decode`); raise
    SchemaError for another schema version."""
    found = data.get("schema") if isinstance(data, dict) else None
    if found == TEXTS_SCHEMA:
        return PeriodTexts().decode(data)
    if found != SCHEMA_VERSION:
        raise SchemaError(f"stored data has schema {found!r}; this signage reads "
                          f"{SCHEMA_VERSION} and {TEXTS_SCHEMA}")
    start, end = data["window"]
    periods = (period_from_json(p) for p in data["periods"])
    return Snapshot(
        window_start=date.fromisoformat(start),
        window_end=date.fromisoformat(end),
        periods={p.id: p for p in periods},
        names={c: {int(i): n for i, n in t.items()} for c, t in data["names"].items()},
        school=data["school"],
        messages=tuple(str(m) for m in data.get("messages", ())),  # absent before 0.6
        notices={date.fromisoformat(d): _notice_from_json(n)
                 for d, n in data.get("notices", {}).items()},  # absent when none
    )


def _notice_to_json(notice: DayNotice) -> dict[str, Any]:
    return {"absent_teachers": [list(t) for t in notice.absent_teachers],
            "absent_classes": [list(c) for c in notice.absent_classes],
            "affected_classes": list(notice.affected_classes),
            "teachers": list(notice.teachers)}


def _notice_from_json(data: dict[str, Any]) -> DayNotice:
    return DayNotice(absent_teachers=tuple((str(n), str(u)) for n, u in data["absent_teachers"]),
                     absent_classes=tuple((str(n), str(u)) for n, u in data["absent_classes"]),
                     affected_classes=tuple(str(n) for n in data["affected_classes"]),
                     # absent in older copies
                     teachers=tuple(str(n) for n in data.get("teachers", ())))


def status_to_json(status: SyncStatus) -> dict[str, Any]:
    """Return the sync status as JSON-ready data."""
    return {
        "schema": SCHEMA_VERSION,
        "source": status.source,
        "last_error": status.last_error,
        "failures": status.failures,
        "auth_failures": status.auth_failures,
        **{key: _time(getattr(status, key)) for key in _STATUS_TIMES},
    }


def status_from_json(data: Any) -> SyncStatus:
    """Return the sync status stored as `data`; raise SchemaError for another schema version.

    Fields added later (the auth breaker's) are optional, so a status written before them reads.
    """
    _check_schema(data)
    times = {key: _parse_time(data.get(key)) for key in _STATUS_TIMES}
    return SyncStatus(source=data["source"], last_error=data["last_error"],
                      failures=data["failures"], auth_failures=data.get("auth_failures", 0),
                      **times)


_STATUS_TIMES = ("last_success", "last_attempt", "cursor", "last_full_load", "not_before",
                 "auth_paused_until")


def _check_schema(data: Any, schema: int = SCHEMA_VERSION) -> None:
    found = data.get("schema") if isinstance(data, dict) else None
    if found != schema:
        raise SchemaError(f"stored data has schema {found!r}; this signage reads {schema}")


class PeriodTexts:
    """Snapshots in schema 2, remembering the texts of the last one read or written: decoding
    or encoding a new version costs only its changed periods."""

    def __init__(self) -> None:
        self._held: dict[str, Period] = {}  # the last snapshot's periods by their text

    def decode(self, data: Any) -> Snapshot:
        """Return the snapshot stored as `data` (schema 2, or the older schema 1)."""
        if not (isinstance(data, dict) and data.get("schema") == TEXTS_SCHEMA):
            return snapshot_from_json(data)
        texts = data.get("periods")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise SchemaError("stored snapshot of schema 2 has no list of period texts")
        snapshot = snapshot_from_json({**data, "schema": SCHEMA_VERSION, "periods": []})
        held = self._held
        periods = {t: held.get(t) or period_from_json(json.loads(t)) for t in texts}
        self._held = periods
        return replace(snapshot, periods={p.id: p for p in periods.values()})

    def encode(self, snapshot: Snapshot) -> tuple[dict[str, Any], Callable[[], None]]:
        """Return the snapshot as schema-2 data, and what to call once it is stored (these
        texts become the ones held); unchanged periods keep their text."""
        held = {p.id: (p, t) for t, p in self._held.items()}
        texts: dict[str, Period] = {}
        for period in snapshot.periods.values():
            known = held.get(period.id)
            if known is not None and (known[0] is period or known[0] == period):
                texts[known[1]] = period
            else:
                texts[json.dumps(period_to_json(period), separators=(",", ":"))] = period
        data = snapshot_to_json(replace(snapshot, periods={}))

        def stored() -> None:
            self._held = texts

        return {**data, "schema": TEXTS_SCHEMA, "periods": list(texts)}, stored


def period_to_json(p: Period) -> dict[str, Any]:
    """Return one period as JSON-ready data (a snapshot's "periods" holds these)."""
    return {
        "id": p.id, "start": p.start.isoformat(), "end": p.end.isoformat(),
        "lesson_id": p.lesson_id, "type": p.type, "status": p.status,
        "modified": _time(p.modified), "text": p.text, "related_period": p.related_period,
        "exam": p.exam,
        "refs": {c: [[r.id, r.status] for r in refs] for c, refs in p.refs.items()},
        **({"text_planned": True} if p.text_planned else {}),
        **({"unit": p.unit} if p.unit is not None else {}),
        **({"end_unit": p.end_unit} if p.end_unit is not None else {}),
    }


def period_from_json(d: dict[str, Any]) -> Period:
    """Return the period stored as `d`."""
    return Period(
        id=d["id"], start=datetime.fromisoformat(d["start"]), end=datetime.fromisoformat(d["end"]),
        lesson_id=d["lesson_id"], type=d["type"], status=d["status"],
        modified=_parse_time(d["modified"]), text=d["text"], related_period=d["related_period"],
        exam=d["exam"],
        refs={c: tuple(Ref(i, s) for i, s in refs) for c, refs in d["refs"].items()},
        text_planned=bool(d.get("text_planned", False)),
        unit=d.get("unit"),  # absent before units were kept
        end_unit=d.get("end_unit"),  # absent unless a period spans units
    )


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def record_to_json(record: CycleRecord) -> dict[str, Any]:
    """Return a cycle record as JSON-ready data."""
    return {"at": record.at.isoformat(), "outcome": record.outcome, "changed": record.changed,
            "requests": dict(record.requests), "duration_s": record.duration_s,
            "error": record.error}


def record_from_json(data: dict[str, Any]) -> CycleRecord:
    """Return the cycle record stored as `data`."""
    return CycleRecord(at=datetime.fromisoformat(data["at"]), outcome=data["outcome"],
                       changed=data["changed"], requests=data["requests"],
                       duration_s=data["duration_s"], error=data["error"])
