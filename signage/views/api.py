"""JSON API: `/api/v1/changes`, `/api/v1/classes`, `/api/v1/rooms`, `/api/v1/teachers` (staff)."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from signage.model import Snapshot
from signage.plan import BOARD_CATEGORIES, board_names, change_rows, rows_for, without_teachers
from signage.runtime import runtime
from signage.views.params import day_param, name_param, param

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _snapshot() -> tuple[int, Snapshot]:
    version, snapshot = runtime().store.current()
    if snapshot is None:
        abort(503, "no timetable data yet: the first sync has not finished")
    return version, snapshot


def _staff() -> bool:
    return runtime().settings.default_profile == "staff"


@bp.get("/changes")
def changes():
    """Return one day's change rows, optionally for one class, room or teacher."""
    rt = runtime()
    version, snapshot = _snapshot()
    day = day_param(rt.clock().astimezone(rt.settings.tz).date())
    if param("teacher") is not None and not _staff():
        abort(403, "teacher filters need the staff profile")
    rows = change_rows(snapshot, day)
    for kind, category in BOARD_CATEGORIES.items():
        value = param(kind)
        if value is not None:
            rows = rows_for(rows, category, name_param(snapshot, kind, value))
    if not _staff():
        rows = without_teachers(rows)
    last_success = rt.store.status().last_success
    body = {
        "date": day.isoformat(),
        "as_of": last_success.isoformat() if last_success else None,
        "changes": [row.to_json() for row in rows],
    }
    if not snapshot.covers(day):
        body["window"] = {"start": snapshot.window_start.isoformat(),
                          "end": snapshot.window_end.isoformat()}
    response = jsonify(body)
    response.set_etag(f"{version}-{request.query_string.decode(errors='replace')}-{day}")
    return response.make_conditional(request)


def _names(kind: str):
    _, snapshot = _snapshot()
    return jsonify(board_names(snapshot, BOARD_CATEGORIES[kind]))


@bp.get("/classes")
def classes():
    """Return the names of the classes that have boards."""
    return _names("class")


@bp.get("/rooms")
def rooms():
    """Return the names of the rooms that have boards."""
    return _names("room")


@bp.get("/teachers")
def teachers():
    """Return the names of the teachers that have boards (staff profile only)."""
    if not _staff():
        abort(403, "the teacher list needs the staff profile")
    return _names("teacher")
