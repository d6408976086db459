"""Every source by its `SIGNAGE_SOURCE` name."""

from __future__ import annotations

from signage.sources import affectit, jsonrpc, mytimetable, unitime, untis

REGISTRY = {
    "untis": untis.UntisSource,
    "affectit": affectit.AffectItSource,
    "jsonrpc": jsonrpc.JsonRpcSource,
    "unitime": unitime.UnitimeSource,
    "mytimetable": mytimetable.MyTimetableSource,
}
