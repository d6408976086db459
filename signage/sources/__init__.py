"""Upstream adapters behind one contract (`base.Source`), listed in one registry.

Adding a source: one module with a class that has `from_settings(settings, tz, session)` and a
`REQUIRED_SETTINGS` tuple, plus one line in `REGISTRY`. A source's settings all start with its
name in capitals (`UNITIME_URL`, `UNITIME_ROOMS`); the optional ones it checks itself with a
`check_settings(settings) -> [problem lines]` listed in `CHECKS`. Sources in `IDLE_PACED` poll
at the idle interval unless a faster one is configured (their vendors ask for it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from signage.sources import affectit, jsonrpc, mytimetable, unitime, untis
from signage.sources.base import Batch, Changes, Source, SourceError, SourceUnavailable

REGISTRY = {
    "untis": untis.UntisSource,
    "affectit": affectit.AffectItSource,
    "jsonrpc": jsonrpc.JsonRpcSource,
    "unitime": unitime.UnitimeSource,
    "mytimetable": mytimetable.MyTimetableSource,
}
REQUIRED_SETTINGS = {name: source.REQUIRED_SETTINGS for name, source in REGISTRY.items()}
CHECKS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "unitime": unitime.check_settings,
    "mytimetable": mytimetable.check_settings,
}
IDLE_PACED = frozenset({"mytimetable"})

__all__ = [
    "CHECKS",
    "IDLE_PACED",
    "REGISTRY",
    "REQUIRED_SETTINGS",
    "Batch",
    "Changes",
    "Source",
    "SourceError",
    "SourceUnavailable",
]
