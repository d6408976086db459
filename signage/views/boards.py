"""HTML boards: overview, class, room, teacher. Kiosks poll them for `?part=board` with
If-None-Match; a matching ETag is answered 304 before anything is rendered."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from flask import Blueprint, Response, abort, g, render_template, request

from signage.domain.announcements import (
    Announcement,
    upstream_notices,
)
from signage.domain.board import (
    BOARD_CATEGORIES,
    KIND_ICONS,
    Group,
    Page,
    absent_teachers,
    affected_classes,
    group_by_class,
    paginate,
    row_key,
    teacher_order,
)
from signage.domain.calendar import display_day, next_school_day
from signage.domain.model import ChangeRow, DayNotice, Snapshot
from signage.domain.rows import change_rows, day_rows, rows_for, supervision_rows
from signage.domain.screens import Display, GroupSlot, display_from_json, group_slot
from signage.views.caching import page
from signage.views.common import (
    announcements_for,
    etag,
    local_now,
    poll_url,
    staff,
    visible,
    visible_messages,
)
from signage.views.context import runtime
from signage.views.freshness import freshness
from signage.views.params import (
    day_param,
    days_param,
    lang_param,
    name_param,
    param,
    theme_param,
)
from signage.views.power import asleep, power_for, sleeps
from signage.views.words import BOARD_TITLES, KIND_WORDS, SUPERVISION_WORD, moved_label

bp = Blueprint("boards", __name__, url_prefix="/board")

DEFAULT_ROWS = 16
STAFF_BOARDS = ("teacher", "supervisions")  # teacher names are the point: never public
KIOSK_POLL_S = 30


@bp.get("/overview")
def overview():
    """Show every change of the day, grouped by class, paged for big screens."""
    return render_board("overview", None)


@bp.get("/class/<path:name>")
def class_board(name: str):
    """Show one class's day: every period, changes highlighted (or changes only)."""
    return render_board("class", name)


@bp.get("/room/<path:name>")
def room_board(name: str):
    """Show what happens in one room today, lessons moved in and out included."""
    return render_board("room", name)


@bp.get("/teacher/<path:name>")
def teacher_board(name: str):
    """Show one teacher's day, their substitutions first (staff profile only)."""
    return render_board("teacher", name)


@bp.get("/supervisions")
def supervisions():
    """Show the day's break supervisions, substitutions highlighted (staff profile only)."""
    return render_board("supervisions", None)


@dataclass(frozen=True)
class BoardRequest:
    """What one board request asks for: the board, and how to show it (a display's own
    settings, or the query string's)."""

    kind: str  # overview, class, room, teacher, supervisions
    raw_name: str | None  # as asked; the board's name once checked against the timetable
    lang: str
    theme: str
    view: str  # "day" (every period) or "changes"
    rows_per_page: int
    part: bool  # the board region only (a kiosk's poll)
    days: int = 1  # 2: the shown day and the next school day
    group: GroupSlot | None = None  # a display of a group: which page is its own

    @classmethod
    def of(cls, kind: str, raw_name: str | None, display: Display | None) -> BoardRequest:
        """Return the request: a display's settings replace the query's."""
        part = param("part") == "board"
        if display is not None:
            g.lang = display.language
            view = "changes" if display.params.get("view") == "changes" else "day"
            group = None
            if kind == "overview" and display.params.get("group"):  # then read the others
                displays = runtime().registry.items("displays").values()
                group = group_slot(display, [display_from_json(d) for d in displays])
            return cls(kind, raw_name, display.language, display.theme, view,
                       int(display.params.get("rows") or _rows_param()), part,
                       2 if display.params.get("days") == "2" else 1, group)
        view = "changes" if param("view") == "changes" else "day"
        return cls(kind, raw_name, lang_param() or runtime().settings.language, theme_param(),
                   view, _rows_param(), part, days_param())

    @property
    def template(self) -> str:
        return "_board_region.html" if self.part else "board.html"


def render_board(kind: str, raw_name: str | None, display: Display | None = None):
    """Answer a board: 304 when the kiosk's ETag still holds, else the page or its region.

    A display's own settings (language, theme, parameters) replace the query's.
    """
    if kind in STAFF_BOARDS and not staff():
        abort(403, f"{kind} boards need the staff profile")
    rt = runtime()
    version, snapshot = rt.store.current()
    notices = notices_for(kind, raw_name, display, snapshot)
    if sleeps(display):
        awake = power_for(display, kind, raw_name, notices)
        if not awake.on:
            return asleep(awake, param("part") == "board")
    fresh = freshness(rt, snapshot)
    now = local_now()
    board = BoardRequest.of(kind, raw_name, display)
    if snapshot is None:  # before the first sync: a board that says data is coming, and polls
        html = render_template(board.template, **_context(board, fresh, notices, 0))
        return Response(html, status=503, headers={"Retry-After": "5"})
    name = name_param(snapshot, kind, raw_name) if raw_name is not None else None
    day = day_param(display_day(snapshot, now, rt.settings.switch_day_at))
    # The page and its board region share one ETag: the kiosk script starts from the page's.
    # Now/next marks move with the clock; the kiosk script keeps them current between syncs.
    tag = etag(version, fresh.last_success, fresh.stale_after_s, day, board.days,
               (board.group.position, board.group.size) if board.group else None, kind, name,
               board.view, board.rows_per_page, board.lang, board.theme, request.path,
               [(a.id, a.text, a.style) for a in notices])  # a new message is a new answer
    if tag in request.if_none_match:  # the kiosk's cheap path: nothing has changed
        return Response(status=304, headers={"ETag": f'"{tag}"', **_server_time(rt)})
    html = page(rt.gate, f"{tag}:{'part' if board.part else 'page'}", lambda: render_template(
        board.template, **_data_context(board, name, day, snapshot, now, tag,
                                        _context(board, fresh, notices, version))))
    response = Response(html, headers=_server_time(rt))
    response.set_etag(tag)
    response.cache_control.no_cache = True
    return response


def _server_time(rt) -> dict[str, str]:
    """Return the header giving kiosks the server's clock to the millisecond (Date has whole
    seconds): the screens of a group turn their pages by it, within a moment of each other."""
    return {"X-Signage-Now": str(int(rt.clock().timestamp() * 1000))}


def notices_for(kind: str, name: str | None, display: Display | None,
                snapshot: Snapshot | None = None) -> list[Announcement]:
    """Return the announcements this board shows now, the upstream's messages as tickers
    after the admin's."""
    return announcements_for(kind, name, display) + upstream_notices(visible_messages(snapshot))


@dataclass(frozen=True)
class DayView:
    """One day's section of a board: its rows, paged (a class's group never split unless it
    is larger than a page), and the rows running now and next when it is today."""

    day: date
    rows: list[ChangeRow]
    pages: list[Page]
    in_window: bool
    today: bool
    now: tuple[str | None, str | None]
    absent: list[tuple[str, str]] | None = None  # staff overview: teachers and their units
    absent_classes: tuple[tuple[str, str], ...] = ()  # staff overview, when the upstream says
    affected: list[str] | None = None  # staff overview: the classes with changes


def _context(board: BoardRequest, fresh, notices: list[Announcement], version: int) -> dict:
    """Return what every board page needs, with or without data."""
    return {**_poll(), "notices": notices, "version": version, "kind": board.kind,
            "name": board.raw_name, "theme": board.theme, "view": board.view,
            "title": BOARD_TITLES[board.kind], "school": "", "fresh": fresh,
            "tz": runtime().settings.tz, "icons": KIND_ICONS, "words": KIND_WORDS,
            "moved_label": moved_label, "supervision_word": SUPERVISION_WORD,
            "row_key": row_key, "rows_per_page": board.rows_per_page, "days": [],
            "group": board.group, "group_dwell_s": None,
            "day_count": board.days, "today": False, "etag": None}


def _data_context(board: BoardRequest, name: str | None, day: date, snapshot: Snapshot,
                  now: datetime, tag: str, context: dict) -> dict:
    """Return the context of a board with data: the shown day, and the next school day when
    two are asked for."""
    shown = [day]
    if board.days == 2:
        shown.append(next_school_day(snapshot, day))
    days = [_day_view(board, name, d, snapshot, now) for d in shown]
    # A group turns its pages together: each page stays as long as the longest needs.
    dwell = max((p.dwell_s for d in days for p in d.pages), default=None)
    return {**context, "name": name, "school": snapshot.school, "days": days,
            "group_dwell_s": dwell,
            "title": f"{BOARD_TITLES[board.kind]} {name}" if name else context["title"],
            "today": days[0].today, "etag": f'"{tag}"'}


def _day_view(board: BoardRequest, name: str | None, day: date, snapshot: Snapshot,
              now: datetime) -> DayView:
    rows = _rows(snapshot, board.kind, name, day, board.view)
    today = day == now.date()
    groups = group_by_class(rows) if board.kind == "overview" else [Group("", tuple(rows))]
    view = DayView(day, rows, paginate(groups, board.rows_per_page) if rows else [],
                   snapshot.covers(day), today,
                   _now_and_next(rows, now) if today else (None, None))
    if board.kind == "overview" and staff():  # the header the staff room knows from Untis
        notice = snapshot.notices.get(day, DayNotice())
        view = replace(view, absent=absent_teachers([*rows, *supervision_rows(snapshot, day)],
                                                    notice.absent_teachers),
                       affected=affected_classes(rows, notice.affected_classes),
                       absent_classes=notice.absent_classes)
    return view


def _poll() -> dict:
    """Return how the kiosk script polls this board: how often, and where."""
    return {"poll_s": min(KIOSK_POLL_S, runtime().settings.refresh_s), "poll_url": poll_url()}


def _rows(snapshot: Snapshot, kind: str, name: str | None, day: date,
          view: str) -> list[ChangeRow]:
    if kind == "overview":
        rows = change_rows(snapshot, day)
    elif kind == "supervisions":
        rows = supervision_rows(snapshot, day)
        rows = [r for r in rows if r.kinds] if view == "changes" else rows
    else:
        source = change_rows(snapshot, day) if view == "changes" else day_rows(snapshot, day)
        if kind == "teacher":
            duties = supervision_rows(snapshot, day)
            source = [*source, *([r for r in duties if r.kinds] if view == "changes" else duties)]
        rows = rows_for(source, BOARD_CATEGORIES[kind], name)
        if kind == "teacher":
            rows = teacher_order(rows, name)
    return visible(rows, snapshot)


def _now_and_next(rows: list[ChangeRow], local_now: datetime) -> tuple[str | None, str | None]:
    """Return the keys of the row running now and of the next one (cancelled ones skipped)."""
    clock = local_now.strftime("%H:%M")
    running = [r for r in rows if r.start <= clock < r.end and "cancelled" not in r.kinds]
    coming = [r for r in rows if r.start > clock and "cancelled" not in r.kinds]
    return (row_key(running[0]) if running else None, row_key(coming[0]) if coming else None)


def _rows_param() -> int:
    value = param("rows")
    if value is None:
        return DEFAULT_ROWS
    if not value.isdecimal() or not 1 <= int(value) <= 200:
        abort(400, f"rows must be a whole number from 1 to 200; got {value!r}")
    return int(value)
