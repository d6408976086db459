"""Privacy: what a public screen may show of a row (no teacher names, no planners' notes, unless
the school opted in; names inside notes blanked) and of the upstream's messages (names
blanked)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from signage.domain.model import ChangeRow, Snapshot

SHORT_NAME_CHARS = 5  # names shorter than this are short names ("MÜL"), matched exactly


def for_public(rows: Iterable[ChangeRow], names: Iterable[str] = (), *,
               show_teachers: bool = False, show_notes: bool = False) -> list[ChangeRow]:
    """Return the rows as a public screen may show them.

    Break supervisions go. Teacher names go unless the school opted in to showing them (its
    teachers' short names); planners' notes go unless it opted in to notes, and then any of
    `names` in a note ("Vertretung durch MÜL") becomes "…" unless teacher names may show anyway.
    """
    rows = [r for r in rows if not r.supervision]  # staff matters, whatever the opt-ins
    patterns = _name_patterns(names)

    def note(text: str) -> str:
        if not show_notes:
            return ""
        if show_teachers:
            return text
        for pattern in patterns:
            text = pattern.sub("…", text)
        return text

    if show_teachers:
        return [replace(r, text=note(r.text)) for r in rows]
    return [replace(r, teachers=(), original_teachers=(), text=note(r.text)) for r in rows]


def teacher_names(snapshot: Snapshot) -> list[str]:
    """Return every teacher the snapshot names: its teachers and those its days' notices name
    (absent, affected, heading a group of rows)."""
    told = [name for notice in snapshot.notices.values()
            for name in (*(n for n, _ in notice.absent_teachers), *notice.teachers)]
    return [*snapshot.names.get("teachers", {}).values(), *told]


def public_messages(messages: Iterable[str], names: Iterable[str]) -> tuple[str, ...]:
    """Return the upstream's messages of the day as a public screen may show them: any of the
    teacher `names` ("Frau MÜL fehlt") becomes "…" (the WebUntis monitor's messages are the
    school's hallway text, which may name teachers)."""
    patterns = _name_patterns(names)
    shown = []
    for text in messages:
        for pattern in patterns:
            text = pattern.sub("…", text)
        shown.append(text)
    return tuple(shown)


def _name_patterns(names: Iterable[str]) -> list[re.Pattern[str]]:
    """Return patterns that find teacher names in a note: a short name ("DIE", "MÜL") exactly,
    as it is also a word ("die"); a longer one in any case and with a genitive s
    ("Zwackelmanns Kurs")."""
    words = sorted({n.strip() for n in names if n.strip()}, key=len, reverse=True)
    short = [w for w in words if len(w) < SHORT_NAME_CHARS]
    long_ = [w for w in words if len(w) >= SHORT_NAME_CHARS]
    patterns = []
    if long_:
        alternatives = "|".join(map(re.escape, long_))
        patterns.append(re.compile(rf"(?<![^\W_])(?:{alternatives})(?:'?s)?(?![^\W_])",
                                   re.IGNORECASE))
    if short:
        alternatives = "|".join(map(re.escape, short))
        patterns.append(re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])"))
    return patterns
