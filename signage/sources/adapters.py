"""Every source's adapter by its `SIGNAGE_SOURCE` name."""

from __future__ import annotations

from signage.sources import affectit, jsonrpc, monitor, mytimetable, unitime, untis

ADAPTERS = {
    "untis": untis.UntisSource,
    "affectit": affectit.AffectItSource,
    "jsonrpc": jsonrpc.JsonRpcSource,
    "unitime": unitime.UnitimeSource,
    "mytimetable": mytimetable.MyTimetableSource,
    "monitor": monitor.MonitorSource,
}
