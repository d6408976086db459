"""Reading the admin's forms: a display or an announcement from posted fields, with one clear
message per problem (the form is shown again with them, nothing is saved)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from signage.config import LANGUAGES, PROFILES
from signage.domain.announcements import MAX_TEXT_CHARS, STYLES, Announcement
from signage.domain.board import BOARD_CATEGORIES, find_name
from signage.domain.model import Snapshot
from signage.domain.power import parse_plan
from signage.domain.screens import BOARD_KINDS, Display
from signage.views.params import THEMES

MAX_NAME_CHARS = 80
MAX_GROUP_SCREENS = 20  # screens side by side sharing one overview


class FormError(Exception):
    """The form has problems; `problems` maps a field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def display_from_form(form: Mapping[str, str], base: Display,
                      snapshot: Snapshot | None) -> Display:
    """Return `base` with the posted settings; raise FormError on bad input."""
    problems: dict[str, str] = {}
    name = form.get("name", "").strip()
    if not 1 <= len(name) <= MAX_NAME_CHARS:
        problems["name"] = f"a name of 1 to {MAX_NAME_CHARS} characters, e.g. 'Foyer left'"
    board = form.get("board", "")
    if board not in BOARD_KINDS:
        problems["board"] = f"one of {', '.join(BOARD_KINDS)}"
    target = form.get("target", "").strip()
    if board in BOARD_CATEGORIES:
        known = find_name(snapshot, BOARD_CATEGORIES[board], target) if snapshot else target
        if not target or known is None:
            problems["target"] = f"the name of a {board} in the timetable"
        target = known or target
    else:
        target = ""
    params: dict[str, str] = {}
    if form.get("view") == "changes":
        params["view"] = "changes"
    days = form.get("days", "1")
    if days not in ("1", "2"):
        problems["days"] = "1 (the shown day) or 2 (and the next school day)"
    elif days == "2":
        params["days"] = days
    screens_on = form.get("screens_on", "").strip()
    if screens_on:
        if parse_plan(screens_on) is None:
            problems["screens_on"] = ("empty (the school's setting), auto, always or on-hours "
                                      "HH:MM-HH:MM, e.g. 06:30-17:00")
        else:
            params["screens_on"] = screens_on.lower()
    group = " ".join(form.get("group", "").split())
    position = form.get("position", "").strip()
    if group:
        if board != "overview":
            problems["group"] = "only overview displays share pages in a group"
        elif len(group) > MAX_NAME_CHARS:
            problems["group"] = f"a name of at most {MAX_NAME_CHARS} characters"
        if not position.isdecimal() or not 1 <= int(position) <= MAX_GROUP_SCREENS:
            problems["position"] = (f"the screen's place in the group, 1 to {MAX_GROUP_SCREENS}"
                                    " (1: the first page)")
        else:
            params.update(group=group, position=str(int(position)))
    rows = form.get("rows", "").strip()
    if rows:
        if not rows.isdecimal() or not 1 <= int(rows) <= 200:
            problems["rows"] = "a whole number from 1 to 200, or empty"
        else:
            params["rows"] = rows
    choices = {"profile": PROFILES, "language": LANGUAGES, "theme": THEMES}
    chosen = {key: form.get(key, "") for key in choices}
    for key, allowed in choices.items():
        if chosen[key] not in allowed:
            problems[key] = f"one of {', '.join(allowed)}"
    if board == "teacher" and chosen["profile"] != "staff":
        problems["profile"] = "staff: a teacher's board shows teacher names"
    if problems:
        raise FormError(problems)
    return Display(id=base.id, name=name, board=board, target=target, params=params,
                   profile=chosen["profile"], language=chosen["language"],
                   theme=chosen["theme"], token_hash=base.token_hash, paired_at=base.paired_at)


def announcement_from_form(form: Mapping[str, str], announcement_id: str, now: datetime,
                           tz: ZoneInfo, targets: Mapping[str, str]) -> Announcement:
    """Return the announcement the form describes (times are school-local); raise FormError.

    `targets` maps the allowed target values to their labels.
    """
    problems: dict[str, str] = {}
    text = " ".join(form.get("text", "").split())
    if not 1 <= len(text) <= MAX_TEXT_CHARS:
        problems["text"] = f"a message of 1 to {MAX_TEXT_CHARS} characters"
    style = form.get("style", "")
    if style not in STYLES:
        problems["style"] = f"one of {', '.join(STYLES)}"
    target = form.get("target", "all")
    if target not in targets:
        problems["target"] = "one of the listed screens or boards"
    start = _local_time(form.get("start", ""), tz) if form.get("start") else now
    if start is None:
        problems["start"] = "a date and time, e.g. 2026-11-23T07:30"
    end = _local_time(form.get("end", ""), tz) if form.get("end") else None
    if form.get("end") and end is None:
        problems["end"] = "a date and time, e.g. 2026-11-23T13:00"
    elif end is None and style != "emergency":
        problems["end"] = "when the message should go (only an emergency stays until ended)"
    elif end is not None and start is not None and end <= start:
        problems["end"] = "a time after the start"
    if problems:
        raise FormError(problems)
    return Announcement(id=announcement_id, text=text, start=start or now, end=end, style=style,
                        target="all" if style == "emergency" else target)


def _local_time(value: str, tz: ZoneInfo) -> datetime | None:
    """Return a school-local `YYYY-MM-DDTHH:MM` (as a datetime-local input sends it) in UTC."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", value.strip()):
        return None
    try:
        local = datetime.fromisoformat(value.strip().replace(" ", "T"))
        return local.replace(tzinfo=tz).astimezone(ZoneInfo("UTC"))
    except (ValueError, OverflowError):  # OverflowError: year 1 before midnight UTC
        return None
