"""The words boards and feeds use for the domain's terms, translated per request (Flask-Babel)."""

from __future__ import annotations

from datetime import date

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from signage.domain.model import OtherSide

KIND_WORDS = {
    "cancelled": _l("Cancelled"),
    "substitution": _l("Substitution"),
    "room_change": _l("Room change"),
    "additional": _l("Extra lesson"),
    "exam": _l("Exam"),
    "moved": _l("Moved"),
    "changed": _l("Changed"),
}
SUPERVISION_WORD = _l("Break supervision")
BOARD_TITLES = {
    "overview": _l("Substitution plan"),
    "class": _l("Class"),
    "room": _l("Room"),
    "teacher": _l("Teacher"),
    "supervisions": _l("Break supervisions"),
}


def moved_label(side: OtherSide, shown_day: date) -> str:
    """Return where a moved lesson went ("→ Fr. 8. Std.") or came from ("von Mi. 3. Std."):
    the weekday when it is another day, the unit of that day's grid (else its start time)."""
    when = _("period %(unit)s", unit=side.unit) if side.unit is not None else side.start
    if side.day != shown_day:
        when = f"{format_date(side.day, 'EEE')} {when}"
    return f"→ {when}" if side.direction == "to" else _("from %(when)s", when=when)
