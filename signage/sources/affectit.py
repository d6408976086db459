"""Affect IT's WebUntis API 3.4.4 (`SIGNAGE_SOURCE=affectit`), the API Danish schools use.

Not Untis GmbH's API: Affect IT keeps its own copy of each school's WebUntis data and refreshes it
by a cron job about every 2 minutes, so polling faster than the default 120 s only costs requests.

Auth: the school's API key in the `X-API-KEY` header of every call (a full key, or a public one
for what WebUntis shows anyone). Since every call carries the key, a 401 or 403 on any call is a
`SourceAuthError` (wrong or revoked key; the engine pauses after a few in a row); 429/5xx and
transport trouble are `SourceUnavailable`; a 3xx is never followed (the key would go along) and,
like an unusable payload, is a `SourceError`. The key never reaches a message or a log line.

Model: "lessons" are timetable elements (our periods, period id = untis id); "courses" are
WebUntis lessons (our `lesson_id`, which merges double periods); groups are classes, locations
rooms. There are no change statuses: a lesson has its current teacher, or is gone (cancelled).
Batches are `plain` (every reference REGULAR) and the engine marks substitutions, room changes,
extra lessons and vanished (cancelled) lessons against its copy (`signage.sync.reconcile`).

Sync, as documented: a HEAD on the school answers its global timestamp as `Last-Modified`; when
it did not move a cycle costs that one request. Otherwise, in dependency order (`CATEGORIES`),
a HEAD per category; each changed one's sync list of (untis id, timestamp) pairs is compared with
the list the engine's copy reflects: ids only in ours are deleted, ids only upstream created,
ids whose timestamp differs (not only a newer one: a restored backup moves it back) updated;
those objects are fetched by id, at most `MAX_IDS` per request.

Which lists does the copy reflect? The engine keeps no state of ours, so the adapter keeps them:
- `fetch_window` fetches everything; when its range covers the next `fetch_changes`' range it
  was a full load, which the engine stored (else it would not ask for changes), and its lists
  become ours. A narrower one (the window rolled) leaves them: the days held may have changed.
- `fetch_changes` diffs against the lists the engine is known to hold. The engine advances its
  cursor (`since`) only after storing a cycle, so a new `since` acknowledges the last answer;
  the same `since` again means it was lost, and the diff starts from the older lists (sending a
  lesson's current state twice is harmless).
- With no lists at all (a restarted process; the engine's copy outlives us in Redis) it fetches
  everything and answers `complete`, so the engine treats every lesson missing as gone.
Incremental answers are not cut to the window: the engine drops lessons outside it, and needs
them to see a lesson moved out of it. Exams are not modelled (no field for them is known).

Confirmed by the documentation: the header, UTC timezone-aware times, ids unique per category,
HEAD/`Last-Modified` on school and categories, sync lists of "(Untis ID, timestamp) tuples",
objects carrying their timestamp in `last_update`, fetching by id in batches of ~100 (real
clients send `?untis_ids=1,2,3`; Apache's 8177-byte URL limit is the hard one), gzip on
request, errors as HTTP statuses.
Assumed (the constants below and the shapes in `signage.sources.affectit_parse`): the school is
`{URL}/schools` (the key selects it; full loads read its name there as from a category: sync
list, then the object; a HEAD there may also move for other schools' changes, which only costs
a cycle); a category lives at `{URL}/{category}`, where a GET with no parameters is its sync
list and `?untis_ids=` fetches objects. A sync list entry's field names are not documented:
accepted are objects with the id in `untis_id` or `id` and the timestamp in `last_update` or
`timestamp`, and `[id, timestamp]` pairs (a timestamp is compared as text, never parsed).
Names come from `name` (short), else `longname`; the key grants all six categories (a public
key that hides teachers would answer 403 and pause the sync).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests

from signage.sources.affectit_parse import name_of, parse_lesson, parse_objects, parse_sync_list
from signage.sources.base import (
    Batch,
    Changes,
    SourceAuthError,
)
from signage.sources.http import json_of, raise_for_status

log = logging.getLogger(__name__)

# --- the REST layout as assumed (see the docstring) ---------------------------------------------
SCHOOLS = "schools"  # HEAD: the school's global timestamp; GET: like a category (its name)
SCHOOL_PATH = f"/{SCHOOLS}"
LESSONS = "lessons"
# Categories in dependency order, and the name table each fills (None: lessons are periods).
CATEGORIES: dict[str, str | None] = {
    "teachers": "teachers",
    "locations": "rooms",
    "groups": "classes",
    "subjects": "subjects",
    "departments": "departments",
    LESSONS: None,
}
API_KEY_HEADER = "X-API-KEY"
IDS_PARAM = "untis_ids"  # comma-separated untis ids
MAX_IDS = 100  # per object request
AUTH_HINT = "check SIGNAGE_AFFECTIT_API_KEY"
SCHOOL = "school"  # key of the school's timestamp among the categories'


@dataclass(frozen=True)
class SyncState:
    """What the engine's copy reflects: `Last-Modified` of the school and each category (None:
    look again), and each category's sync list {untis id: timestamp}."""

    stamps: Mapping[str, str | None]
    lists: Mapping[str, Mapping[int, str]]


class AffectItSource:
    """Reads lessons and names from one school on the Affect IT WebUntis API."""

    name = "affectit"

    def __init__(self, base_url: str, api_key: str, tz: ZoneInfo,
                 session: requests.Session) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {API_KEY_HEADER: api_key}
        self._tz = tz
        self._session = session
        self._held: SyncState | None = None  # what the engine is known to have stored
        self._sent: tuple[datetime, SyncState] | None = None  # last answer, and its `since`
        self._loaded: tuple[date, date, SyncState] | None = None  # last fetch_window

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], tz: ZoneInfo, session: requests.Session
    ) -> AffectItSource:
        """Build the source from the `AFFECTIT_*` settings."""
        return cls(settings["AFFECTIT_URL"], settings["AFFECTIT_API_KEY"], tz, session)

    def fetch_window(self, start: date, end: date) -> Batch:
        """Return every lesson from `start` to `end` inclusive, and every name."""
        state, objects = self._fetch_all()
        batch = self._batch(objects, start, end)
        self._loaded = (start, end, state)
        return batch

    def fetch_changes(self, start: date, end: date, since: datetime) -> Changes:
        """Return the lessons and names changed since the lists the engine holds, and the ids
        of deleted lessons; with no lists, everything in the range as a `complete` answer."""
        held = self._acknowledge(start, end, since)
        if held is None:
            log.info("affectit: no sync lists of the copy yet: fetching everything")
            state, objects = self._fetch_all()
            batch = self._batch(objects, start, end)
            self._sent = (since, state)
            return Changes(batch, frozenset(), complete=True)
        school = self._head(SCHOOL_PATH)
        if school is not None and school == held.stamps.get(SCHOOL):
            self._sent = (since, held)
            return Changes(Batch(periods=[], plain=True), frozenset())
        stamps: dict[str, str | None] = {SCHOOL: school}
        lists: dict[str, Mapping[int, str]] = {}
        objects: dict[str, dict[int, Mapping[str, Any]]] = {}
        deleted: frozenset[int] = frozenset()
        for category in CATEGORIES:
            stamp = self._head(f"/{category}")
            old = held.lists.get(category, {})
            if stamp is not None and stamp == held.stamps.get(category):
                stamps[category], lists[category] = stamp, old
                continue
            remote = self._sync_list(category)
            wanted = [i for i, ts in remote.items() if old.get(i) != ts]
            objects[category] = self._objects(category, wanted)
            missing = set(wanted) - objects[category].keys()
            if missing:
                # Deleted between the list and the objects: keep what we knew, so the next
                # cycle looks again and reports the deletion (or fetches it after all).
                remote = {i: ts for i, ts in remote.items() if i not in missing}
                remote |= {i: old[i] for i in missing if i in old}
                stamp = stamps[SCHOOL] = None
            stamps[category], lists[category] = stamp, remote
            if category == LESSONS:
                deleted = frozenset(old.keys() - remote.keys())
        batch = self._batch(objects, None, None)
        self._sent = (since, SyncState(stamps, lists))
        return Changes(batch, deleted)

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def _acknowledge(self, start: date, end: date, since: datetime) -> SyncState | None:
        """Return the lists the engine holds, learning from the calls since the last answer."""
        if self._loaded is not None:
            first, last, state = self._loaded
            self._loaded = None
            if first <= start and end <= last:  # a full load, stored: changes follow only then
                self._held, self._sent = state, None
        if self._sent is not None and self._sent[0] != since:  # the cursor moved: stored
            self._held, self._sent = self._sent[1], None
        return self._held

    def _fetch_all(self) -> tuple[SyncState, dict[str, dict[int, Mapping[str, Any]]]]:
        stamps: dict[str, str | None] = {SCHOOL: self._head(SCHOOL_PATH)}
        lists: dict[str, Mapping[int, str]] = {}
        objects = {SCHOOLS: self._objects(SCHOOLS, self._sync_list(SCHOOLS))}  # for its name
        for category in CATEGORIES:
            stamps[category] = self._head(f"/{category}")  # before the list: never newer
            lists[category] = self._sync_list(category)
            objects[category] = self._objects(category, lists[category])
        return SyncState(stamps, lists), objects

    def _batch(self, objects: Mapping[str, Mapping[int, Mapping[str, Any]]], start: date | None,
               end: date | None) -> Batch:
        """Return a plain batch of the fetched names and lessons (those from `start` to `end`
        when given)."""
        names = {table: {i: name_of(item) for i, item in objects.get(category, {}).items()}
                 for category, table in CATEGORIES.items() if table is not None}
        periods = [parse_lesson(raw, self._tz) for raw in objects.get(LESSONS, {}).values()]
        if start is not None and end is not None:
            periods = [p for p in periods if start <= p.day <= end]
        school = ", ".join(name_of(item) for item in objects.get(SCHOOLS, {}).values())
        return Batch(periods=periods, names={t: n for t, n in names.items() if n}, school=school,
                     plain=True)

    def _sync_list(self, category: str) -> dict[int, str]:
        return parse_sync_list(self._get(f"/{category}", {}), category)

    def _objects(self, category: str, ids: Iterable[int]) -> dict[int, Mapping[str, Any]]:
        wanted = sorted(ids)
        found: dict[int, Mapping[str, Any]] = {}
        for first in range(0, len(wanted), MAX_IDS):
            chunk = ",".join(str(i) for i in wanted[first:first + MAX_IDS])
            found |= parse_objects(self._get(f"/{category}", {IDS_PARAM: chunk}), category)
        return found

    def _head(self, path: str) -> str | None:
        """Return a resource's `Last-Modified` (None when absent: then it counts as changed)."""
        response = self._session.head(self._base + path, headers=self._headers,
                                      allow_redirects=False)
        _raise_for(response, f"HEAD {path}")
        return response.headers.get("Last-Modified") or None

    def _get(self, path: str, params: Mapping[str, str]) -> Any:
        what = f"GET {path}"
        response = self._session.get(self._base + path, params=params, headers=self._headers,
                                     allow_redirects=False)
        _raise_for(response, what)
        return json_of(response, what)


def _raise_for(response: requests.Response, what: str) -> None:
    """Raise the error a non-2xx answer stands for."""
    status = response.status_code
    if status in (401, 403):
        raise SourceAuthError(f"{what}: HTTP {status}, the API key was refused", hint=AUTH_HINT)
    raise_for_status(response, what)
