"""Smoke tests of the serving and freshness benchmarks (`make bench`): a quick run of each starts
the real processes and yields the expected rows; the Python load generator (the fallback when
wrk is missing) works whether or not wrk is installed."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import freshness, serving
from bench.load import run_python

pytestmark = [pytest.mark.system, pytest.mark.slow]


def test_serving_figures_run_and_name_their_targets():
    figures = serving.measure(quick=True)
    for route in serving.ROUTES:
        assert float(figures[f"{route}: requests/s"].replace(",", "")) > 0
        assert re.fullmatch(r"[\d.]+ ms / [\d.]+ ms", figures[f"{route}: p50 / p99"])
    assert re.fullmatch(r"\d+ % \(target ≥ 80 %: (met|missed)\)",
                        figures["board 304 (ETag) / trivial route"])
    assert re.fullmatch(r"\d+ % \(target ≥ 50 %: (met|missed)\)",
                        figures["board 200 (render cache) / trivial route"])
    assert re.fullmatch(r"\d+ %", figures["JSON API / trivial route"])
    cold = figures["cold render (first answer of a new version): p50 / p99 (max)"]
    assert re.search(r"n = [1-9]\d* \(target p99 ≤ 50 ms: (met|missed)\)", cold)


def test_freshness_figures_run_and_label_the_derived_row():
    figures = freshness.measure(quick=True)
    assert figures["changes"].startswith("3,")
    short = next(v for k, v in figures.items() if k.startswith("short intervals"))
    median, worst = (float(x) for x in re.fullmatch(r"([\d.]+) s / ([\d.]+) s", short).groups())
    assert 0 < median <= worst < 30
    derived = next(v for k, v in figures.items() if k.startswith("default intervals"))
    assert "derived, not run" in derived


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


def test_the_python_load_generator_measures_a_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        load = run_python(f"http://127.0.0.1:{server.server_address[1]}/", 0.5, {}, 200)
    finally:
        server.shutdown()
        server.server_close()
    assert load.rps > 10 and 0 < load.p50_ms <= load.p99_ms
