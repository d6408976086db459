"""The words boards and feeds use for the domain's terms, translated per request (Flask-Babel)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

KIND_WORDS = {
    "cancelled": _l("Cancelled"),
    "substitution": _l("Substitution"),
    "room_change": _l("Room change"),
    "additional": _l("Extra lesson"),
    "exam": _l("Exam"),
    "moved": _l("Moved"),
    "changed": _l("Changed"),
}
BOARD_TITLES = {
    "overview": _l("Substitution plan"),
    "class": _l("Class"),
    "room": _l("Room"),
    "teacher": _l("Teacher"),
}
