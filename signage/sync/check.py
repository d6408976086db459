"""`signage check`: probe the configured source as a sync would, and report to a person.

`run_check` runs the real sync engine twice on a sync process whose store is its own (the caller
builds it on a fresh `MemoryStore`: the real store is never touched): a full load of the window,
then a delta with the cursor the engine derives (the upstream's clock minus two minutes). It
prints one line each on the credentials, the window and its periods, the classes, rooms and
teachers, the time grid, the delta calls, the upstream's clock against ours and what the boards
show now; then warnings (a likely missing permission, a weekday without periods) and problems,
one line each naming what to fix. It returns the problems: none means the source can feed the
boards.

An unreachable upstream costs at most one read timeout per request: the session's retries stay
for 429/5xx and refused connections, but a request that got no answer is not sent again. Log
lines stay off the terminal while the check runs (the report says what happened; an adapter's
warning becomes a report warning, its message alone), so no traceback reaches it. No Flask here.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from urllib3.util.retry import Retry

from signage.config import ENV_PREFIX, SECRET_KEYS, Settings
from signage.domain.calendar import display_day
from signage.domain.model import Snapshot
from signage.domain.privacy import teacher_names
from signage.domain.rows import change_rows
from signage.sources.base import (
    SourceAuthError,
    SourceBusy,
    SourceError,
    SourceSetupError,
    SourceUnavailable,
)
from signage.sync.check_sample import SampleWriter
from signage.sync.engine import CycleResult

if TYPE_CHECKING:
    from signage.sources.base import Batch, Changes
    from signage.sync.scheduler import SyncProcess

CLOCK_SKEW_WARN_S = 120
BOARD_CATEGORIES = ("classes", "rooms", "teachers")
# The settings that say where a source's data lives, when more than its URL.
ADDRESS_SETTINGS = {"untis": ("UNTIS_URL", "UNTIS_TENANT"),
                    "jsonrpc": ("JSONRPC_URL", "JSONRPC_SCHOOL"),
                    "monitor": ("MONITOR_URL", "MONITOR_SCHOOL", "MONITOR_FORMAT")}
OPEN_SOURCES = frozenset({"demo", "monitor"})  # no credentials to report on


@dataclass
class _Probe:
    """Stands in for the engine's source: passes every call on and keeps what came back."""

    source: Any
    clock: Callable[[], datetime]
    window: Batch | None = None
    window_at: datetime | None = None  # our clock when the window's answer was in
    changes: Changes | None = None
    since: datetime | None = None
    error: Exception | None = None

    def fetch_window(self, start: date, end: date) -> Batch:
        """Fetch the window, keeping the answer (or the error)."""
        self.window = self._keep(self.source.fetch_window, start, end)
        self.window_at = self.clock()
        return self.window

    def fetch_changes(self, start: date, end: date, since: datetime) -> Changes:
        """Fetch the changes since `since`, keeping the answer (or the error)."""
        self.since = since
        self.changes = self._keep(self.source.fetch_changes, start, end, since)
        return self.changes

    def _keep(self, call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args)
        except Exception as exc:  # kept for the report, raised on for the engine to handle
            self.error = exc
            raise

    def __getattr__(self, name: str) -> Any:
        if name == "source":  # not set yet (a copy): no recursion
            raise AttributeError(name)
        return getattr(self.source, name)  # `name`, `close`, an optional `last_day`


@dataclass
class _Dates:
    """A response hook keeping the last HTTP `Date` (the upstream's clock, when its answers
    tell no other) with our clock at that moment."""

    clock: Callable[[], datetime]
    dated: tuple[datetime, datetime] | None = None

    def record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Note one answer's date."""
        try:
            upstream = parsedate_to_datetime(response.headers.get("Date", ""))
        except (TypeError, ValueError):
            return
        if upstream.tzinfo is not None:
            self.dated = (upstream, self.clock())


@dataclass
class _Report:
    out: Callable[[str], None]
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def finish(self) -> list[str]:
        """Print the warnings, the problems (or that all is well); return the problems."""
        for warning in dict.fromkeys(self.warnings):
            self.out(f"warning: {warning}")
        for problem in self.problems:
            self.out(f"problem: {problem}")
        if not self.problems:
            self.out("ok: the source can feed the boards")
        return self.problems


def run_check(process: SyncProcess, settings: Settings, clock: Callable[[], datetime],
              out: Callable[[str], None], sample_dir: Path | None = None) -> list[str]:
    """Probe the source of `process` (its engine on a store of its own), print the report with
    `out`, and return one line per problem (empty: the source can feed the boards)."""
    report = _Report(out)
    out(f"signage check: {_describe(settings)}")
    hidden = [str(v) for k, v in settings.upstream.items() if k in SECRET_KEYS and v]
    try:
        sample = None if sample_dir is None else SampleWriter(sample_dir, hidden)
    except OSError as exc:
        report.problems.append(f"cannot write the sample to {sample_dir}: {exc.strerror}")
        return report.finish()
    engine = process.engine
    probe = engine.source = _Probe(engine.source, clock)
    dates = _Dates(clock)
    if process.session is not None:
        _no_second_wait(process.session)
        process.session.hooks["response"].append(dates.record)
        if sample is not None:
            process.session.hooks["response"].append(sample.record)
    with _adapter_warnings(report.warnings):
        now = clock()
        full = engine.run_cycle(now, force=True)
        snapshot = engine.store.snapshot() if full.outcome == "full" else None
        refused = isinstance(probe.error, SourceAuthError)
        if settings.source in OPEN_SOURCES:
            out("credentials: none needed (a public source)")
        else:
            out("credentials: " + ("accepted" if snapshot is not None else "refused" if refused
                                   else "not confirmed (see the problem below)"))
        changes_only = getattr(probe.source, "changes_only", False)
        if snapshot is not None:
            _describe_window(report, snapshot, changes_only)
            for line in getattr(probe.source, "describe", list)():  # the source's own facts
                out(line)
            _describe_changes(report, engine.run_cycle(now, force=True), probe, settings)
            _describe_clock(report, probe, dates)
            _describe_board(report, snapshot, settings, clock(), changes_only)
        else:
            report.problems.append(_problem(probe.error, full, settings))
    if sample is not None:
        try:
            written = sample.write(_teachers(engine.store.snapshot(), probe.source))
            out(f"sample: {written} answers saved to {sample_dir} (people pseudonymised)")
        except OSError as exc:
            report.problems.append(f"cannot write the sample to {sample_dir}: {exc.strerror}")
    return report.finish()


def _teachers(snapshot: Snapshot | None, source: object) -> list[str]:
    """Return every teacher the copy names, and those the source met outside its rows (the
    sample hides them wherever they stand: the WebUntis monitor's cells and groups are text,
    with no key saying "a person")."""
    met = sorted(getattr(source, "people", ()))
    return [*teacher_names(snapshot), *met] if snapshot is not None else met


def _describe_window(report: _Report, snapshot: Snapshot, changes_only: bool = False) -> None:
    periods = list(snapshot.periods.values())
    report.out(f"window: {snapshot.window_start} to {snapshot.window_end}: "
               f"{_count(len(periods), 'periods')}")
    referenced = {c: {r.id for p in periods for r in p.ref_list(c)} for c in BOARD_CATEGORIES}
    report.out("names: " + ", ".join(_count(len(referenced[c]), c) for c in BOARD_CATEGORIES))
    units = {p.unit for p in periods if p.unit is not None}
    report.out(f"time grid: from the upstream ({len(units)} units)" if units else
               "time grid: none sent; lesson numbers are counted from start times")
    if changes_only:  # no changes (and so no teachers) is an ordinary day for such a source
        if not periods:
            report.out("changes: none listed in the window (the source lists changes only)")
    elif not periods:
        report.warnings.append(
            "no periods in the whole window: holidays? If not, the account may lack the "
            "permission to read the timetable (or the settings select nothing)")
    elif not referenced["teachers"]:
        report.warnings.append(
            "no teachers in the answers: the account likely lacks the permission to read "
            "teachers (no teacher boards, no substitutes' names)")
    for category in BOARD_CATEGORIES:
        unnamed = referenced[category] - set(snapshot.names.get(category, {}))
        if unnamed:
            report.warnings.append(
                f"{len(unnamed)} {category} have no name in the answers (boards show #id): the "
                f"account may lack the permission to read {category}")


def _describe_changes(report: _Report, result: CycleResult, probe: _Probe,
                      settings: Settings) -> None:
    changes = probe.changes
    if result.outcome != "delta" or changes is None:
        report.problems.append("the delta calls: " + _problem(probe.error, result, settings))
    elif getattr(probe.source, "changes_only", False) and not changes.complete:
        report.out("changes: nothing changed upstream since the first read: a quiet cycle "
                   "works (it reads one day's change stamp)")
    elif changes.complete:
        report.out("changes: this upstream has no delta calls; each cycle reads the window "
                   f"again ({_count(len(changes.batch.periods), 'periods')}): works")
    else:
        since = f"{probe.since:%H:%M} UTC" if probe.since is not None else "the cursor"
        changed = _count(len(changes.batch.periods), "changed periods")
        report.out(f"changes since {since}: {changed}, {len(changes.deleted)} deleted: "
                   "the delta calls work")


def _describe_clock(report: _Report, probe: _Probe, dates: _Dates) -> None:
    if probe.window is not None and probe.window.server_time and probe.window_at is not None:
        theirs, ours, told = probe.window.server_time, probe.window_at, "its answers"
    elif dates.dated is not None:
        (theirs, ours), told = dates.dated, "its HTTP Date header"
    else:
        report.out("upstream clock: not sent (the sync's cursor follows ours)")
        return
    skew = (theirs - ours).total_seconds()
    apart = f"{_duration(abs(skew))} {'ahead of' if skew > 0 else 'behind'} ours"
    report.out(f"upstream clock: {'agrees with ours' if abs(skew) < 1 else apart} "
               f"(from {told})")
    if abs(skew) > CLOCK_SKEW_WARN_S:
        report.warnings.append(
            f"the upstream's clock is {apart}: check this host's time (NTP); the boards' "
            "'as of' times and the switch to the next day follow ours")


def _describe_board(report: _Report, snapshot: Snapshot, settings: Settings,
                    now: datetime, changes_only: bool = False) -> None:
    local = now.astimezone(settings.tz).replace(tzinfo=None)  # naive, as periods' times are
    day = display_day(snapshot, local, settings.switch_day_at)
    rows = change_rows(snapshot, day)
    kinds = Counter(kind for row in rows for kind in row.kinds)
    detail = f" ({', '.join(f'{n} {kind}' for kind, n in kinds.most_common())})" if kinds else ""
    report.out(f"boards now show {day:%a %Y-%m-%d}: {_count(len(rows), 'changes')}{detail}")
    today = local.date()
    if (not changes_only and today.weekday() < 5 and snapshot.covers(today)
            and today not in snapshot.last_end_by_day):
        report.warnings.append(
            f"no periods today ({today:%a %Y-%m-%d}), a weekday: a holiday? If not, the account "
            "may not see the whole timetable")


def _problem(error: Exception | None, result: CycleResult, settings: Settings) -> str:
    """Return one line: what went wrong, and what to fix."""
    name = settings.source.upper()
    address = ADDRESS_SETTINGS.get(settings.source, (f"{name}_URL",))
    where = " and ".join(f"{ENV_PREFIX}_{key}" for key in address)
    if settings.source == "demo":
        where = "this host (the demo school serves on loopback)"
    if isinstance(error, SourceAuthError):
        fix = error.hint or f"check the {ENV_PREFIX}_{name}_* credentials"
        return f"the upstream refused the credentials ({error}): {fix}"
    if isinstance(error, SourceSetupError):  # its message names what to change
        return str(error)
    if isinstance(error, SourceBusy):
        return f"the upstream is publishing a new timetable ({error}): check again in a few minutes"
    if isinstance(error, SourceUnavailable):
        return (f"no answer from the upstream ({error}): check {where}, this host's network "
                "(DNS, proxy, firewall) and whether the upstream is up")
    if not isinstance(error, SourceError):
        return f"the sync cycle failed: {result.error}"
    text = str(error)
    if "HTTP 403" in text:
        return (f"the upstream refused a call ({text}): the account lacks a permission for it; "
                "ask the upstream's administrator to grant read access")
    if any(marker in text for marker in ("HTTP 404", "redirect", "error -8500")):
        return f"the upstream does not know this address ({text}): check {where}"
    return (f"the upstream's answer cannot be used ({text}): `check --save-sample DIR` saves "
            "the answers (people pseudonymised) for a bug report")


def _describe(settings: Settings) -> str:
    if settings.source == "demo":
        return "source demo (the built-in demo school)"
    return f"source {settings.source} at {settings.upstream.get(f'{settings.source.upper()}_URL')}"


def _no_second_wait(session: requests.Session) -> None:
    """Send no request again that got no answer: with the sync's read retries an upstream that
    never answers would keep the check waiting four read timeouts per request."""
    for adapter in session.adapters.values():
        retry = getattr(adapter, "max_retries", None)
        if isinstance(retry, Retry):
            adapter.max_retries = retry.new(read=0)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.0f} h"


def _count(n: int, plural: str) -> str:
    singular = plural.removesuffix("es") if plural == "classes" else plural.removesuffix("s")
    return f"{n} {singular if n == 1 else plural}"


class _Notes(logging.Handler):
    def __init__(self, notes: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.notes = notes

    def emit(self, record: logging.LogRecord) -> None:
        """Keep an adapter's warning, its message alone; drop everything else."""
        if record.name.startswith("signage.sources"):
            self.notes.append(record.getMessage())


@contextmanager
def _adapter_warnings(notes: list[str]) -> Iterator[None]:
    """Add the adapters' warnings to `notes`; keep all other log lines off the terminal."""
    handler = _Notes(notes)
    loggers = [logging.getLogger(name) for name in ("signage", "urllib3")]
    propagates = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, propagate in zip(loggers, propagates, strict=True):
            logger.removeHandler(handler)
            logger.propagate = propagate
