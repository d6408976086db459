"""Smoke test of `make bench`'s driver: it runs sections and writes one document with the
machine, the date, the command and each section's table (the sections' own smoke tests are in
tests/test_bench_sync.py and tests/test_bench_serving.py)."""

import pytest

from bench.run import SECTIONS, main

pytestmark = pytest.mark.system


def test_the_driver_writes_the_document_of_a_quick_run(tmp_path, capsys):
    out = tmp_path / "BENCHMARKS.md"
    assert main(["--quick", "--only", "bench.upstream_cost", "--out", str(out)]) == 0
    document = out.read_text(encoding="utf-8")
    assert document.startswith("# Benchmarks")
    for row in ("| CPU |", "| date |", "| command | `make bench` --quick |", "| whole run |"):
        assert row in document, row
    assert f"## {SECTIONS['bench.upstream_cost']}" in document
    assert "python-webuntis" in document and "| figure | value |" in document
    assert SECTIONS["bench.serving"] not in document  # only the section asked for
    assert "written to" in capsys.readouterr().out
