"""Parse the public WebUntis monitor's answers; any unusable payload is one `SourceError`.

See `signage.sources.monitor` for the protocol and what is confirmed or assumed. Here:

- `unwrap` opens `{"payload": …}`; `{"error": {code, message}}` becomes `MonitorRefusal`.
- `columns_of` lays out a row's cells from the flags in force: hour, time, classes, subject,
  room, teacher, info, substitution text, each only when its `show*` flag is on.
- `DayAnswer.of` reads one data answer: the rows' day (`nextDate` when `showingNextDate`),
  `lastUpdate`, `importInProgress`, rows, absences, affected classes, messages.
- `RowReader` turns rows into periods. Cells are HTML: a changed element is
  `<span class="substMonitorSubstElem">NEW</span> (OLD)`, `---` means none, a cell may list
  several entries joined by ", ". Tags are stripped and entities decoded. A row is cancelled
  when a `cellClasses` entry of an element column (classes, subject, room, teacher) holds
  `cancelStyle` or its `cssClasses` name `cancelled`; additional when its type word says so, or
  when its elements are all new (marked, with no original) and no substitution word says
  otherwise (a format with `showAbsentTeacher` off shows a substitute alone); otherwise a change
  with the originals REMOVED and the new ones ADDED. The type word (the info column) makes a row
  an exam (a "Klausuraufsicht" too), a break supervision (by name, "Pausenaufsicht", or
  "Aufsicht" on a row of no class) or a moved lesson ("Verlegung", "Tausch"; not a room's move
  nor another swap: "Raumverlegung" is a room change, "Lehrertausch" a substitution); a plain
  type word ("Vertretung") is not shown as a note.
  A row whose time is no span ("ganztägig") is skipped and named in `skipped`.

Identity (rows have no ids): a period id is a stable hash of the row's day, times, hour and
cells (classes from the class column, else from the row's group); the same lesson listed under
each of its classes is one period with all of them. The lesson id leaves out the times, so two
adjacent rows of one lesson merge as a double period; a row "3 - 4" is one period spanning
both units. Name ids are stable hashes of the names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from html import unescape
from html.parser import HTMLParser
from typing import Any

from signage.domain.model import (
    ADDED,
    ADDITIONAL,
    CANCELLED,
    CHANGED,
    REGULAR,
    REMOVED,
    DayNotice,
    Period,
    Ref,
)
from signage.sources.base import SourceError
from signage.sources.identity import stable_id

# The columns in the order the monitor lays them out, each with the flag that shows it.
COLUMNS = (("hour", "showHour"), ("time", "showTime"), ("classes", "showClass"),
           ("subject", "showSubject"), ("room", "showRoom"), ("teacher", "showTeacher"),
           ("info", "showInfo"), ("text", "showSubstText"))
ELEMENTS = {"classes": "classes", "subject": "subjects", "room": "rooms", "teacher": "teachers"}
NEW_MARK = "substMonitorSubstElem"
CANCEL_MARK = "cancelStyle"
NONE = "---"
GROUP_BY_CLASS, GROUP_BY_TEACHER = 1, 2  # what `group` holds
CLASS_TYPE, TEACHER_TYPE = 1, 2  # element types of absentElements / affectedElements
# The type words schools use (lower case, entities decoded); a school may rename them, so they
# only add to what the cells' markers say. Plain ones say nothing a board does not already show.
CANCEL_WORDS = ("entfall", "ausfall", "fällt aus", "entfällt", "cancel", "freisetzung")
ADDITIONAL_WORDS = ("zusatz", "sondereinsatz", "additional", "extra")
EXAM_WORDS = ("klausur", "prüfung", "exam")
# A break supervision by name; "Aufsicht" alone only on a row of no class that is no exam's.
BREAK_WORDS = ("pausenaufsicht", "hofaufsicht", "gangaufsicht", "break supervision")
SUPERVISION_WORDS = ("aufsicht", "supervision")
# A teacher cell "NEW" with no original under these words is a substitution whose absent teacher
# the format hides (showAbsentTeacher off), not an extra lesson.
SUBSTITUTION_WORDS = ("vertr", "substitution", "betreuung", "lehrertausch")
# A lesson moved to another time: Untis' "Verlegung" and "Tausch" (two lessons swapped), not a
# room's move ("Raumverlegung", "verlegt in Raum B12", "Raum getauscht": a room change) nor
# another swap ("Lehrertausch", "Schüleraustausch").
_MOVED = re.compile(r"(?<![^\W\d_])(?<!raum-)(?<!raum )"  # word-initial, no room before
                    r"(?:verlegung|verlegt|verschoben|tausch\b|stundentausch|unterrichtstausch)"
                    r"(?!\s+(?:in|nach|ins|zu)\s+(?:den\s+)?raum)"  # nor a room after
                    r"|(?<!room )\bmoved\b(?!\s+to\s+room)")
PLAIN_WORDS = frozenset({"vertretung", "entfall", "ausfall", "raumänderung", "raumvertretung",
                         "zusatzunterricht", "sondereinsatz", "betreuung", "mitbetreuung",
                         "klausur", "prüfung", "pausenaufsicht", "aufsicht", "statt-vertretung",
                         "substitution", "cancelled", "room change", "additional", "exam",
                         "supervision", "freisetzung", "veranstaltung", "event"})
_TIME_RANGE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")
_HOURS = re.compile(r"\s*(\d{1,2})(?:\s*-\s*(\d{1,2}))?\s*")
_ENTRY = re.compile(r"(?P<new>.*?)\s*\((?P<old>[^()]*)\)\s*", re.DOTALL)


class MonitorRefusal(SourceError):
    """The monitor answered with an error object: an unknown school or format, a list that is
    not public, a request it did not take."""

    def __init__(self, code: Any, message: str, what: str) -> None:
        super().__init__(f"{what}: WebUntis answered error {code}: {message}")
        self.code = code
        self.upstream_message = message


def unwrap(answer: Any, what: str) -> Mapping[str, Any]:
    """Return an answer's payload; raise `MonitorRefusal` for an error object and
    `SourceError` for anything else that is no payload."""
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        error = answer["error"]
        message = error.get("message")
        raise MonitorRefusal(error.get("code"), str(message) if message else "(no message)",
                             what)
    payload = answer.get("payload") if isinstance(answer, dict) else None
    if not isinstance(payload, dict):
        raise SourceError(f"{what}: answer has neither a payload object nor an error")
    return payload


def columns_of(flags: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the columns a row holds under `flags`, in the monitor's order."""
    return tuple(name for name, flag in COLUMNS if flags.get(flag) is True)


def plain(cell: str) -> str:
    """Return a cell's text: tags stripped, entities decoded, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]*>", " ", cell)).split())


@dataclass(frozen=True)
class Entry:
    """One element of a cell: its new value, its original (None: none), and whether the
    monitor marked it as new."""

    new: str | None
    old: str | None
    marked: bool


def entries(cell: str) -> list[Entry]:
    """Return a cell's elements: "A", "NEW (OLD)", "--- (OLD)", lists joined by ", "."""
    reader = _Marks()
    reader.feed(cell)
    reader.close()
    spans = "<span" in cell.lower()  # the monitor's markup: "(…)" then holds an original
    found = []
    for text, marked in _split(reader.chars):
        match = _ENTRY.fullmatch(text)
        # Without any markup, "Aula (EG)" is a name, unless the new side is "---".
        if match and not (spans or marked or match["new"].strip() == NONE):
            match = None
        new, old = (match["new"], match["old"]) if match else (text, None)
        new_text = " ".join(new.split())
        old_text = " ".join(old.split()) if old is not None else None
        found.append(Entry(None if new_text in ("", NONE) else new_text,
                           None if old_text in (None, "", NONE) else old_text,
                           marked and new_text not in ("", NONE)))
    return [e for e in found if e.new is not None or e.old is not None]


class _Marks(HTMLParser):
    """Collects a cell's characters, each with whether it sits inside a "new" mark."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chars: list[tuple[str, bool]] = []
        self._open: list[bool] = []  # per open tag: does it mark new?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a tag; a span of the "new" class marks its text."""
        classes = " ".join(v or "" for k, v in attrs if k == "class").split()
        if tag not in ("br", "img", "hr", "wbr"):
            self._open.append(NEW_MARK in classes)
        elif tag == "br":
            self.chars.append((" ", False))

    def handle_endtag(self, tag: str) -> None:
        """Close the innermost open tag."""
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        """Keep text with its mark."""
        marked = any(self._open)
        self.chars.extend((c, marked) for c in data)


def _split(chars: Sequence[tuple[str, bool]]) -> Iterable[tuple[str, bool]]:
    """Split marked characters at ", " outside parentheses; yield (text, any new mark)."""
    depth, text, marked = 0, [], False
    for char, mark in chars:
        depth += (char == "(") - (char == ")")
        if char == "," and depth <= 0:
            yield "".join(text).strip(), marked
            text, marked = [], False
            continue
        text.append(char)
        marked = marked or (mark and depth <= 0 and not char.isspace())
    yield "".join(text).strip(), marked


@dataclass(frozen=True)
class DayAnswer:
    """One `/substitution/data` answer."""

    day: date | None  # the rows' day; None: the monitor named none (no list for it)
    asked: date | None  # the day the answer is for (its `date`), the rows' day unless switched
    next_day: date | None
    last_update: str
    importing: bool
    rows: tuple[Mapping[str, Any], ...]
    notice: DayNotice
    messages: tuple[str, ...]

    @classmethod
    def of(cls, payload: Mapping[str, Any], what: str) -> DayAnswer:
        """Read a data payload; raise `SourceError` when it cannot be used."""
        rows = payload.get("rows")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise SourceError(f"{what}: answer has no list of rows")
        asked = _day(payload.get("date"), "date", what)
        following = _day(payload.get("nextDate"), "nextDate", what)
        showing_next = payload.get("showingNextDate") is True
        day = following if showing_next else asked
        last_update = payload.get("lastUpdate")
        if last_update is not None and not isinstance(last_update, str):
            raise SourceError(f"{what}: lastUpdate is not text")
        return cls(day=day, asked=asked, next_day=following, last_update=last_update or "",
                   importing=payload.get("importInProgress") is True, rows=tuple(rows),
                   notice=_notice(payload, what), messages=_messages(payload, what))


def _day(value: Any, key: str, what: str) -> date | None:
    """Return a YYYYMMDD day, given as a number or as its 8 digits (None stays None)."""
    if value is None:
        return None
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    try:
        if len(text) == 8:
            return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        pass
    raise SourceError(f"{what}: {key} is not a date YYYYMMDD")


def _notice(payload: Mapping[str, Any], what: str) -> DayNotice:
    """Return the answer's header: absent teachers and classes, affected classes and teachers."""
    absent: dict[int, list[tuple[str, str]]] = {CLASS_TYPE: [], TEACHER_TYPE: []}
    elements = payload.get("absentElements") or []
    if not isinstance(elements, list):
        raise SourceError(f"{what}: absentElements is not a list")
    for element in elements:
        if not isinstance(element, dict):
            raise SourceError(f"{what}: an absentElements entry is not an object")
        kind, name = element.get("elementType"), plain(str(element.get("elementName") or ""))
        if isinstance(kind, int) and kind in absent and name:
            absent[kind].append((name, _absent_units(element)))
    return DayNotice(absent_teachers=tuple(absent[TEACHER_TYPE]),
                     absent_classes=tuple(absent[CLASS_TYPE]),
                     affected_classes=_affected(payload, str(CLASS_TYPE), what),
                     teachers=_affected(payload, str(TEACHER_TYPE), what))


def _affected(payload: Mapping[str, Any], kind: str, what: str) -> tuple[str, ...]:
    """Return the names `affectedElements` lists for an element type ("1" classes)."""
    affected = payload.get("affectedElements") or {}
    if not isinstance(affected, dict):
        raise SourceError(f"{what}: affectedElements is not an object")
    names = affected.get(kind) or []
    if not isinstance(names, list):
        raise SourceError(f"{what}: affectedElements[{kind!r}] is not a list")
    return tuple(dict.fromkeys(n for n in (plain(str(c)) for c in names) if n))


def _absent_units(element: Mapping[str, Any]) -> str:
    """Return the units an absence covers ("2-4"), "" for a whole day or when not told."""
    spans = []
    absences = element.get("absences")
    for absence in absences if isinstance(absences, list) else ():
        if not isinstance(absence, dict) or absence.get("type") == "ALL_DAY":
            return ""
        first, last = str(absence.get("startUnit") or ""), str(absence.get("endUnit") or "")
        if first.isdigit() and last.isdigit():
            spans.append(first if first == last else f"{first}-{last}")
    return ", ".join(spans)


def _messages(payload: Mapping[str, Any], what: str) -> tuple[str, ...]:
    """Return the messages of the day as ticker lines: "subject: body", or the body alone."""
    data = payload.get("messageData") or {}
    items = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(items or [], list):
        raise SourceError(f"{what}: messageData.messages is not a list")
    lines = []
    for item in items or ():
        if not isinstance(item, dict):
            raise SourceError(f"{what}: a message is not an object")
        subject, body = plain(str(item.get("subject") or "")), plain(str(item.get("body") or ""))
        line = f"{subject}: {body}" if subject and body else subject or body
        if line:
            lines.append(line)
    return tuple(dict.fromkeys(lines))


@dataclass
class RowReader:
    """Turns the rows of data answers into periods and the names they reference."""

    columns: tuple[str, ...]
    group_by: Any = GROUP_BY_CLASS
    periods: dict[int, Period] = field(default_factory=dict)
    names: dict[str, dict[int, str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # rows that name no usable time
    people: dict[date, set[str]] = field(default_factory=dict)  # by `group` (groupBy 2)

    def add(self, answer: DayAnswer, what: str) -> None:
        """Read every row of one day's answer."""
        if answer.day is None:
            return
        for number, row in enumerate(answer.rows, start=1):
            period = self._period(answer.day, row, f"{what}: row {number}")
            if period is None:
                continue
            known = self.periods.get(period.id)
            self.periods[period.id] = period if known is None else _union(known, period)

    def _period(self, day: date, row: Mapping[str, Any], where: str) -> Period | None:
        data = row.get("data")
        if not isinstance(data, list) or not all(isinstance(c, str) for c in data):
            raise SourceError(f"{where}: data is not a list of texts")
        if len(data) != len(self.columns):
            raise SourceError(f"{where}: {len(data)} cells where the format shows "
                              f"{len(self.columns)} columns ({', '.join(self.columns)})")
        cells = dict(zip(self.columns, data, strict=True))
        if "time" not in cells:
            raise SourceError(f"{where}: the list shows no time column")
        if self.group_by == GROUP_BY_TEACHER and plain(str(row.get("group") or "")):
            self.people.setdefault(day, set()).add(plain(str(row["group"])))
        span = _span(day, plain(cells["time"]))
        if span is None:  # an all-day event ("ganztägig"), or no time: no lesson's change
            if plain(cells["time"]):
                self.skipped.append(f"{where} skipped: time {plain(cells['time'])!r} is not "
                                    "HH:MM-HH:MM")
            return None
        start, end = span
        hours = _HOURS.fullmatch(plain(cells.get("hour", "")))
        unit = int(hours[1]) if hours else None
        end_unit = int(hours[2]) if hours and hours[2] else None
        info = plain(cells.get("info", ""))
        words = info.lower()
        cancelled = self._cancelled(row, words, where)
        split = {c: entries(cells[c]) for c in ELEMENTS if c in cells}
        if "classes" not in cells and self.group_by == GROUP_BY_CLASS:
            group = plain(str(row.get("group") or ""))
            split["classes"] = [Entry(group, None, False)] if group else []
        additional = not cancelled and (_any_word(words, ADDITIONAL_WORDS) or (
            _all_new(split) and not _any_word(words, SUBSTITUTION_WORDS)))
        status = CANCELLED if cancelled else ADDITIONAL if additional else CHANGED
        refs = {ELEMENTS[c]: self._refs(ELEMENTS[c], found, status)
                for c, found in split.items()}
        texts = [info if words not in PLAIN_WORDS else "", plain(cells.get("text", ""))]
        text = " / ".join(t for t in dict.fromkeys(texts) if t)
        planned = {c: sorted(filter(None, (e.old or e.new if status != ADDITIONAL else e.new
                                          for e in found))) for c, found in split.items()}
        lesson = stable_id(day.isoformat(), planned.get("classes", []),
                           planned.get("subject", []), planned.get("teacher", []),
                           planned.get("room", []), words if words not in PLAIN_WORDS else "")
        moved = _MOVED.search(words) is not None
        return Period(
            id=stable_id(day.isoformat(), start.isoformat(), end.isoformat(), unit, end_unit,
                         status, {c: plain(v) for c, v in cells.items()
                                  if c not in ("hour", "time")}),
            start=start, end=end, lesson_id=lesson, type=_type(words, bool(split.get("classes"))),
            status=status,
            text=text, related_period=stable_id("moved", lesson, info) if moved else None,
            exam=info if _any_word(words, EXAM_WORDS) else None,
            refs=refs, unit=unit, end_unit=end_unit if end_unit != unit else None)

    def _cancelled(self, row: Mapping[str, Any], words: str, where: str) -> bool:
        marks = row.get("cellClasses") or {}
        if not isinstance(marks, dict):
            raise SourceError(f"{where}: cellClasses is not an object")
        element_columns = {str(i) for i, c in enumerate(self.columns) if c in ELEMENTS}
        struck = any(CANCEL_MARK in (classes or ()) for key, classes in marks.items()
                     if key in element_columns and isinstance(classes, list))
        css = row.get("cssClasses") or []
        typed = isinstance(css, list) and any("cancel" in str(c) for c in css)
        return struck or typed or _any_word(words, CANCEL_WORDS)

    def _refs(self, category: str, found: Sequence[Entry], status: str) -> tuple[Ref, ...]:
        refs: dict[int, str] = {}
        for entry in found:
            if status == CANCELLED:  # the planned elements stay the row's (DESIGN.md §3)
                pairs = [(entry.old or entry.new, REGULAR)]
            elif status == ADDITIONAL:
                pairs = [(entry.new, REGULAR)]
            elif entry.new is not None and entry.old is not None and entry.new != entry.old:
                pairs = [(entry.old, REMOVED), (entry.new, ADDED)]
            elif entry.new is None:
                pairs = [(entry.old, REMOVED)]
            else:
                pairs = [(entry.new, ADDED if entry.marked and entry.old is None else REGULAR)]
            for name, ref_status in pairs:
                if name and name != "?":
                    refs.setdefault(self._name(category, name), ref_status)
        return tuple(Ref(i, s) for i, s in refs.items())

    def _name(self, category: str, name: str) -> int:
        ref_id = stable_id(name)
        self.names.setdefault(category, {})[ref_id] = name
        return ref_id


def _union(known: Period, other: Period) -> Period:
    """Return one period with the classes of both listings of it (a lesson under each class)."""
    merged = dict(known.refs)
    for category, refs in other.refs.items():
        ids = {r.id for r in merged.get(category, ())}
        merged[category] = (*merged.get(category, ()), *(r for r in refs if r.id not in ids))
    return replace(known, refs=merged)


def _all_new(split: Mapping[str, Sequence[Entry]]) -> bool:
    """Tell whether a row's elements are all new: some marked new, none with an original."""
    found = [e for column, es in split.items() if column != "classes" for e in es]
    return any(e.marked for e in found) and all(e.old is None for e in found)


def _any_word(text: str, words: Sequence[str]) -> bool:
    return any(word in text for word in words)


def _type(words: str, has_classes: bool) -> str:
    """Return the period's type by its words: a break supervision by name, an exam (also an
    exam's supervision, "Klausuraufsicht"), a supervision of no class."""
    if _any_word(words, BREAK_WORDS):
        return "BREAK_SUPERVISION"
    if _any_word(words, EXAM_WORDS):
        return "EXAM"
    if not has_classes and _any_word(words, SUPERVISION_WORDS):
        return "BREAK_SUPERVISION"
    return "NORMAL_TEACHING_PERIOD"


def _span(day: date, text: str) -> tuple[datetime, datetime] | None:
    """Return the start and end of a time cell "HH:MM-HH:MM" on `day`; None for anything else."""
    times = _TIME_RANGE.fullmatch(text)
    if times is None:
        return None
    try:
        start, end = time(int(times[1]), int(times[2])), time(int(times[3]), int(times[4]))
    except ValueError:  # "25:00"
        return None
    return (datetime.combine(day, start), datetime.combine(day, end)) if start < end else None
