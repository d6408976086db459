"""The benchmarks' upstreams: a school served by `FakeUntis` and `FakeJsonRpc` in a child process.

The client under test runs alone in the benchmark's process, so its timings and tracemalloc
figures hold no server work, and on two cores the fakes answer beside it as a real upstream
would. Both fakes serve the same school: the v3 one is filled (`BenchSchool` at a scale, or the
demo school), the JSON-RPC one gets a copy in the classic shape (`mirror`), and every change is
made at both. The parent steers the child over a pipe: move the fakes' clock, make changes, read
the requests and bytes the fakes counted.
"""

from __future__ import annotations

import multiprocessing
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from bench.school import BenchSchool, change
from signage.demo.school import CLASSES, DemoSchool
from signage.demo.server import FakeUntis
from tests.fakes.jsonrpc_server import FakeJsonRpc

TZ = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 23, 8, 0, tzinfo=TZ).astimezone(UTC)  # a Monday, in school hours
DEMO_DAYS_AHEAD = 7  # the product's default window
START_TIMEOUT_S = 120.0
CLASSIC_KEYS = {"classes": "kl", "teachers": "te", "subjects": "su", "rooms": "ro"}


class Traffic(NamedTuple):
    """What the fakes counted for one endpoint."""

    requests: int
    request_bytes: int  # request bodies
    response_bytes: int  # response bodies as sent (gzipped when asked)
    answer_s: float  # the fake's own work: building and encoding its answers


@dataclass(frozen=True)
class Upstream:
    """Where the child's fakes listen and what they serve."""

    untis_url: str
    tenant: str
    untis_credentials: tuple[str, str]
    rpc_url: str
    rpc_school: str
    rpc_credentials: tuple[str, str]
    periods: int
    classes: int
    days_ahead: int  # the window: the first day and this many more
    description: str  # "70 classes, 140 teachers, 94 rooms, 14,560 periods over 4 weeks"


class ServedSchool:
    """A school served in a child process; `scale=None` serves the demo school."""

    def __init__(self, scale: float | None) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, scale), daemon=True,
                                        name="bench-upstream")
        self._process.start()
        child.close()
        try:
            if not self._conn.poll(START_TIMEOUT_S):
                raise EOFError
            self.upstream: Upstream = self._conn.recv()
        except EOFError:
            self.close()
            # A spawned child imports the main module again: a script needs the usual guard.
            raise RuntimeError("the benchmark's upstream did not start (a script that starts "
                               "it needs `if __name__ == \"__main__\":`)") from None
        self.now = START

    def __enter__(self) -> ServedSchool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def window(self) -> tuple[date, date]:
        """Return the first and last day of the window the client syncs at `now`."""
        today = self.now.astimezone(TZ).date()
        return today, today + timedelta(days=self.upstream.days_ahead)

    def advance(self, seconds: float) -> datetime:
        """Move the fakes' clock (and `now`) on; return the new `now`."""
        self.now += timedelta(seconds=seconds)
        self._call("advance", seconds)
        return self.now

    def change(self, n: int) -> int:
        """Make `n` changes at both fakes; return how many were made."""
        return self._call("change", n)

    def traffic(self) -> dict[str, Traffic]:
        """Return what the fakes counted per endpoint (`v3 timetable`, `jsonrpc getTimetable`)
        since the last call."""
        return self._call("traffic", None)

    def close(self) -> None:
        """Stop the child."""
        if self._process.is_alive():
            try:
                self._conn.send(("stop", None))
            except OSError:
                pass
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
        self._conn.close()

    def _call(self, command: str, argument: Any) -> Any:
        self._conn.send((command, argument))
        return self._conn.recv()


def _serve(conn: Any, scale: float | None) -> None:
    """The child: fill the fakes, serve them, and obey the parent until told to stop."""
    clock = [START]
    untis = FakeUntis(TZ, clock=lambda: clock[0])
    if scale is None:
        demo = DemoSchool(untis)
        untis.day_loader = None  # every day of the window now, not at the first request
        today = START.astimezone(TZ).date()
        for offset in range(DEMO_DAYS_AHEAD + 1):
            demo.load_day(today + timedelta(days=offset))
        classes, days_ahead, span = len(CLASSES), DEMO_DAYS_AHEAD, f"{DEMO_DAYS_AHEAD + 1} days"
    else:
        school = BenchSchool(scale)
        school.fill_untis(untis)
        classes, days_ahead = len(school.classes), 7 * school.weeks - 1
        span = f"{school.weeks} weeks"
    counts = ", ".join(f"{len(untis.master[c])} {c}" for c in ("classes", "teachers", "rooms"))
    description = f"{counts}, {len(untis.periods):,} periods over {span}"
    rpc = FakeJsonRpc(TZ, school=untis.school, clock=lambda: clock[0])
    mirror(untis, rpc)
    untis.start()
    rpc.start()
    rng = random.Random(3)  # noqa: S311 - which lessons change, not cryptography
    conn.send(Upstream(untis.url, untis.tenant, untis.credentials, rpc.url, rpc.school,
                       rpc.credentials, len(untis.periods), classes, days_ahead, description))
    try:
        while True:
            command, argument = conn.recv()
            if command == "stop":
                return
            if command == "advance":
                clock[0] += timedelta(seconds=argument)
                conn.send(None)
            elif command == "change":
                conn.send(change(untis, rng, argument,
                                 on_change=lambda p: rpc.put_period(to_classic(p))))
            elif command == "traffic":
                conn.send(_take_traffic(untis, rpc))
    finally:
        untis.stop()
        rpc.stop()


def _take_traffic(untis: FakeUntis, rpc: FakeJsonRpc) -> dict[str, Traffic]:
    totals: defaultdict[str, list] = defaultdict(lambda: [0, 0, 0, 0.0])
    with untis.lock, rpc.lock:
        records = [(f"v3 {r.endpoint}", r) for r in untis.requests]
        records += [(f"jsonrpc {c.method}", c) for c in rpc.calls]
        untis.requests.clear()
        rpc.calls.clear()
    for endpoint, record in records:
        total = totals[endpoint]
        total[0] += 1
        total[1] += record.request_bytes
        total[2] += record.response_bytes
        total[3] += record.answer_s
    return {endpoint: Traffic(*total) for endpoint, total in totals.items()}


def mirror(untis: FakeUntis, rpc: FakeJsonRpc) -> int:
    """Copy a v3 fake's names and periods into a JSON-RPC fake; return the periods copied."""
    with untis.lock:
        for category in CLASSIC_KEYS:
            rpc.add_names(category, {i: e["displayName"]
                                     for i, e in untis.master.get(category, {}).items()})
        for period in untis.periods.values():
            rpc.put_period(to_classic(period))
        return len(untis.periods)


def to_classic(period: dict[str, Any]) -> dict[str, Any]:
    """Return a v3 period in the classic JSON-RPC shape (see `signage.sources.jsonrpc_parse`)."""
    start, end = period["start"], period["end"]
    out: dict[str, Any] = {
        "id": period["id"], "date": int(start[:10].replace("-", "")),
        "startTime": int(start[11:16].replace(":", "")),
        "endTime": int(end[11:16].replace(":", "")),
    }
    replaced = False
    for category, key in CLASSIC_KEYS.items():
        refs = period.get(category) or []
        removed = [r["id"] for r in refs if r["status"] == "REMOVED"]
        added = [r["id"] for r in refs if r["status"] == "ADDED"]
        entries = [{"id": r["id"]} for r in refs if r["status"] == "REGULAR"]
        for i, orgid in enumerate(removed):  # a replacement: the new one with the planned one
            entries.append({"id": added[i] if i < len(added) else 0, "orgid": orgid})
            replaced = True
        entries += [{"id": i} for i in added[len(removed):]]
        out[key] = entries
    if period.get("lessonId"):
        out["lsnumber"] = period["lessonId"]
    if period["type"] == "EXAM":
        out["lstype"] = "ex"
    status = period["status"]
    if status == "CANCELLED":
        out["code"] = "cancelled"
    elif status == "ADDITIONAL" or (status == "CHANGED" and replaced):
        out["code"] = "irregular"
    if period.get("substitutionText"):
        out["substText"] = period["substitutionText"]
    return out
