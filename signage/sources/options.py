"""What each source's settings are, without the adapters: the views and the settings read this
(pure: no HTTP), the adapters build on it.

A source's settings all start with its name in capitals (`UNITIME_URL`, `UNITIME_ROOMS`).
`REQUIRED_SETTINGS` names the ones each needs; `CHECKS` the checks of a source's optional ones
(`check(settings) -> [problem lines]`, never a secret's value); sources in `IDLE_PACED` poll at
the idle interval unless a faster one is configured (their vendors ask for it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

REQUIRED_SETTINGS = {
    "untis": ("UNTIS_URL", "UNTIS_TENANT", "UNTIS_CLIENT_ID", "UNTIS_CLIENT_SECRET"),
    "affectit": ("AFFECTIT_URL", "AFFECTIT_API_KEY"),
    "jsonrpc": ("JSONRPC_URL", "JSONRPC_SCHOOL", "JSONRPC_USER", "JSONRPC_PASSWORD"),
    "unitime": ("UNITIME_URL",),
    "mytimetable": ("MYTIMETABLE_URL", "MYTIMETABLE_TOKEN"),
    "monitor": ("MONITOR_URL", "MONITOR_SCHOOL", "MONITOR_FORMAT"),
}
IDLE_PACED = frozenset({"mytimetable"})

# --- MyTimetable ---------------------------------------------------------------------------------
KNOWN_TYPES = ("location", "zone", "studentset", "studentsetgroup", "module", "modulegroup",
               "modulepos", "pos", "posss", "staff", "student", "user", "tag")
DEFAULT_TYPES = ("location", "studentset")
DEFAULT_MARKERS = ("cancelled", "canceled", "geannuleerd", "vervallen", "vervalt")
MIN_MARKER_CHARS = 3  # shorter words would match inside ordinary notes
TYPES_KEY, MARKERS_KEY = "MYTIMETABLE_TYPES", "MYTIMETABLE_CANCELLED_MARKERS"


def parse_types(value: Any) -> tuple[str, ...]:
    """Return the configured timetable types; raise ValueError naming what is wrong."""
    types = _words(value, DEFAULT_TYPES, lower=True)
    unknown = [t for t in types if t not in KNOWN_TYPES]
    if not types or unknown:
        raise ValueError(f"expected comma-separated timetable types among "
                         f"{', '.join(KNOWN_TYPES)}, got {_shown(value)}")
    return types


def parse_markers(value: Any) -> tuple[str, ...]:
    """Return the configured cancellation markers; raise ValueError naming what is wrong."""
    markers = _words(value, DEFAULT_MARKERS, lower=False)
    if not markers or any(len(m) < MIN_MARKER_CHARS for m in markers):
        raise ValueError(f"expected comma-separated words of at least {MIN_MARKER_CHARS} "
                         f"characters (e.g. {','.join(DEFAULT_MARKERS[:3])}), got {_shown(value)}")
    return markers


def check_mytimetable(settings: Mapping[str, Any]) -> list[str]:
    """Return one problem line per malformed optional `MYTIMETABLE_*` setting."""
    problems = []
    for key, parse in ((TYPES_KEY, parse_types), (MARKERS_KEY, parse_markers)):
        try:
            parse(settings.get(key))
        except ValueError as exc:
            problems.append(f"SIGNAGE_{key}: {exc}")
    return problems


def _words(value: Any, default: tuple[str, ...], lower: bool) -> tuple[str, ...]:
    if value is None:
        return default
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    items = str(value).split(",")
    words = (w.strip().lower() if lower else w.strip() for w in items)
    return tuple(dict.fromkeys(w for w in words if w))


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


# --- UniTime -------------------------------------------------------------------------------------
def check_unitime(settings: Mapping[str, Any]) -> list[str]:
    """Return one problem line per unusable UNITIME_* setting (never a secret's value)."""
    user, password = settings.get("UNITIME_USER"), settings.get("UNITIME_PASSWORD")
    token = settings.get("UNITIME_TOKEN")
    problems = []
    if user and not password:
        problems.append("SIGNAGE_UNITIME_PASSWORD: required when SIGNAGE_UNITIME_USER is set")
    elif password and not user:
        problems.append("SIGNAGE_UNITIME_USER: required when SIGNAGE_UNITIME_PASSWORD is set")
    elif not user and not token:
        problems.append("SIGNAGE_UNITIME_USER: required with SIGNAGE_UNITIME_PASSWORD when "
                        "SIGNAGE_SOURCE=unitime, unless SIGNAGE_UNITIME_TOKEN is set")
    rooms = settings.get("UNITIME_ROOMS")
    if rooms is not None and not room_names(str(rooms)):
        problems.append("SIGNAGE_UNITIME_ROOMS: expected comma-separated room names "
                        "(e.g. 'EDUC 101,EDUC 102'), or unset for every room")
    return problems


def room_names(text: str) -> list[str]:
    """Return the room names of a comma-separated list, blanks and repeats left out."""
    return list(dict.fromkeys(" ".join(n.split()) for n in text.split(",") if n.strip()))


CHECKS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "unitime": check_unitime,
    "mytimetable": check_mytimetable,
}
