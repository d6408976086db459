"""Reading request parameters: dates, names, with clear 4xx answers for bad input."""

from __future__ import annotations

import re
from datetime import date, datetime

from flask import abort, g, request

from signage.domain.board import BOARD_CATEGORIES, board_names, find_name
from signage.domain.model import Snapshot
from signage.views.i18n import LANGUAGES

MAX_PARAM_CHARS = 64


def param(name: str) -> str | None:
    """Return a query parameter (the first of repeated ones); 400 when absurdly long."""
    args = request.args
    if name not in args:  # MultiDict.get raises and catches a KeyError for a missing key: a
        return None  # cost on every kiosk poll, which names few of the parameters asked for
    value = args[name]
    if len(value) > MAX_PARAM_CHARS:
        abort(400, f"parameter {name!r} is longer than {MAX_PARAM_CHARS} characters")
    return value


def day_param(today: date) -> date:
    """Return `?date=YYYY-MM-DD`, or `today` without one; 400 for a malformed date."""
    value = param("date")
    if value is None or value == "":
        return today
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        abort(400, f"date must be YYYY-MM-DD, e.g. {today.isoformat()}; got {value!r}")


def name_param(snapshot: Snapshot, kind: str, value: str) -> str:
    """Return the board name for a class/room/teacher; 404 listing the valid names if unknown."""
    category = BOARD_CATEGORIES[kind]
    name = find_name(snapshot, category, value)
    if name is None:
        valid = board_names(snapshot, category)
        abort(404, description=f"unknown {kind} {value!r}; known: {', '.join(valid)}")
    return name


THEMES = ("light", "dark", "contrast")


def lang_param() -> str | None:
    """Return `?lang=` (one of LANGUAGES) and use it for this request; 400 for another."""
    value = param("lang")
    if value is None or value == "":
        return None
    if value not in LANGUAGES:
        abort(400, f"lang must be one of {', '.join(LANGUAGES)}; got {value!r}")
    g.lang = value
    return value


def theme_param() -> str:
    """Return `?theme=` (light, dark or contrast; default light); 400 for another."""
    value = param("theme") or "light"
    if value not in THEMES:
        abort(400, f"theme must be one of {', '.join(THEMES)}; got {value!r}")
    return value


def days_param() -> int:
    """Return `?days=` (1 or 2; default 1); 400 for another value."""
    value = param("days")
    if value is None or value == "":
        return 1
    if value not in ("1", "2"):
        abort(400, f"days must be 1 (the shown day) or 2 (and the next school day); got {value!r}")
    return int(value)
