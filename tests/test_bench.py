"""Smoke test of the on-demand demo figures (`make bench`): it runs and reports sane numbers."""

from bench.demo_cycle import measure


def test_demo_figures_run_and_count_two_requests_per_delta():
    figures = measure(cycles=2, loads=1)
    assert figures["periods in the window"] > 500
    assert figures["requests per delta cycle"] == 2  # timetable + deleted-periods, token cached
    assert figures["token requests per delta cycle"] == 0
    assert 0 < figures["delta cycle, median s"] and 0 < figures["full load, median s"]


def test_board_figures_run_for_every_board():
    from bench.board_render import BOARDS, measure

    figures = measure(requests=3)
    for path in BOARDS:
        assert figures[f"{path} HTML bytes"] > 1000
        assert figures[f"{path} 304, median ms"] > 0
