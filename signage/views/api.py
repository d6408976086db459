"""JSON API: `/api/v1/changes`, `/api/v1/classes`, `/api/v1/rooms`, `/api/v1/teachers` (staff),
`/api/v1/power` (whether screens should be on)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, request

from signage.domain.board import BOARD_CATEGORIES, board_names
from signage.domain.calendar import display_day
from signage.domain.rows import change_rows, rows_for
from signage.domain.screens import display_from_json
from signage.views.caching import page
from signage.views.common import etag, local_now, snapshot_or_503, staff, visible
from signage.views.context import runtime
from signage.views.params import day_param, name_param, param
from signage.views.power import power_for

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/changes")
def changes():
    """Return one day's change rows, optionally for one class, room or teacher.

    Without `?date=` the day is the one boards show: today, or the next school day once
    today's lessons are over.
    """
    rt = runtime()
    version, snapshot = snapshot_or_503()
    day = day_param(display_day(snapshot, local_now(), rt.settings.switch_day_at))
    if param("teacher") is not None and not staff():
        abort(403, "teacher filters need the staff profile")
    filters = {kind: name_param(snapshot, kind, value)
               for kind in BOARD_CATEGORIES if (value := param(kind)) is not None}
    last_success = rt.store.status().last_success
    tag = etag(version, last_success, day, sorted(filters.items()))
    if tag in request.if_none_match:  # before any rendering: the kiosk's cheap path
        return Response(status=304, headers={"ETag": f'"{tag}"'})
    # Cached like a board, under its ETag (which names everything the body depends on).
    body = page(rt.gate, f"api:{tag}", lambda: current_app.json.dumps(
        _changes(snapshot, day, filters, last_success)) + "\n")
    response = Response(body, mimetype="application/json")
    response.set_etag(tag)
    return response


def _changes(snapshot, day, filters, last_success) -> dict:
    """Return the body of a changes answer."""
    rows = change_rows(snapshot, day)
    for kind, name in filters.items():
        rows = rows_for(rows, BOARD_CATEGORIES[kind], name)
    rows = visible(rows, snapshot)
    body = {
        "date": day.isoformat(),
        "as_of": last_success.isoformat() if last_success else None,
        "changes": [row.to_json() for row in rows],
    }
    if not snapshot.covers(day):
        body["window"] = {"start": snapshot.window_start.isoformat(),
                          "end": snapshot.window_end.isoformat()}
    return body


def _names(kind: str):
    _, snapshot = snapshot_or_503()
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
    if not staff():
        abort(403, "the teacher list needs the staff profile")
    return _names("teacher")


@bp.get("/power")
def power():
    """Tell a kiosk script whether its panel should be on: `{"on", "until", "reason"}`, for the
    school's plan or, with `?display=<name>`, for one display's (404 for an unknown name)."""
    rt = runtime()
    name = param("display")
    display = None
    if name:
        displays = [display_from_json(d) for d in rt.registry.items("displays").values()]
        display = next((d for d in displays if d.name.casefold() == name.casefold()), None)
        if display is None:
            abort(404, f"no display is named {name!r}")
    kind, target = (display.board, display.target or None) if display else ("overview", None)
    response = jsonify(power_for(display, kind, target).to_json())
    response.cache_control.no_store = True
    return response
