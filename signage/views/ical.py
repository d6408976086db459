"""ICS feeds for calendars: `/ical/class/<name>.ics` and `/ical/room/<name>.ics`.

Contract: a feed holds one VEVENT per board row of the synced window that concerns the class or
room (a room's feed also lists the lessons moved out of it; a merged double period is one event).
- UIDs derive from the date, the start, the classes and subjects (and the school), so a subscribed
  calendar updates its events instead of duplicating them; a counter keeps them unique in a feed.
- Times carry the school's zone (with its VTIMEZONE); DTSTAMP is the last successful sync.
- Cancelled periods are STATUS:CANCELLED, all others STATUS:CONFIRMED; words are German.
- Teacher names appear only under the staff profile.
- The ETag is weak and follows the store version: a sync that changes nothing keeps it (only
  DTSTAMP would differ), so calendar clients get a cheap 304 until the timetable changes.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, request
from icalendar import Calendar, Event, vDuration

from signage.domain.board import BOARD_CATEGORIES
from signage.domain.model import ChangeRow, Snapshot
from signage.domain.rows import day_rows, rows_for
from signage.views.common import etag, snapshot_or_503, visible
from signage.views.context import runtime
from signage.views.params import name_param
from signage.views.words import BOARD_TITLES, KIND_WORDS

bp = Blueprint("ical", __name__, url_prefix="/ical")

PRODID = "-//signage//Vertretungsplan//DE"
# Calendar clients poll subscriptions as rarely as once a day unless a feed asks for more;
# changes matter the same morning, and a revalidation costs a 304.
REFRESH_INTERVAL = timedelta(minutes=30)


@bp.get("/class/<path:name>.ics")
def class_feed(name: str) -> Response:
    """Return one class's calendar: its periods and changes in the synced window."""
    return _feed("class", name)


@bp.get("/room/<path:name>.ics")
def room_feed(name: str) -> Response:
    """Return one room's calendar: what happens in it, and what moved out of it."""
    return _feed("room", name)


def _feed(kind: str, wanted: str) -> Response:
    rt = runtime()
    version, snapshot = snapshot_or_503()
    name = name_param(snapshot, kind, wanted)
    # The version restarts with the process; the last full load (every start does one) does not
    # repeat, so an ETag from before a restart never matches new content.
    tag = etag(version, rt.store.status().last_full_load, kind, name)
    if request.if_none_match.contains_weak(tag):  # before building anything
        response = Response(status=304)
    else:
        rows = visible(_window_rows(snapshot, BOARD_CATEGORIES[kind], name), snapshot)
        stamp = rt.store.status().last_success or rt.clock()
        title = f"{BOARD_TITLES[kind]} {name}"
        calendar = _calendar(snapshot, rows, rt.settings.tz, stamp, title)
        response = Response(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response.set_etag(tag, weak=True)
    return response


def _window_rows(snapshot: Snapshot, category: str, name: str) -> list[ChangeRow]:
    """Return the rows of every day of the window that concern one class or room."""
    rows: list[ChangeRow] = []
    day = snapshot.window_start
    while day <= snapshot.window_end:
        rows += rows_for(day_rows(snapshot, day), category, name)
        day += timedelta(days=1)
    return rows


def _calendar(snapshot: Snapshot, rows: list[ChangeRow], tz: ZoneInfo, stamp: datetime,
              title: str) -> Calendar:
    """Build the feed: one event per row, and the VTIMEZONE covering the window."""
    name = f"{snapshot.school} – {title}" if snapshot.school else title
    calendar = Calendar.new(prodid=PRODID, name=name, uid=_digest([snapshot.school, title]),
                            refresh_interval=REFRESH_INTERVAL)
    calendar["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"  # RFC 7986 requires it
    calendar.add("X-PUBLISHED-TTL", vDuration(REFRESH_INTERVAL))  # what Outlook/Apple read
    for row, uid in zip(rows, _uids(snapshot.school, rows), strict=True):
        calendar.add_component(Event.new(
            uid=uid,
            start=_at(row.date, row.start, tz),
            end=_at(row.date, row.end, tz),
            stamp=stamp,
            summary=_summary(row),
            location=", ".join(row.rooms) or None,
            description=_description(row) or None,
            status="CANCELLED" if "cancelled" in row.kinds else "CONFIRMED",
        ))
    calendar.add_missing_timezones(snapshot.window_start,
                                   snapshot.window_end + timedelta(days=1))
    return calendar


def _uids(school: str, rows: Iterable[ChangeRow]) -> Iterator[str]:
    """Yield stable UIDs; parallel groups of a class in one slot get a counter."""
    seen: Counter[str] = Counter()
    for row in rows:
        digest = _digest([school, row.date.isoformat(), row.start, row.classes, row.subjects])
        seen[digest] += 1
        suffix = f"-{seen[digest]}" if seen[digest] > 1 else ""
        yield f"{row.date:%Y%m%d}T{row.start.replace(':', '')}-{digest}{suffix}@signage"


def _digest(parts: list) -> str:
    # A hash, not the names themselves: names may hold any character a UID should not.
    return hashlib.blake2s(json.dumps(parts).encode(), digest_size=8).hexdigest()


def _at(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=tz)


def _summary(row: ChangeRow) -> str:
    """Return "M 5a", plus the change words when changed: "M 5a (Vertretung, Raumänderung)"."""
    what = " ".join((*row.subjects, *row.classes))
    words = ", ".join(str(KIND_WORDS[kind]) for kind in row.kinds)
    if what and words:
        return f"{what} ({words})"
    return what or words or "Termin"


def _description(row: ChangeRow) -> str:
    """Return the planner's note, the units, and what was replaced, one per line."""
    lines = [f"Hinweis: {row.text}" if row.text else "",
             f"Stunde: {row.unit_label}" if row.unit_label else "",
             f"Lehrkraft: {', '.join(row.teachers)}" if row.teachers else "",
             f"Statt Lehrkraft: {', '.join(row.original_teachers)}"
             if row.original_teachers else "",
             f"Statt Raum: {', '.join(row.original_rooms)}" if row.original_rooms else ""]
    return "\n".join(line for line in lines if line)
