"""Parse MyTimetable API v0 answers; any unusable payload is one `SourceError`.

Events carry no documented id, so identity is their content (see `signage.sources.mytimetable`
for what is confirmed and what is assumed):
- period id: a stable hash of (activityDescription, moduleCode, startDate, endDate, the sorted
  student set names); the same event listed by several timetables (its room's, its student
  set's) is one period, and its references are the union of what the listings say;
- lesson id: a stable hash of (activityDescription, moduleCode, the sorted student set names),
  so two adjacent events of one activity merge as a double period;
- name ids: a stable hash of the name (names are all the API gives).
Hashes are `signage.sources.identity.stable_id` (blake2b, the same in every process).

Mapping: classes <- `studentSets`, subjects <- `moduleCode` (else `activityDescription`),
teachers <- `staffMembers`, rooms <- `locations[].name`, text <- `notes`. Times are Unix
milliseconds (UTC) and become naive school-local datetimes. Unknown fields are ignored; every
field but `startDate`/`endDate` may be null or missing (as may a listing's `timetable` and the
`messages` list: none). Activity and event types are the institution's own words, not an enum:
any value is read (only `EXAM_WORDS` in them mean something), none is "unknown".
An event is an exam when its activity type or event type names one (`EXAM_WORDS`); it is
cancelled when its notes or a tag key contain a marker (case-insensitive substring).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from signage.domain.model import CANCELLED, REGULAR, Period, Ref
from signage.sources.base import SourceError
from signage.sources.identity import stable_id

EXAM = "EXAM"
# Words that make an event an exam when its activity or event type holds one (substring,
# case-insensitive): English "exam"/"examination", Dutch "examen", "toets", "tentamen".
EXAM_WORDS = ("exam", "toets", "tentamen")
# The type fields the exam rule reads, as paths into the event.
TYPE_FIELDS = (("activityTypeName",), ("activityTypeDescription",), ("eventType", "id"),
               ("eventType", "description"), ("eventType", "eventTypeGroup", "id"),
               ("eventType", "eventTypeGroup", "description"))
MESSAGE_BODY_MAX_CHARS = 140  # a longer body does not fit a ticker line: the title alone
_MARKDOWN = [
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links and images: their text
    (re.compile(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+[.)])\s+", re.MULTILINE), ""),  # block markers
    (re.compile(r"[*_`~]+"), ""),  # emphasis, code
    (re.compile(r"\s+"), " "),
]


@dataclass(frozen=True)
class Timetable:
    """One timetable of a type, as `/timetables?type=` lists it."""

    key: str
    description: str


def parse_timetables(payload: Any, kind: str) -> list[Timetable]:
    """Return the timetables of a `/timetables?type=` answer (`{"timetable": [{value, …}]}`)."""
    where = f"timetables of type {kind}"
    # A type without timetables may come with its list null or left out: none of that type.
    items = _listed(payload, "timetable") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise SourceError(f"{where}: answer is not an object with a 'timetable' list")
    found: list[Timetable] = []
    for item in items:
        key = item.get("value") if isinstance(item, dict) else None
        if not isinstance(key, str) or not key:
            raise SourceError(f"{where}: an entry has no 'value' (timetable key)")
        description = item.get("description")
        found.append(Timetable(key, description if isinstance(description, str) else key))
    return found


class EventParser:
    """Turns the events of several timetables into periods merged by identity, and names."""

    def __init__(self, tz: ZoneInfo, markers: Sequence[str]) -> None:
        self._tz = tz
        self._markers = tuple(m.casefold() for m in markers)
        self.periods: dict[int, Period] = {}
        self.names: dict[str, dict[int, str]] = {}

    def add(self, payload: Any, timetable: str) -> None:
        """Add the events of one `/timetables/{key}` answer (a JSON list of events)."""
        if not isinstance(payload, list):
            raise SourceError(f"timetable {timetable}: answer is {type(payload).__name__}, "
                              "not a list of events")
        for number, raw in enumerate(payload, start=1):
            where = f"timetable {timetable} event {number}"
            if not isinstance(raw, dict):
                raise SourceError(f"{where} is not an object")
            period = self._parse(raw, where)
            known = self.periods.get(period.id)
            self.periods[period.id] = period if known is None else self._merge(known, period)

    def _parse(self, raw: Mapping[str, Any], where: str) -> Period:
        start_ms, end_ms = _millis(raw, "startDate", where), _millis(raw, "endDate", where)
        if end_ms < start_ms:
            raise SourceError(f"{where} ends before it starts")
        activity = _text(raw, "activityDescription", where)
        module = _text(raw, "moduleCode", where)
        sets = sorted(set(_names(raw, "studentSets", where)))
        rooms = _names(raw, "locations", where, field="name")
        tags = _tag_keys(raw, where)
        notes = _text(raw, "notes", where)
        refs = {"classes": self._refs("classes", sets),
                "subjects": self._refs("subjects", [module or activity] if module or activity
                                       else []),
                "teachers": self._refs("teachers", _names(raw, "staffMembers", where)),
                "rooms": self._refs("rooms", rooms)}
        exam = _exam(raw)
        haystack = [notes.casefold(), *(t.casefold() for t in tags)]
        cancelled = any(m in h for m in self._markers for h in haystack)
        return Period(
            id=stable_id(activity, module, start_ms, end_ms, sets),
            start=self._local(start_ms, where),
            end=self._local(end_ms, where),
            lesson_id=stable_id(activity, module, sets),
            type=EXAM if exam else "NORMAL_TEACHING_PERIOD",
            status=CANCELLED if cancelled else REGULAR,
            text=notes,
            exam=exam,
            refs={category: refs for category, refs in refs.items() if refs},
        )

    def _refs(self, category: str, names: Sequence[str]) -> tuple[Ref, ...]:
        table = self.names.setdefault(category, {})
        for name in names:
            table[stable_id(name)] = name
        return self._sorted(category, {stable_id(name) for name in names})

    def _sorted(self, category: str, ids: Iterable[int]) -> tuple[Ref, ...]:
        """Return references in name order: whatever order the upstream lists them in."""
        table = self.names[category]
        return tuple(Ref(i) for i in sorted(ids, key=lambda i: (table[i].casefold(), table[i])))

    def _merge(self, known: Period, other: Period) -> Period:
        """Return one period from two listings of the same event: references united,
        cancelled and exam when either says so, distinct notes joined (in a fixed order)."""
        refs = dict(known.refs)
        for category, more in other.refs.items():
            refs[category] = self._sorted(category, {r.id for r in (*refs.get(category, ()),
                                                                    *more)})
        texts = sorted({t for t in (known.text, other.text) if t})
        cancelled = CANCELLED in (known.status, other.status)
        return replace(known, refs=refs, text=" / ".join(texts),
                       status=CANCELLED if cancelled else known.status,
                       type=EXAM if EXAM in (known.type, other.type) else known.type,
                       exam=min(filter(None, (known.exam, other.exam)), default=None))

    def _local(self, millis: int, where: str) -> datetime:
        try:
            instant = datetime.fromtimestamp(millis / 1000, UTC)
            return instant.astimezone(self._tz).replace(tzinfo=None)
        except (ValueError, OverflowError, OSError):  # far outside the years datetime holds
            raise SourceError(f"{where}: time {millis} ms is out of range") from None


PUBLIC_ROLE = "ROLE_STUDENT"  # with no target roles at all: a message for everyone


def parse_messages(payload: Any, now: datetime) -> tuple[str, ...]:
    """Return the ticker lines of a `/messages` answer: active messages (published, not
    expired at `now`) meant for everyone or for students, important ones first; the title,
    plus the body when short. Boards hang in public: a message for staff only never shows."""
    items = _listed(payload, "messages") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise SourceError("messages: answer is not a list or an object with a 'messages' list")
    now_ms = now.timestamp() * 1000
    lines: list[tuple[bool, str]] = []
    for number, raw in enumerate(items, start=1):
        where = f"message {number}"
        if not isinstance(raw, dict):
            raise SourceError(f"{where} is not an object")
        published = _optional_millis(raw, "publicationDate", where)
        expires = _optional_millis(raw, "expirationDate", where)
        if published is None or published > now_ms or (expires is not None and expires <= now_ms):
            continue
        roles = raw.get("targetRoles") or []
        if not isinstance(roles, list):
            raise SourceError(f"{where}: targetRoles is not a list")
        if roles and PUBLIC_ROLE not in roles:
            continue
        title = " ".join(_text(raw, "title", where).split())
        body = plain_text(_text(raw, "body", where))
        short = body if len(body) <= MESSAGE_BODY_MAX_CHARS and body != title else ""
        line = f"{title}: {short}" if title and short else title or short
        if line:
            lines.append((raw.get("important") is True, line))
    return tuple(line for important, line in sorted(lines, key=lambda x: not x[0]))


def _listed(payload: Mapping[str, Any], key: str) -> Any:
    """Return an answer's list, [] when it is null or left out (nothing of the kind)."""
    value = payload.get(key)
    return [] if value is None else value


def plain_text(markdown: str) -> str:
    """Return a Markdown message body as one line of plain text."""
    for pattern, replacement in _MARKDOWN:
        markdown = pattern.sub(replacement, markdown)
    return markdown.strip()


def _exam(raw: Mapping[str, Any]) -> str | None:
    """Return the type value that makes an event an exam (a stable key), or None."""
    for path in TYPE_FIELDS:
        value: Any = raw
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if isinstance(value, str) and any(w in value.casefold() for w in EXAM_WORDS):
            return value
    return None


MAX_MILLIS = 253_402_300_799_000  # 9999-12-31T23:59:59Z: later is no date


def _millis(raw: Mapping[str, Any], key: str, where: str) -> int:
    value = _optional_millis(raw, key, where)
    if value is None:
        raise SourceError(f"{where}: {key} is missing")
    return value


def _optional_millis(raw: Mapping[str, Any], key: str, where: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not -MAX_MILLIS <= value <= MAX_MILLIS):  # also NaN, infinities, 400-digit ints
        raise SourceError(f"{where}: {key} is not a time in Unix milliseconds")
    return int(value)


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SourceError(f"{where}: {key} is not a string")
    return value.strip()


def _names(raw: Mapping[str, Any], key: str, where: str, field: str = "name") -> list[str]:
    """Return the names of a list of strings or of objects with a `field` (empty ones left out)."""
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SourceError(f"{where}: {key} is not a list")
    names = []
    for item in value:
        name = item.get(field) if isinstance(item, dict) else item
        if name is not None and not isinstance(name, str):
            raise SourceError(f"{where}: {key} holds a {type(name).__name__}, not a name")
        if name and name.strip():
            names.append(name.strip())
    return names


def _tag_keys(raw: Mapping[str, Any], where: str) -> list[str]:
    return _names(raw, "tags", where, field="key")
