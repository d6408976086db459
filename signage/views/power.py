"""Screens that sleep on purpose: whether a board or display is awake now, the black page it
shows when not, and `/api/v1/power` for kiosk scripts that switch the panel off.

A display's own plan (`screens_on` in its settings) replaces the school's (`SIGNAGE_SCREENS_ON`);
an emergency announcement for it wakes it, and so does an admin's "wake now" until the next
scheduled change. Only screens sleep: a request with a login, or one asking for a given date,
comes from a person and always gets the board.
"""

from __future__ import annotations

from datetime import datetime

from flask import Response, make_response, render_template

from signage.domain.announcements import Announcement
from signage.domain.power import PowerPlan, PowerState, parse_plan, power_state
from signage.domain.screens import (
    Display,
    Heartbeat,
    display_from_json,
    heartbeat_from_json,
    state,
)
from signage.views.access import role
from signage.views.common import announcements_for, poll_url
from signage.views.context import runtime
from signage.views.params import param

ASLEEP_POLL_S = 60  # an asleep screen asks this often whether to wake (the heartbeat too)


def plan_of(display: Display | None) -> PowerPlan:
    """Return the plan a display follows: its own, else the school's."""
    own = display.params.get("screens_on") if display is not None else None
    return (parse_plan(own) if own else None) or runtime().settings.screens_on


def power_for(display: Display | None, kind: str, name: str | None,
              notices: list[Announcement] | None = None) -> PowerState:
    """Return whether a screen showing a board (a paired display, or a board URL) is awake;
    `notices`: the board's announcements when the caller has read them already."""
    rt = runtime()
    now = rt.clock()
    if notices is None:
        notices = announcements_for(kind, name, display)
    if any(a.style == "emergency" for a in notices):
        return PowerState(True, None, "emergency announcement")
    scheduled = power_state(plan_of(display), rt.store.snapshot(), now, rt.settings.tz)
    woken = _woken_until(display)
    if not scheduled.on and woken is not None and now < woken:
        return PowerState(True, woken, "woken by an admin")
    return scheduled


def display_states() -> list[tuple[Display, Heartbeat | None, str, PowerState]]:
    """Return every display (by name) with its last heartbeat, its state for the admin list
    (online, silent, asleep, ...) and whether it is awake now."""
    rt = runtime()
    beats = {k: heartbeat_from_json(v) for k, v in rt.registry.items("heartbeats").items()}
    displays = sorted((display_from_json(d) for d in rt.registry.items("displays").values()),
                      key=lambda d: d.name.casefold())
    rows = []
    for display in displays:
        awake = power_for(display, display.board, display.target or None)
        beat = beats.get(display.id)
        rows.append((display, beat, state(display, beat, rt.clock(), awake.on), awake))
    return rows


def sleeps(display: Display | None) -> bool:
    """Tell whether this request may get the asleep page: a screen's, not a person's."""
    return display is not None or (role() is None and not param("date"))


def asleep(state: PowerState, part: bool) -> Response:
    """Answer a sleeping screen: a black page that polls slowly and wakes by itself (for a
    kiosk's poll, a region that tells its page to load the asleep page)."""
    settings = runtime().settings
    poll_s = min(ASLEEP_POLL_S, settings.refresh_s)
    if part:
        html = (f'<div class="region" data-screen="asleep" '
                f'data-until="{state.until.isoformat() if state.until else ""}"></div>')
    else:
        html = render_template("asleep.html", state=state, poll_s=poll_s, poll_url=poll_url(),
                               tz=settings.tz)
    response = make_response(html)
    response.cache_control.no_store = True
    return response


def _woken_until(display: Display | None) -> datetime | None:
    value = display.params.get("wake_until") if display is not None else None
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
