"""Upstream cost per cycle: what our sync asks of the upstream, against a hobby display's loop.

Run alone: `.venv/bin/python -m bench.run --only bench.upstream_cost` (`--quick`: a tiny run).

Counted at the fake servers (`bench.served`, both serving the same school): requests, request
bodies and response bodies as sent (gzipped when the client asks, and both clients ask).

Ours: the WebUntis v3 delta cycle of the real `UntisSource` + `SyncEngine` (timetable and
deleted-periods since the cursor), quiet and after 10 changes; over ten cycles at the default
120-second poll with the token's renewals (it lives 180 s, renewed 30 s early); and, for
scale, the full load it makes at start and nightly. Also our JSON-RPC source, quiet and after
a change (its upstream has no deltas: a moved import time means the whole window again).

The peers: python-webuntis (`webuntis` from PyPI, unmodified) as hobby displays use it, over
the JSON-RPC fake: every cycle log in, list the classes, fetch each class's timetable, log out.
That is the least such a loop sends (showing teacher, room or subject names adds their lists).
For the same window as ours, and for today only, what a display of the day asks.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import date
from datetime import time as clock_time

import webuntis

from bench.served import TZ, ServedSchool, Traffic
from signage.sources.http import make_session
from signage.sources.jsonrpc import JsonRpcSource
from signage.sources.untis import UntisSource
from signage.store import MemoryStore
from signage.sync.engine import SyncEngine
from signage.sync.schedule import Schedule

SCHEDULE = Schedule(refresh_s=120, idle_refresh_s=900, school_hours=(clock_time(0), clock_time(23)),
                    full_reload_at=clock_time(3))
POLL_S = 120  # the default poll in school hours (SIGNAGE_REFRESH_SECONDS)
STEADY_CYCLES = 10
STEADY = (f"per quiet cycle at the {POLL_S} s poll, token renewals included "
          f"(mean of {STEADY_CYCLES})")


def measure(quick: bool = False) -> dict[str, str]:
    """Return the upstream-cost figures (name -> value with its unit) of one run."""
    runs = 1 if quick else 3
    with ServedSchool(0.1 if quick else 1.0) as served:
        up = served.upstream
        figures = {"school": up.description}
        first, last = served.window()
        ours = _v3(served)
        figures |= {f"v3, ours: {what}": _show(cost) for what, cost in ours.items()}
        peers = {
            f"the window ({(last - first).days + 1} days)":
                _median_cycle(served, lambda: _webuntis_cycle(served, first, last), runs),
            "today only": _median_cycle(served, lambda: _webuntis_cycle(served, first, first),
                                        runs),
        }
        for what, cost in peers.items():
            figures[f"python-webuntis per cycle, {what}"] = _show(cost)
        quiet, changed = ours[STEADY], ours["delta cycle after 10 changes"]
        for what, cost in peers.items():
            figures[f"python-webuntis, {what} / our quiet cycle, token renewals included"] = (
                _ratio(cost, quiet))
            figures[f"python-webuntis, {what} / our cycle after 10 changes"] = _ratio(cost, changed)
        for what, cost in _jsonrpc(served).items():
            figures[f"JSON-RPC, ours: {what}"] = _show(cost)
    return figures


def _v3(served: ServedSchool) -> dict[str, Traffic]:
    """Return what our v3 client's full load and delta cycles cost."""
    up = served.upstream
    clock = [0.0]  # the client's monotonic clock: tokens are renewed by it
    source = UntisSource(up.untis_url, up.tenant, *up.untis_credentials, TZ, make_session(),
                         monotonic=lambda: clock[0])
    engine = SyncEngine(source, MemoryStore(), TZ, up.days_ahead, SCHEDULE)
    try:
        served.traffic()
        full = _one_cycle(served, engine, "full")
        costs = {"full load (at start, and nightly)": full}
        # One cycle each, inside the token's life (the client's clock stands still): the protocol.
        for changes, what in ((0, "quiet delta cycle"), (10, "delta cycle after 10 changes")):
            served.advance(POLL_S / 2)
            assert served.change(changes) == changes  # noqa: S101
            served.advance(POLL_S / 2)
            costs[what] = cost = _one_cycle(served, engine, "delta")
            assert cost.requests == 2, cost  # noqa: S101 - timetable + deleted, token cached
        steady = []
        for _ in range(STEADY_CYCLES):
            clock[0] += POLL_S
            served.advance(POLL_S)
            steady.append(_one_cycle(served, engine, "delta"))
        costs[STEADY] = _mean(steady)
        return costs
    finally:
        source.close()


def _jsonrpc(served: ServedSchool) -> dict[str, Traffic]:
    """Return what our JSON-RPC client's full load and delta cycles cost."""
    up = served.upstream
    source = JsonRpcSource(up.rpc_url, up.rpc_school, *up.rpc_credentials, TZ, make_session())
    engine = SyncEngine(source, MemoryStore(), TZ, up.days_ahead, SCHEDULE)
    try:
        served.traffic()
        _one_cycle(served, engine, "full")
        served.advance(POLL_S)
        quiet = _one_cycle(served, engine, "delta")
        served.advance(POLL_S / 2)
        served.change(1)
        served.advance(POLL_S / 2)
        changed = _one_cycle(served, engine, "delta")
        return {"quiet cycle (the import time stood still)": quiet,
                "cycle after a change (the whole window again)": changed}
    finally:
        source.close()


def _one_cycle(served: ServedSchool, engine: SyncEngine, outcome: str) -> Traffic:
    result = engine.run_cycle(served.now)
    assert result.outcome == outcome, result  # noqa: S101 - a failed cycle is no figure
    return _total(served.traffic())


def _webuntis_cycle(served: ServedSchool, first: date, last: date) -> int:
    """Run one hobby-display cycle with python-webuntis; return the periods it got."""
    up = served.upstream
    user, password = up.rpc_credentials
    periods = 0
    with webuntis.Session(server=up.rpc_url, school=up.rpc_school, username=user,
                          password=password, useragent="hobby-display") as session:
        session.login()
        for klasse in session.klassen():
            periods += len(session.timetable(klasse=klasse, start=first, end=last))
    return periods


def _median_cycle(served: ServedSchool, cycle: Callable[[], int], runs: int) -> Traffic:
    """Run a peer's cycle `runs` times; return the median of its costs."""
    served.traffic()
    costs = []
    for _ in range(runs):
        assert cycle() > 0  # noqa: S101 - a cycle that got nothing is no figure
        costs.append(_total(served.traffic()))
        served.advance(POLL_S)
    return Traffic(*(statistics.median(values) for values in zip(*costs, strict=True)))


def _total(traffic: dict[str, Traffic]) -> Traffic:
    return Traffic(*(sum(values) for values in zip(*traffic.values(), strict=True)))


def _mean(costs: list[Traffic]) -> Traffic:
    return Traffic(*(statistics.mean(values) for values in zip(*costs, strict=True)))


def _show(cost: Traffic) -> str:
    requests = f"{cost.requests:g}" if cost.requests % 1 else f"{cost.requests:.0f}"
    return (f"{requests} requests, {_bytes(cost.request_bytes)} sent, "
            f"{_bytes(cost.response_bytes)} received")


def _ratio(theirs: Traffic, ours: Traffic) -> str:
    received = theirs.response_bytes / ours.response_bytes
    return (f"{theirs.requests / ours.requests:,.1f}× the requests, "
            f"{received:,.{0 if received >= 10 else 1}f}× the bytes received")


def _bytes(size: float) -> str:
    if size < 1000:
        return f"{size:.0f} B"
    return f"{size / 1e3:,.1f} kB" if size < 1e6 else f"{size / 1e6:.2f} MB"
