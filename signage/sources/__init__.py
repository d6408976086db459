"""Upstream adapters behind one contract (`base.Source`), listed in one registry.

Adding a source: one module with a class that has `from_settings(settings, tz, session)` and a
`REQUIRED_SETTINGS` tuple, plus one line in `REGISTRY`.
"""

from __future__ import annotations

from signage.sources import affectit, jsonrpc, untis
from signage.sources.base import Batch, Changes, Source, SourceError, SourceUnavailable

REGISTRY = {
    "untis": untis.UntisSource,
    "affectit": affectit.AffectItSource,
    "jsonrpc": jsonrpc.JsonRpcSource,
}
REQUIRED_SETTINGS = {name: source.REQUIRED_SETTINGS for name, source in REGISTRY.items()}

__all__ = [
    "REGISTRY",
    "REQUIRED_SETTINGS",
    "Batch",
    "Changes",
    "Source",
    "SourceError",
    "SourceUnavailable",
]
