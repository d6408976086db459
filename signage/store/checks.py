"""The admin's "check the connection": asked in the registry, answered by the sync process.

Views never call an upstream, so the dashboard's button only asks: it writes the request
(`checks/request`, the instant it was asked). The sync process (the leader with Redis, the
in-process scheduler in embedded mode) looks every `POLL_S`, runs the same probe as
`flask --app wsgi signage check` on a store of its own, and writes the report (`checks/report`:
the request it answers, when it finished, its lines, whether the source can feed the boards).
No Flask and no source here: both sides import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signage.store.registry import Registry

COLLECTION = "checks"
POLL_S = 3  # the sync process looks for a request this often
UNANSWERED_S = 150  # a request older than this without its report: no sync process answers


@dataclass(frozen=True)
class CheckReport:
    """One finished check: the request it answers, when it ended, its lines, and the verdict."""

    requested: datetime
    finished: datetime
    lines: tuple[str, ...]
    ok: bool


def ask(registry: Registry, now: datetime) -> None:
    """Ask for a check (a newer request replaces an unanswered one)."""
    registry.put(COLLECTION, "request", {"at": now.isoformat()})


def requested(registry: Registry) -> datetime | None:
    """Return when the latest check was asked for (None: never, or unreadable)."""
    return _instant((registry.items(COLLECTION).get("request") or {}).get("at"))


def report(registry: Registry) -> CheckReport | None:
    """Return the latest report (None: none yet, or unreadable)."""
    doc = registry.items(COLLECTION).get("report") or {}
    asked, finished, lines = _instant(doc.get("requested")), _instant(doc.get("finished")), \
        doc.get("lines")
    if asked is None or finished is None or not isinstance(lines, list):
        return None
    return CheckReport(asked, finished, tuple(str(line) for line in lines), bool(doc.get("ok")))


def pending(registry: Registry) -> datetime | None:
    """Return the instant of a request that has no report yet, else None."""
    asked = requested(registry)
    done = report(registry)
    if asked is None or (done is not None and done.requested == asked):
        return None
    return asked


def answer(registry: Registry, done: CheckReport) -> None:
    """Store the report of a finished check."""
    registry.put(COLLECTION, "report", {
        "requested": done.requested.isoformat(), "finished": done.finished.isoformat(),
        "lines": list(done.lines), "ok": done.ok})


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None
