"""The index page: what has boards, with links. (The HTML boards themselves come later.)"""

from __future__ import annotations

from flask import Blueprint, render_template

from signage.plan import board_names
from signage.runtime import runtime

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    """List the classes and rooms (teachers for staff) that have boards, or say data is coming."""
    rt = runtime()
    snapshot = rt.store.snapshot()
    status = rt.store.status()
    return render_template(
        "index.html",
        school=snapshot.school if snapshot else "",
        classes=board_names(snapshot, "classes") if snapshot else [],
        rooms=board_names(snapshot, "rooms") if snapshot else [],
        teachers=board_names(snapshot, "teachers")
        if snapshot and rt.settings.default_profile == "staff"
        else [],
        last_success=last.astimezone(rt.settings.tz) if (last := status.last_success) else None,
        last_error=status.last_error,
    )
