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


def state(registry: Registry) -> tuple[datetime | None, CheckReport | None]:
    """Return when the latest check was asked for and the latest report (None: none yet, or
    unreadable), from one read of the collection."""
    docs = registry.items(COLLECTION)
    asked = _instant((docs.get("request") or {}).get("at"))
    doc = docs.get("report") or {}
    done_at, finished, lines = _instant(doc.get("requested")), _instant(doc.get("finished")), \
        doc.get("lines")
    if done_at is None or finished is None or not isinstance(lines, list):
        return asked, None
    return asked, CheckReport(done_at, finished, tuple(str(line) for line in lines),
                              bool(doc.get("ok")))


def unanswered(asked: datetime | None, done: CheckReport | None) -> bool:
    """Tell whether a check was asked for that has no report yet."""
    return asked is not None and (done is None or done.requested != asked)


def pending(registry: Registry) -> datetime | None:
    """Return the instant of a request that has no report yet, else None."""
    asked, done = state(registry)
    return asked if unanswered(asked, done) else None


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
