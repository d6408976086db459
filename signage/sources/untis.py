"""WebUntis platform REST API v3 (`SIGNAGE_SOURCE=untis`).

Auth: OAuth2 client credentials. `POST {URL}/WebUntis/api/sso/v3/{tenant}/token` with
`grant_type=client_credentials` and HTTP Basic (client id, secret) answers `access_token` and
`expires_in` (about 180 s). The token is cached and renewed `TOKEN_MARGIN_S` before it expires;
a 401 from an API call renews it once and retries. A 401 or 403 from the token endpoint is a
`SourceAuthError` (the sync engine pauses after a few in a row). Redirects are never followed
(every call carries a credential): a 3xx is a `SourceError`.

Endpoints (Bearer auth):
- `GET {URL}/WebUntis/api/rest/extern/v3/timetable?start=…&end=…[&dateLastModifiedAfter=…]`
- `GET {URL}/WebUntis/api/rest/extern/v3/timetable/deleted-periods?dateLastModifiedAfter=…`

Confirmed (typed in the published OpenAPI description or said on the developer pages):
- `start`/`end` are date-times; we send school-local ones without an offset covering whole
  days, `YYYY-MM-DDT00:00:00` of the first day to `YYYY-MM-DDT23:59:59` of the last.
- `dateLastModifiedAfter` is UTC (`yyyy-MM-ddTHH:mm:ss`); every other time is school-local
  without an offset (one that carries an offset anyway is converted).
- Errors are `{errorCode, errorMessage, requestId, traceId[, validationErrors]}`.
  `TT_ONGOING_TIMETABLE_PUBLICATION` means a publication is running: whatever the HTTP status,
  it is `SourceBusy` ("timetable publication in progress"), retried at the next poll
  (or after its `Retry-After`), the last good snapshot kept.
- `limit`/`offset` page "starting with the earliest period". A period may carry `unitOfDay`
  and `timegridId`, the answer `timeGrids`; reference lists, master data categories, `exam`
  and `timeGrids` are optional (missing or null is empty).
- Enumerations: period `type` and `status`, reference `status`. A value outside them (a newer
  upstream) keeps the period, shown as `changed`, logged once per value (`untis_parse`).

Assumed (the references leave these open; each variant is accepted and tested):
- The deleted-periods body: a bare array of ids, or an object wrapping one (`deletedPeriods`,
  `periods`, `ids`, or its only list); elements are ids or `{id}` objects. It takes no range.
- `end` is inclusive, and a period belongs to the range when it overlaps it.
- Paging: we ask for no page size. When an answer holds exactly `headerData.filter.limit`
  (non-zero) periods the server imposed one: we ask again with `offset` = periods received
  until a page holds fewer, and combine the pages into one batch. A page that repeats only
  known periods (offset ignored) is a `SourceError`. A period changed while we page is asked
  for again by the next delta (the cursor is the first page's clock); one deleted before our
  offset shifts the later pages, so an unchanged period may be missed until the next full
  reload.
- The unit a board shows ("3-4"): a period's `unitOfDay`, else the first slot of its time grid
  it overlaps; with neither, the boards count the day's start times (`signage.domain.rows`).
- `headerData.created` is the upstream's clock when it built the answer (our next cursor).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from signage.sources.base import (
    Batch,
    Changes,
    SourceAuthError,
    SourceBusy,
    SourceError,
)
from signage.sources.http import json_of, raise_for_status, retry_after_s
from signage.sources.untis_parse import (
    combine_pages,
    page_limit,
    parse_deleted,
    parse_timetable,
)

API_PATH = "/WebUntis/api/rest/extern/v3"
TOKEN_PATH = "/WebUntis/api/sso/v3/{tenant}/token"  # noqa: S105 - a path, not a secret
TOKEN_MARGIN_S = 30.0
DELTA_MARGIN_DAYS = 35  # deltas ask this far around the window (moves out of it; see below)
MAX_PAGES = 1000  # a paging upstream that never ends its pages is broken, not big
PUBLICATION_IN_PROGRESS = "TT_ONGOING_TIMETABLE_PUBLICATION"


class UntisSource:
    """Reads periods and deletions from one WebUntis v3 tenant."""

    name = "untis"

    def __init__(
        self,
        base_url: str,
        tenant: str,
        client_id: str,
        client_secret: str,
        tz: ZoneInfo,
        session: requests.Session,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._tenant = tenant
        self._credentials = (client_id, client_secret)
        self._tz = tz
        self._session = session
        self._monotonic = monotonic
        self._token: str | None = None
        self._token_expires = 0.0

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], tz: ZoneInfo, session: requests.Session
    ) -> UntisSource:
        """Build the source from the `UNTIS_*` settings."""
        return cls(
            settings["UNTIS_URL"],
            settings["UNTIS_TENANT"],
            settings["UNTIS_CLIENT_ID"],
            settings["UNTIS_CLIENT_SECRET"],
            tz,
            session,
        )

    def fetch_window(self, start: date, end: date) -> Batch:
        """Return every period from `start` to `end` inclusive."""
        with _collector_paused():
            return self._fetch_timetable(_date_times(start, end))

    def fetch_changes(self, start: date, end: date, since: datetime) -> Changes:
        """Return the periods modified after `since` (UTC) and the ids deleted since then."""
        cursor = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        # The upstream filters by a period's date now: one moved out of the window (or, across
        # midnight, to the day just dropped) is only seen with a wider range.
        margin = timedelta(days=DELTA_MARGIN_DAYS)
        params = {**_date_times(start - margin, end + margin), "dateLastModifiedAfter": cursor}
        batch = self._fetch_timetable(params)
        deleted = parse_deleted(
            self._get("/timetable/deleted-periods", {"dateLastModifiedAfter": cursor})
        )
        return Changes(batch=batch, deleted=deleted)

    def _fetch_timetable(self, params: Mapping[str, str]) -> Batch:
        """Return the periods of one timetable query, paging when the upstream imposes a page
        size: an answer of exactly `headerData.filter.limit` periods is followed by the next
        page (`offset` = periods received) until one holds fewer."""
        payload = self._get("/timetable", params)
        batch = parse_timetable(payload, self._tz)
        limit = page_limit(payload)
        if not limit or len(batch.periods) != limit:
            return batch
        pages, seen = [batch], {p.id for p in batch.periods}
        while len(pages[-1].periods) >= limit:
            if len(pages) >= MAX_PAGES:
                raise SourceError(f"GET /timetable: still paging after {MAX_PAGES} pages")
            received = sum(len(page.periods) for page in pages)
            page = parse_timetable(self._get("/timetable", {
                **params, "limit": str(limit), "offset": str(received)}), self._tz)
            if page.periods and seen.issuperset(p.id for p in page.periods):
                raise SourceError(f"GET /timetable: the page at offset {received} repeats "
                                  "periods already received (offset ignored?)")
            seen.update(p.id for p in page.periods)
            pages.append(page)
        return combine_pages(pages)

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def _get(self, path: str, params: Mapping[str, str]) -> Any:
        url = self._base + API_PATH + path
        response = self._session.get(url, params=params, headers=self._auth(),
                                     allow_redirects=False)
        if response.status_code == 401:
            self._token = None  # expired or revoked early: renew once
            response = self._session.get(url, params=params, headers=self._auth(),
                                         allow_redirects=False)
        return _json_or_error(response, f"GET {path}")

    def _auth(self) -> dict[str, str]:
        if self._token is None or self._monotonic() >= self._token_expires:
            self._token, lifetime = self._request_token()
            self._token_expires = self._monotonic() + max(lifetime - TOKEN_MARGIN_S, lifetime / 2)
        return {"Authorization": f"Bearer {self._token}"}

    def _request_token(self) -> tuple[str, float]:
        url = self._base + TOKEN_PATH.format(tenant=self._tenant)
        response = self._session.post(
            url, data={"grant_type": "client_credentials"}, auth=self._credentials,
            allow_redirects=False,
        )
        if response.status_code in (401, 403):
            raise SourceAuthError(
                f"POST token: HTTP {response.status_code}{_upstream_detail(response)}",
                hint="check SIGNAGE_UNTIS_CLIENT_ID and SIGNAGE_UNTIS_CLIENT_SECRET",
            )
        payload = _json_or_error(response, "POST token")
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceError("token endpoint answered without an access_token")
        lifetime = payload.get("expires_in", 180)
        if not isinstance(lifetime, int | float) or lifetime <= 0:
            raise SourceError(f"token endpoint answered expires_in={lifetime!r}")
        return token, float(lifetime)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold Python's cyclic garbage collector while a large answer is decoded and parsed.

    A full load makes hundreds of thousands of objects (JSON, then periods); each of them
    counts towards the next collection, and each full collection walks every object the process
    holds, the growing answer included. On the benchmark's large school (14,560 periods, 6 MB
    of JSON) pausing it takes a third off the full load's CPU time (`bench.sync_cost`). The
    objects made here form no cycles, so nothing is missed; the collector runs again at the end
    (unless someone else had paused it).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _date_times(start: date, end: date) -> dict[str, str]:
    """Return `start`/`end` as the v3 date-times that cover both days whole (school-local,
    without an offset: v3 reads every time but the cursor as school-local)."""
    return {"start": f"{start.isoformat()}T00:00:00", "end": f"{end.isoformat()}T23:59:59"}


def _json_or_error(response: requests.Response, what: str) -> Any:
    """Return the decoded JSON of a 2xx answer; raise the error the answer stands for.

    A publication in progress (`TT_ONGOING_TIMETABLE_PUBLICATION`, whatever the HTTP status)
    is the upstream busy, not a refusal: `SourceBusy`, asked again later, not a failure.
    """
    if response.status_code >= 400 and _error_code(response) == PUBLICATION_IN_PROGRESS:
        raise SourceBusy(
            f"{what}: timetable publication in progress (HTTP {response.status_code}); "
            "retrying later", retry_after_s(response))
    raise_for_status(response, what, _upstream_detail)
    return json_of(response, what)


def _error_code(response: requests.Response) -> str | None:
    """Return the `errorCode` of a v3 error body, None when there is none."""
    try:
        body = response.json()
    except (ValueError, requests.RequestException):
        return None
    code = body.get("errorCode") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def _upstream_detail(response: requests.Response) -> str:
    """Return ': CODE message' from a v3 error body (or an OAuth error), else ''."""
    try:
        body = response.json()
    except (ValueError, requests.RequestException):
        return ""
    if not isinstance(body, dict):
        return ""
    code = body.get("errorCode") or body.get("error")
    message = body.get("errorMessage") or body.get("error_description")
    detail = " ".join(str(part)[:200] for part in (code, message) if part)
    return f": {detail}" if detail else ""
