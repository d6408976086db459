"""What the fake JSON-RPC server accepts as parameters: the documented names, types and formats.

A parameter of the wrong type or format is a `RefusedError` with -32602 (see `jsonrpc_server`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Our category names and the element keys, getTimetable element types and *Fields options.
ELEMENTS = {"classes": ("kl", 1, "klasseFields"), "teachers": ("te", 2, "teacherFields"),
            "subjects": ("su", 3, "subjectFields"), "rooms": ("ro", 4, "roomFields")}
SHOWN_BY = {"lstext": "showLsText", "substText": "showSubstText", "lsnumber": "showLsNumber",
            "sg": "showStudentgroup", "info": "showInfo"}
# The documented parameter names (an unknown one is ignored and recorded in `ignored`).
PARAMS = {"authenticate": {"user", "password", "client"}, "getKlassen": {"schoolyearId"},
          "getTimegridUnits": set(),
          "getTimetable": {"id", "type", "startDate", "endDate", "options"}}
FLAGS = {"onlyBaseTimetable", "showBooking", *SHOWN_BY.values()}
FIELDS_OPTIONS = {fields for _, _, fields in ELEMENTS.values()}
OPTIONS = {"element", "startDate", "endDate", *FLAGS, *FIELDS_OPTIONS}
FIELD_NAMES = {"id", "name", "longname", "externalkey"}
KEY_TYPES = {"id", "name", "externalkey"}
INVALID_REQUEST, INVALID_PARAMS = -32600, -32602


class RefusedError(Exception):
    """A JSON-RPC error to answer with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TimetableRequest:
    """What a getTimetable call asks for, its parameters checked."""

    options: dict | None  # None: the simple form
    spec: dict  # where the dates are: the options, or the params of the simple form
    category: str
    key: Any
    key_type: str
    ignored: list[str]  # parameter names a server would ignore, as in `FakeJsonRpc.ignored`


def timetable_request(params: dict) -> TimetableRequest:
    """Return what getTimetable's `params` ask for; -32602 for a wrong type or format."""
    options = params.get("options") if "options" in params else None
    spec, element, ignored = params, params, []
    if "options" in params:  # the options form; else the simple one, {id, type, …}
        spec = options if isinstance(options, dict) else {}
        element = spec.get("element")
        if not isinstance(options, dict) or not isinstance(element, dict):
            raise RefusedError(INVALID_PARAMS, "invalid params: options.element")
        ignored += [f"getTimetable: options.{k}" for k in spec if k not in OPTIONS]
        ignored += [f"getTimetable: options.element.{k}" for k in element
                    if k not in {"id", "type", "keyType"}]
        if not all(typed(k, v) for k, v in spec.items()):
            raise RefusedError(INVALID_PARAMS, "invalid params: show* flags or *Fields")
    category = next((c for c, e in ELEMENTS.items() if is_int(element.get("type"))
                     and e[1] == element["type"]), None)
    key, key_type = element.get("id"), element.get("keyType", "id") if options else "id"
    if category is None or key_type not in KEY_TYPES or not (
            is_int(key) if key_type == "id" else isinstance(key, str)):
        raise RefusedError(INVALID_PARAMS, "invalid params: element id, type or keyType")
    return TimetableRequest(options, spec, category, key, key_type, ignored)


def day_of(value: Any) -> int:
    """Return a YYYYMMDD date (a number, or its 8 digits as text); -32602 for anything else."""
    try:
        if not (is_int(value) or isinstance(value, str)) or len(str(value)) != 8:
            raise ValueError
        return int(datetime.strptime(str(value), "%Y%m%d").strftime("%Y%m%d"))
    except ValueError:
        raise RefusedError(INVALID_PARAMS, f"invalid params: date {str(value)[:20]!r}") from None


def typed(option: str, value: Any) -> bool:
    """Tell whether a getTimetable option has its documented type (unknown ones: any)."""
    if option in FLAGS:
        return isinstance(value, bool)
    if option in FIELDS_OPTIONS:
        return isinstance(value, list) and all(isinstance(f, str) and f in FIELD_NAMES
                                               for f in value)
    return True


def is_int(value: Any) -> bool:
    """Tell whether `value` is an integer (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool)
