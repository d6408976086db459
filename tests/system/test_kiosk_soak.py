"""The kiosk soak, test-sized: a minute of a real kiosk on a plan that keeps changing.

`bench/soak.py` (`make soak`) runs a whole accelerated school day; this runs 45 s of it: a real
`flask signage serve` on the demo school, Debian's Chromium polling the overview every second,
the planner changing the plan every second. The board must really move, and after a 15 s
warm-up neither the JS heap nor the live DOM nodes (per node the document holds) may grow by
more than 10 % (medians of the first and last five samples, so GC timing does not decide).
"""

from __future__ import annotations

import pytest

from bench.soak import GROWTH_LIMIT_PCT, Soak, run_soak

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECONDS = 45
WARMUP_S = 15
EDGE_SAMPLES = 5


@pytest.fixture(scope="module")
def soak() -> Soak:
    return run_soak(SECONDS, warmup_s=WARMUP_S, sample_s=2, step_s=1)


def test_the_kiosk_polled_and_swapped_the_board_many_times_without_a_reload(soak):
    assert soak.polls[200] >= SECONDS // 2, soak.polls  # about one poll a second
    assert sum(soak.polls.values()) == soak.polls[200] + soak.polls[304], soak.polls
    assert soak.steps >= SECONDS // 2
    assert soak.swaps >= 8, soak.swaps
    assert soak.versions >= 8
    assert soak.reloads == 0  # a reload would start the heap afresh and hide a leak
    assert soak.errors == []


def test_changes_at_every_poll_do_not_hold_the_overview_on_its_first_page(soak):
    # A busy morning swaps the board more often than a page's dwell: the rotation goes on.
    assert max(s.pages for s in soak.samples) >= 2
    assert len(soak.pages_shown) >= 2, [s.page for s in soak.samples]


def test_the_js_heap_grows_no_more_than_ten_percent_after_warm_up(soak):
    start, end, growth = soak.growth("heap_bytes", EDGE_SAMPLES)
    assert len(soak.after_warmup()) >= 2 * EDGE_SAMPLES
    assert growth <= GROWTH_LIMIT_PCT, f"JS heap {start:.0f} -> {end:.0f} bytes ({growth:+.1f} %)"


def test_the_dom_nodes_grow_no_more_than_ten_percent_after_warm_up(soak):
    # The live count follows the plan's rows; per node the document holds, it follows leaks.
    start, end, growth = soak.growth("nodes_per_document_node", EDGE_SAMPLES)
    nodes = soak.growth("nodes", EDGE_SAMPLES)
    assert growth <= GROWTH_LIMIT_PCT, (
        f"live DOM nodes per document node {start:.3f} -> {end:.3f} ({growth:+.1f} %); "
        f"live nodes {nodes[0]:.0f} -> {nodes[1]:.0f}")
