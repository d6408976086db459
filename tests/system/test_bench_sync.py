"""Smoke tests of the sync-cost and upstream-cost benchmarks (`make bench`): on a tiny school
they run, count what the protocols imply and judge every target (figures are for the notes)."""

import re

import pytest

from bench import sync_cost, upstream_cost

pytestmark = [pytest.mark.system, pytest.mark.slow]


def value(figures: dict[str, str], start: str) -> str:
    (name,) = [name for name in figures if name.startswith(start)]
    return figures[name]


def seconds(text: str) -> float:
    number, unit = re.match(r"([\d.]+) (ms|s) ", text).groups()
    return float(number) / (1000 if unit == "ms" else 1)


def test_sync_cost_runs_on_a_tiny_school_and_judges_every_target():
    figures = sync_cost.measure(quick=True)
    assert re.match(r"4 classes, \d+ teachers, \d+ rooms, [\d,]+ periods over 4 weeks",
                    figures["school at 0.05×"])
    for start in ("full load (", "bare download + json.loads, the limit", "delta, no change (",
                  "delta, 10 changes (", "delta, 1,000 changes (", "full load at 0.2×",
                  "delta, no change at 0.2×", "demo: full load ("):
        assert seconds(value(figures, start)) > 0, start
    assert re.search(r"collector paused too: [\d.]+× \(target ≤ 3×: (met|missed)\)",
                     value(figures, "full load / bare download + json.loads, client CPU"))
    assert re.search(r"% \(target ≤ 1%: (met|missed)\)",
                     value(figures, "delta, no change / full load, client CPU"))
    assert "no target" in value(figures, "delta, 100 changes / full load, client CPU")
    for scale in ("0.1×", "0.2×"):
        assert re.search(r"target flat, ≤ 1.5×: (met|missed)",
                         value(figures, f"delta, no change at {scale}"))
    assert float(value(figures, "full load peak memory").split()[0]) > 0
    assert "851 periods over 8 days" in figures["demo school"]


def test_upstream_cost_counts_what_each_protocol_implies():
    figures = upstream_cost.measure(quick=True)
    classes = int(figures["school"].split()[0])
    # v3: timetable + deleted-periods; the token (180 s) renewed every other 120 s cycle.
    assert value(figures, "v3, ours: quiet delta cycle").startswith("2 requests, 0 B sent")
    assert value(figures, "v3, ours: delta cycle after 10 changes").startswith("2 requests")
    assert value(figures, "v3, ours: per quiet cycle at the 120 s poll").startswith("2.5 requests")
    assert value(figures, "v3, ours: full load").startswith("2 requests")  # token + timetable
    # python-webuntis: authenticate, getKlassen, one getTimetable per class, logout.
    for window in ("the window (28 days)", "today only"):
        assert value(figures, f"python-webuntis per cycle, {window}").startswith(
            f"{classes + 3} requests")
        assert re.match(r"[\d.]+× the requests, [\d,.]+× the bytes received",
                        value(figures, f"python-webuntis, {window} / our quiet cycle"))
    # Ours over JSON-RPC: authenticate, getLatestImportTime, logout; after a change also the
    # four master data lists and one getTimetable per class.
    assert value(figures, "JSON-RPC, ours: quiet cycle").startswith("3 requests")
    assert value(figures, "JSON-RPC, ours: cycle after a change").startswith(
        f"{classes + 7} requests")
