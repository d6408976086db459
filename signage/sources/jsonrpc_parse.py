"""WebUntis JSON-RPC payloads: the timetable request, answers read into periods and names, and
error objects read into our errors.

Any unusable answer is a `SourceError`; 429, 5xx and a body cut off are `SourceUnavailable`.
Error objects: -8520 is a `SessionLostError`, -8504 a `SourceAuthError`, -8998 a `SourceError`
with `retry_after_s = BLOCKED_RETRY_S` (see `jsonrpc`); any other a `RefusedError`.

A `getTimetable` element: `{id, date: YYYYMMDD, startTime: HHMM, endTime: HHMM, kl, te, su, ro,
lstype, code, substText, lstext, lsnumber, ...}`, times school-local; `kl`/`te`/`su`/`ro` are
lists of `{id, name?, orgid?, orgname?}`, each of which may be null or missing (no references).
Absent `lstype` is a lesson (`ls`), absent or empty `code` a regular period. Unknown fields are
ignored. A `code` or `lstype` the reference does not list keeps its period, shown as a change
(CHANGED, a lesson, unless its code says cancelled or irregular) rather than silently as
regular: logged once per value (per `unknown` set, which the source keeps for its lifetime).

Mapping (these periods carry their change status, so batches are not `plain`):
- `code: cancelled` -> status CANCELLED; the planned references stay as they are.
- an entry with `orgid` -> `Ref(id, ADDED)` + `Ref(orgid, REMOVED)`; `orgid` without a new id
  (absent or 0: the teacher is simply gone) -> only `Ref(orgid, REMOVED)`. Every category is
  read this way, not only `te`/`ro`.
- `code: irregular` with such a replacement -> CHANGED; without any -> ADDITIONAL. Assumed: an
  irregular period that replaces nobody is an extra lesson (WebUntis marks the new slot of a
  moved lesson the same way; its old slot comes as cancelled, so the board shows both halves).
- no code, but a replacement or a `substText` -> CHANGED (a note alone is a change to show).
- a code other than cancelled/irregular, or an unknown `lstype` -> CHANGED.
- `lstype` ls/oh/sb/bs/ex -> type NORMAL_TEACHING_PERIOD, OFFICE_HOUR, STAND_BY_PERIOD,
  BREAK_SUPERVISION, EXAM; an exam's key is its lesson number, so an exam double period merges.
- `substText` -> text. `lstext` is not used: it is the lesson's standing note ("Gruppe A"), on
  every period of the lesson, not the planner's note about a change.
- `lsnumber` -> lesson id (double periods merge by it); period `id` -> period id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime, time
from typing import Any

import requests

from signage.domain.model import (
    ADDED,
    ADDITIONAL,
    CANCELLED,
    CHANGED,
    REGULAR,
    REMOVED,
    Period,
    Ref,
)
from signage.sources.base import SourceAuthError, SourceError
from signage.sources.http import json_of, raise_for_status

log = logging.getLogger(__name__)

CATEGORY_KEYS = {"kl": "classes", "te": "teachers", "su": "subjects", "ro": "rooms"}
KLASSE = 1  # getTimetable element type of a class
FIELDS = ["id", "name"]  # names in the elements fill gaps the master data leaves
LESSON_TYPES = {
    "ls": "NORMAL_TEACHING_PERIOD",
    "oh": "OFFICE_HOUR",
    "sb": "STAND_BY_PERIOD",
    "bs": "BREAK_SUPERVISION",
    "ex": "EXAM",
}
CODES = ("", "cancelled", "irregular")  # "": a regular period
NOT_LOGGED_IN, BAD_CREDENTIALS, BLOCKED = -8520, -8504, -8998
BLOCKED_RETRY_S = 1800.0
CREDENTIALS_HINT = "check SIGNAGE_JSONRPC_USER and SIGNAGE_JSONRPC_PASSWORD"


class SessionLostError(SourceError):
    """-8520: the session expired or was never there."""


class RefusedError(SourceError):
    """An error object about the call itself (not the session, the credentials or the account)."""


def timetable_params(class_id: int, start: date, end: date) -> dict[str, Any]:
    """Return getTimetable's parameters for one class: the `options` form, names included."""
    options = {
        "element": {"id": class_id, "type": KLASSE},
        "startDate": _untis_date(start),
        "endDate": _untis_date(end),
        "showInfo": True,
        "showSubstText": True,
        "showLsText": True,
        "showLsNumber": True,
        "showStudentgroup": True,
        "klasseFields": FIELDS,
        "teacherFields": FIELDS,
        "subjectFields": FIELDS,
        "roomFields": FIELDS,
    }
    return {"options": options}


def _untis_date(day: date) -> int:
    return int(day.strftime("%Y%m%d"))


def decode(response: requests.Response, method: str) -> Any:
    """Return the decoded JSON of a 2xx answer; raise the error the answer stands for."""
    raise_for_status(response, method)
    return json_of(response, method)


def rpc_error(method: str, error: Any, scrub: Callable[[str], str]) -> SourceError:
    """Return the error an answer's error object stands for; `scrub` cleans its message."""
    code = error.get("code") if isinstance(error, dict) else None
    if code == NOT_LOGGED_IN:
        return SessionLostError(f"{method}: not logged in ({code})")
    if code == BAD_CREDENTIALS:
        return SourceAuthError(f"{method}: bad credentials ({code})", hint=CREDENTIALS_HINT)
    if code == BLOCKED:
        return SourceError(
            f"{method}: account temporarily blocked ({code}); no new try for "
            f"{BLOCKED_RETRY_S / 60:.0f} minutes",
            retry_after_s=BLOCKED_RETRY_S,
        )
    message = error.get("message") if isinstance(error, dict) else None
    detail = f": {scrub(str(message))[:200]}" if message else ""
    return RefusedError(f"{method}: error {code}{detail}")


def parse_names(result: Any, method: str) -> dict[int, str]:
    """Return `{id: short name}` of a master data answer (getKlassen, getTeachers, ...)."""
    if not isinstance(result, list):
        raise SourceError(f"{method} answered {type(result).__name__}, not a list")
    names = {}
    for entry in result:
        if not isinstance(entry, dict) or not _is_id(entry.get("id")):
            raise SourceError(f"{method} answered an entry without an id")
        # A teacher's `name` is the abbreviation boards show; longName is the full name.
        names[entry["id"]] = str(entry.get("name") or entry.get("longName") or f"#{entry['id']}")
    return names


def active_ids(result: Any, method: str) -> list[int]:
    """Return the ids of a master data answer, without entries marked inactive."""
    parse_names(result, method)  # validates the shape
    return [entry["id"] for entry in result if entry.get("active", True) is not False]


def parse_timetable(result: Any, names: dict[str, dict[int, str]],
                    unknown: set[str] | None = None) -> list[Period]:
    """Return the periods of a getTimetable answer; names the elements carry go into `names`,
    codes and lesson types not seen before (not in `unknown`) are logged and added to it."""
    if not isinstance(result, list):
        raise SourceError(f"getTimetable answered {type(result).__name__}, not a list")
    seen = set() if unknown is None else unknown
    return [_parse_period(raw, names, seen) for raw in result]


def merge_period(old: Period, new: Period) -> Period:
    """Return one period from two answers for it (a period of two classes comes in both)."""
    if old == new:
        return old
    refs = {
        category: tuple(dict.fromkeys([*old.ref_list(category), *new.ref_list(category)]))
        for category in dict.fromkeys([*old.refs, *new.refs])
    }
    return replace(old, refs=refs)


def _parse_period(raw: Any, names: dict[str, dict[int, str]], unknown: set[str]) -> Period:
    if not isinstance(raw, dict) or not _is_id(raw.get("id")):
        raise SourceError("getTimetable answered a period without a numeric id")
    where = f"period {raw['id']}"
    day = _parse_date(raw.get("date"), where)
    start = datetime.combine(day, _parse_time(raw.get("startTime"), f"{where} startTime"))
    end = datetime.combine(day, _parse_time(raw.get("endTime"), f"{where} endTime"))
    if end < start:
        raise SourceError(f"{where} ends before it starts")
    refs = {}
    for key, category in CATEGORY_KEYS.items():
        if raw.get(key) is not None:
            refs[category] = _parse_refs(raw[key], f"{where} {key}", names.setdefault(category, {}))
    replaced = any(r.status != REGULAR for refs_of in refs.values() for r in refs_of)
    code, lstype = raw.get("code") or "", raw.get("lstype") or "ls"
    text = str(raw.get("substText") or "")
    odd_code = _odd(unknown, "code", code, CODES, where)
    odd_type = _odd(unknown, "lstype", lstype, LESSON_TYPES, where)
    if code == "cancelled":
        status = CANCELLED
    elif code == "irregular":
        status = CHANGED if replaced else ADDITIONAL
    else:
        status = CHANGED if replaced or text or odd_code or odd_type else REGULAR
    lesson = raw.get("lsnumber") if _is_id(raw.get("lsnumber")) else None
    kind = "NORMAL_TEACHING_PERIOD" if odd_type else LESSON_TYPES[lstype]
    return Period(
        id=raw["id"],
        start=start,
        end=end,
        lesson_id=lesson,
        type=kind,
        status=status,
        text=text,
        exam=str(lesson if lesson is not None else raw["id"]) if kind == "EXAM" else None,
        refs=refs,
    )


def _odd(unknown: set[str], field: str, value: Any, known: Iterable[str], where: str) -> bool:
    """Tell whether an enum-like field holds a value not `known`; log it when first seen."""
    if isinstance(value, str) and value in known:
        return False
    shown = repr(value)[:40]
    if f"{field} {shown}" not in unknown:
        unknown.add(f"{field} {shown}")
        log.warning("jsonrpc: unknown %s %s (first on %s): its periods are shown as changes",
                    field, shown, where)
    return True


def _parse_refs(value: Any, where: str, names: dict[int, str]) -> tuple[Ref, ...]:
    if not isinstance(value, list):
        raise SourceError(f"{where} is not a list")
    refs: list[Ref] = []
    for entry in value:
        if not isinstance(entry, dict):
            raise SourceError(f"{where} holds {type(entry).__name__}, not an object")
        new, original = entry.get("id"), entry.get("orgid")
        for ref_id, key in ((new, "name"), (original, "orgname")):
            if _is_id(ref_id) and entry.get(key):
                names.setdefault(ref_id, str(entry[key]))
        refs.extend(_refs_of(new, original, where))
    return tuple(dict.fromkeys(refs))


def _refs_of(new: Any, original: Any, where: str) -> Iterable[Ref]:
    has_new = _is_id(new) and new != 0
    if original in (None, 0) or original == new:
        if not has_new:
            raise SourceError(f"{where} holds an entry without an id")
        return (Ref(new, REGULAR),)
    if not _is_id(original):
        raise SourceError(f"{where} holds an orgid that is no id: {str(original)[:40]!r}")
    return (Ref(original, REMOVED), Ref(new, ADDED)) if has_new else (Ref(original, REMOVED),)


def _parse_date(value: Any, where: str) -> date:
    try:
        if not isinstance(value, int | str) or isinstance(value, bool):
            raise ValueError
        return datetime.strptime(str(value), "%Y%m%d").date()
    except ValueError:
        raise SourceError(f"{where} date is not YYYYMMDD: {str(value)[:40]!r}") from None


def _parse_time(value: Any, where: str) -> time:
    # HHMM as an integer: 800 is 08:00, 1345 is 13:45.
    if not _is_id(value) or not 0 <= value <= 2359 or value % 100 >= 60:
        raise SourceError(f"{where} is not an HHMM time: {str(value)[:40]!r}")
    return time(value // 100, value % 100)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
