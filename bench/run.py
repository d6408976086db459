"""The whole benchmark in one run: `make bench` prints each section's table and writes them, with
the machine, the date and the command, to BENCHMARKS.md.

Each section is a module with `measure(quick: bool = False) -> dict[str, str]` (figure -> value
with its unit; ratios name their target and whether it is met). Figures on a shared 2-core
machine are noisy: the modules report medians of several runs and ratios measured in the same
run, never bare absolute timings as claims. `--quick` runs a tiny version of every section (what
the smoke tests do) and writes nothing unless `--out` is given.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "make bench"
SECTIONS = {  # module -> heading, in the order
    "bench.sync_cost": "Scale and sync cost (WebUntis v3 source, fake upstream on loopback)",
    "bench.upstream_cost":
        "Upstream cost per cycle: our v3 deltas vs python-webuntis over JSON-RPC",
    "bench.serving": "Serving: gunicorn -w 2 on Redis, load from wrk on loopback",
    "bench.freshness": "Freshness: a change upstream to the first 200 at a polling kiosk",
}


def table(figures: dict[str, str]) -> str:
    """Return figures as a Markdown table."""
    rows = "\n".join(f"| {name} | {value} |" for name, value in figures.items())
    return f"| figure | value |\n|---|---|\n{rows}\n"


def machine() -> dict[str, str]:
    """Return what the figures were measured on."""
    model = next((line.split(":", 1)[1].strip()
                  for line in _read("/proc/cpuinfo").splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    memory_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                      if line.startswith("MemTotal:")), 0)
    return {
        "CPU": f"{model}, {os.cpu_count()} cores",
        "memory": f"{memory_kb / 1024 / 1024:.1f} GiB" if memory_kb else "unknown",
        "system": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "redis-server": _version(["redis-server", "--version"]),
        "wrk": _version(["wrk", "--version"]),
    }


def run(quick: bool = False, sections: Sequence[str] = tuple(SECTIONS)) -> str:
    """Run the sections, print each table as it is done, and return the whole document."""
    started = time.monotonic()
    parts = []
    for name in sections:
        print(f"\n## {SECTIONS[name]}\n", flush=True)
        section_started = time.monotonic()
        figures = importlib.import_module(name).measure(quick=quick)
        figures["(section run time)"] = f"{time.monotonic() - section_started:.0f} s"
        print(table(figures), flush=True)
        parts.append(f"## {SECTIONS[name]}\n\n{table(figures)}")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    about = table(machine() | {"date": when, "command": f"`{COMMAND}`" + (" --quick" if quick
                                                                          else ""),
                               "whole run": f"{time.monotonic() - started:.0f} s"})
    return (
        "# Benchmarks\n\n"
        f"Written by `{COMMAND}` (`bench/run.py`); rerun it to replace this file. Medians of "
        "several runs; ratios are measured in the same run, so they hold better than the bare "
        "times, which depend on this machine and its neighbours.\n\n"
        f"## Machine\n\n{about}\n" + "\n".join(parts)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run (smoke test)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write it (default: BENCHMARKS.md; nothing with --quick)")
    parser.add_argument("--only", choices=list(SECTIONS), action="append",
                        help="run only these sections (repeatable)")
    args = parser.parse_args(argv)
    document = run(args.quick, args.only or tuple(SECTIONS))
    out = args.out or (None if args.quick else ROOT / "BENCHMARKS.md")
    if out is not None:
        out.write_text(document, encoding="utf-8")
        print(f"\nwritten to {out}")
    return 0


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _version(command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        return "not installed"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10,  # noqa: S603
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) \
        else "unknown"


if __name__ == "__main__":
    sys.exit(main())
