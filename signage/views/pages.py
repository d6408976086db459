"""The index page: what has boards, grouped and easy to tap, with links that keep the settings;
and /robots.txt."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from signage.domain.board import board_names, group_names
from signage.views.common import local_now, staff
from signage.views.context import runtime
from signage.views.params import day_param, lang_param, theme_param

bp = Blueprint("pages", __name__)

# Boards are for the screens in the building, not for search results. A constant: this is also
# the benchmark's "trivial route" (the limit of the app's own stack).
ROBOTS_TXT = "User-agent: *\nDisallow: /\n"


@bp.get("/")
def index():
    """List the classes and rooms (teachers for staff) that have boards, or say data is coming."""
    rt = runtime()
    lang_param()
    theme_param()
    snapshot = rt.store.snapshot()
    status = rt.store.status()
    if request.args.get("date"):
        day_param(local_now().date())  # a bad date is a 400 here, not a 400 behind every link
    sections = []
    if snapshot is not None:
        sections = [("class", group_names(board_names(snapshot, "classes"))),
                    ("room", group_names(board_names(snapshot, "rooms")))]
        if staff():
            sections.append(("teacher", group_names(board_names(snapshot, "teachers"))))
    keep = {k: v for k, v in request.args.items() if k in ("lang", "theme", "date")}
    return render_template(
        "index.html",
        school=snapshot.school if snapshot else "",
        sections=sections,
        keep=keep,
        staff=staff(),
        last_success=last.astimezone(rt.settings.tz) if (last := status.last_success) else None,
        last_error=status.last_error,
    )


@bp.get("/robots.txt")
def robots() -> Response:
    """Ask crawlers to stay away."""
    return Response(ROBOTS_TXT, mimetype="text/plain")
