"""`/admin`: the sync status, the displays (create, pair, revoke) and the announcements.

Every route needs an admin login: without one a page answers 302 to /login and a form post
401; a staff login gets 403. Every post needs its CSRF token (400 without). Admin is off (404)
until `SIGNAGE_ADMIN_PASSWORD_HASH` is set.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from signage.domain.announcements import Announcement, new_id
from signage.domain.announcements import from_json as announcement_from_json
from signage.domain.announcements import to_json as announcement_to_json
from signage.domain.board import board_names
from signage.domain.power import week_hours
from signage.domain.screens import (
    CODE_ALPHABET,
    CODE_LENGTH,
    Display,
    Pairing,
    display_from_json,
    normal_code,
    pairing_from_json,
    to_json,
)
from signage.store import checks
from signage.views.access import role
from signage.views.admin_forms import FormError, announcement_from_form, display_from_form
from signage.views.common import local_now
from signage.views.context import runtime
from signage.views.freshness import freshness
from signage.views.power import display_states, plan_of, power_for

log = logging.getLogger(__name__)
WAKE_WITHOUT_SCHEDULE = timedelta(hours=12)  # "wake now" when no change is known

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def require_admin():
    """Let only a logged-in admin through, and only posts that carry their CSRF token."""
    if not runtime().settings.admin_password_hash:
        abort(404, "the admin area is off: set SIGNAGE_ADMIN_PASSWORD_HASH (see the README)")
    if role() != "admin":
        if role() == "staff":
            abort(403, "the admin area needs the admin password")
        if request.method == "GET":
            return redirect(url_for("access.login", next=request.full_path.rstrip("?")))
        abort(401, "log in first")
    if request.method == "POST":
        current_app.extensions["csrf"].protect()
    return None


@bp.get("")
def dashboard():
    """Show the sync status, the displays with their state, and the announcements."""
    rt = runtime()
    version, snapshot = rt.store.current()
    now = rt.clock()
    listed = display_states()
    rows = [(display, beat, shown) for display, beat, shown, _ in listed]
    powers = {display.id: awake for display, _, _, awake in listed}
    today = local_now().date()
    weeks = {display.id: week_hours(plan_of(display), snapshot, today) for display, *_ in listed}
    notices = sorted(_announcements().values(), key=lambda a: a.start, reverse=True)
    return render_template(
        "admin/dashboard.html", displays=rows, notices=notices, now=now, version=version,
        powers=powers, weeks=weeks,
        fresh=freshness(rt, snapshot), sync=rt.store.status(), source=rt.settings.source,
        tz=rt.settings.tz, school=snapshot.school if snapshot else "",
    )


@bp.route("/displays/new", methods=["GET", "POST"])
def new_display():
    """Create a display; it pairs with a screen afterwards."""
    return _display_form(Display(id=secrets.token_hex(4), name=""), created=True)


@bp.route("/displays/<display_id>", methods=["GET", "POST"])
def edit_display(display_id: str):
    """Change what a display shows; its screen follows at its next poll."""
    return _display_form(_display(display_id), created=False)


@bp.post("/displays/<display_id>/pair")
def pair(display_id: str):
    """Give a display to the screen that shows the entered code."""
    return _pair(_display(display_id), request.form.get("code", ""))


@bp.get("/pair")
def pair_code():
    """Show the code a screen's QR code carries and the displays it may become (for a phone)."""
    code = normal_code(request.args.get("code", ""))
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        abort(400, "This link carries no valid pairing code: scan the QR code on the screen "
                   "again, or enter the code on a display's page.")
    pairing = _open_pairing(code)
    if pairing is None:
        abort(404, "This code is unknown or has expired: the screen shows a new one.")
    displays = _displays()
    return render_template("admin/pair_code.html", code=code, waiting=pairing.display_id is None,
                           chosen=displays.get(pairing.display_id or ""),
                           displays=sorted(displays.values(), key=lambda d: d.name.casefold()))


@bp.post("/displays/<display_id>/revoke")
def revoke(display_id: str):
    """Take a display's token away: its screen shows a pairing code at its next poll."""
    display = _display(display_id)
    runtime().registry.put("displays", display.id, to_json(display.revoked()))
    log.info("display %s revoked", display.id)
    flash(f"“{display.name}” revoked: its screen stops at its next poll.", "ok")
    return redirect(url_for(".dashboard")), 303


@bp.post("/displays/<display_id>/wake")
def wake(display_id: str):
    """Wake a sleeping display until its next scheduled change (or for 12 hours when none is
    known)."""
    rt = runtime()
    display = _display(display_id)
    awake = power_for(display, display.board, display.target or None)
    if awake.on:
        flash(f"“{display.name}” is awake already.", "ok")
        return redirect(url_for(".dashboard")), 303
    until = awake.until or rt.clock() + WAKE_WITHOUT_SCHEDULE
    woken = replace(display, params={**display.params, "wake_until": until.isoformat()})
    rt.registry.put("displays", display.id, to_json(woken))
    log.info("display %s woken until %s", display.id, until.isoformat())
    flash(f"“{display.name}” wakes at its next poll and stays on until "
          f"{until.astimezone(rt.settings.tz):%d.%m. %H:%M}.", "ok")
    return redirect(url_for(".dashboard")), 303


@bp.post("/displays/<display_id>/delete")
def delete_display(display_id: str):
    """Remove a display (its screen stops at its next poll)."""
    display = _display(display_id)
    runtime().registry.delete("displays", display.id)
    runtime().registry.delete("heartbeats", display.id)
    flash(f"“{display.name}” deleted.", "ok")
    return redirect(url_for(".dashboard")), 303


@bp.post("/check")
def ask_check():
    """Ask the sync process to probe the source (views never call an upstream themselves)."""
    checks.ask(runtime().registry, runtime().clock())
    log.info("connection check asked for")
    return redirect(url_for(".check")), 303


@bp.get("/check")
def check():
    """Show the latest connection check, or that it is still running (the page reloads)."""
    rt = runtime()
    now = rt.clock()
    asked, done = checks.state(rt.registry)
    waiting = checks.unanswered(asked, done)
    unanswered = waiting and (now - asked).total_seconds() > checks.UNANSWERED_S
    return render_template("admin/check.html", asked=asked, report=done, waiting=waiting,
                           unanswered=unanswered, tz=rt.settings.tz,
                           refresh_s=checks.POLL_S)


@bp.route("/announcements/new", methods=["GET", "POST"])
def new_announcement():
    """Put a message on screens for a while (an emergency: on all, until ended)."""
    rt = runtime()
    targets = _targets()
    problems: dict[str, str] = {}
    if request.method == "POST":
        try:
            notice = announcement_from_form(request.form, new_id(), rt.clock(), rt.settings.tz,
                                            targets)
        except FormError as error:
            problems = error.problems
        else:
            rt.registry.put("announcements", notice.id, announcement_to_json(notice))
            log.info("announcement %s (%s) for %s", notice.id, notice.style, notice.target)
            flash("Announcement saved: screens show it at their next poll.", "ok")
            return redirect(url_for(".dashboard")), 303
    start = local_now().strftime("%Y-%m-%dT%H:%M")
    return render_template("admin/announcement.html", form=request.form, targets=targets,
                           problems=problems, start=start), 400 if problems else 200


@bp.post("/announcements/<notice_id>/end")
def end_announcement(notice_id: str):
    """End a message now (how an emergency is taken off the screens)."""
    notice = _announcement(notice_id)
    rt = runtime()
    now = rt.clock()
    ended = replace(notice, end=now, start=min(notice.start, now))
    rt.registry.put("announcements", notice.id, announcement_to_json(ended))
    flash("Announcement ended.", "ok")
    return redirect(url_for(".dashboard")), 303


@bp.post("/announcements/<notice_id>/delete")
def delete_announcement(notice_id: str):
    """Remove a message from the list (and from screens)."""
    _announcement(notice_id)
    runtime().registry.delete("announcements", notice_id)
    flash("Announcement deleted.", "ok")
    return redirect(url_for(".dashboard")), 303


def _display_form(base: Display, created: bool):
    rt = runtime()
    snapshot = rt.store.snapshot()
    problems: dict[str, str] = {}
    if request.method == "POST":
        try:
            display = display_from_form(request.form, base, snapshot)
        except FormError as error:
            problems = error.problems
        else:
            rt.registry.put("displays", display.id, to_json(display))
            code = request.args.get("code", "") if created else ""  # from a screen's QR code
            flash(f"“{display.name}” saved." + (" Now pair it with a screen: open /display on "
                                                "the screen and enter its code here."
                                                if created and not code else ""), "ok")
            if code:
                return _pair(display, code)
            return redirect(url_for(".edit_display", display_id=display.id)), 303
    names = {kind: board_names(snapshot, category) if snapshot else []
             for kind, category in (("class", "classes"), ("room", "rooms"),
                                    ("teacher", "teachers"))}
    return render_template("admin/display.html", display=base, created=created,
                           form=request.form if problems else None, problems=problems,
                           names=names), 400 if problems else 200


def _pair(display: Display, typed: str):
    """Give `display` to the screen showing the code `typed`; flash how that went."""
    rt = runtime()
    code = normal_code(typed)
    pairing = _open_pairing(code)
    if pairing is None or pairing.display_id is not None:
        flash(f"No screen shows the code {code or '(empty)'}: check it on the screen "
              "(codes last 30 minutes).", "error")
        return redirect(url_for(".edit_display", display_id=display.id)), 303
    rt.registry.put("pairings", code, to_json(replace(pairing, display_id=display.id)))
    log.info("display %s given to the screen showing its code", display.id)
    flash(f"Paired: the screen shows “{display.name}” within a few seconds.", "ok")
    return redirect(url_for(".dashboard")), 303


def _open_pairing(code: str) -> Pairing | None:
    """Return the unexpired pairing of `code` (chosen for a display or not), or None."""
    rt = runtime()
    doc = rt.registry.items("pairings").get(code)
    pairing = pairing_from_json(doc) if doc else None
    return None if pairing is None or pairing.expired(rt.clock()) else pairing


def _displays() -> dict[str, Display]:
    return {k: display_from_json(v) for k, v in runtime().registry.items("displays").items()}


def _display(display_id: str) -> Display:
    display = _displays().get(display_id)
    if display is None:
        abort(404, f"no display {display_id!r}")
    return display


def _announcements() -> dict[str, Announcement]:
    return {k: announcement_from_json(v)
            for k, v in runtime().registry.items("announcements").items()}


def _announcement(notice_id: str) -> Announcement:
    notice = _announcements().get(notice_id)
    if notice is None:
        abort(404, f"no announcement {notice_id!r}")
    return notice


def _targets() -> dict[str, str]:
    """Return where a message may go: all, a board, a display (value -> label)."""
    snapshot = runtime().store.snapshot()
    targets = {"all": "All screens", "board:overview": "Board: overview"}
    for kind, category in (("class", "classes"), ("room", "rooms")):
        for name in board_names(snapshot, category) if snapshot else []:
            targets[f"board:{kind}:{name}"] = f"Board: {kind} {name}"
    for display in sorted(_displays().values(), key=lambda d: d.name.casefold()):
        targets[f"display:{display.id}"] = f"Display: {display.name}"
    return targets
