"""Kiosk soak: a school day of polling in real headless Chromium, watching for leaks.

A real `flask signage serve` process syncs the demo school (its `DemoSchool` timetable in a
`FakeUntis` on loopback, as `SIGNAGE_SOURCE=demo` runs it) and Debian's Chromium shows
`/board/overview`, running the kiosk script `static/board.js` untouched. The school's planner
keeps changing the plan; the soak samples the page's JS heap and DOM nodes after a forced GC and
counts the board swaps the kiosk made, so a flat line is known to come from a board that moved.

The accelerated day: a kiosk polls every `min(30 s, SIGNAGE_REFRESH_SECONDS)`, so a school day
from 07:30 to 15:30 is 960 polls. With `SIGNAGE_REFRESH_SECONDS=1` (and the idle interval as
short, so the time of day does not matter) the kiosk polls, and the server syncs, every second:
the full run lasts until the kiosk has had its 960 answers, about 17 minutes (each poll also
waits for its answer). The planner changes the plan every `STEP_S` seconds, half of them on the
day shown (its other changes are the next two days: new versions, same board), a few hundred
changes where a real school day has some dozens. Every poll is answered 200 (the ETag holds
the time of the last sync, which moves every second) where a real kiosk mostly gets 304: the
soak takes the heavier path each time. What is not accelerated is the clock: the "new" marks
last their real 5 minutes and the nightly reload stays at night.

Why the soak runs the demo school itself rather than `SIGNAGE_SOURCE=demo`: the built-in demo's
planner steps every 8 s (a constant, not a setting) on the real today, which on a weekend or
after the day's last lesson is not the day the overview shows. Here the planner steps on the
shown day at the soak's pace, and the board is pinned to that day (`?date=`) so that a run
across the afternoon's switch to the next day measures one board.

Growth compares the median of the first samples after warm-up with the median of the last ones,
as single samples jitter with GC timing. The JS heap is V8's used heap after a forced GC
(`HeapProfiler.collectGarbage`, `Runtime.getHeapUsage`) with its backing stores: the text of
every poll's answer is an external string, whose bytes V8's used heap does not count. DOM nodes
are Blink's live node count after that GC (`Memory.getDOMCounters`), so old board regions kept
alive off the document count too. The live count also follows the plan (the overview wandered
between 35 and 52 rows in a full run, +29 % nodes), so the check divides it by the nodes the
document holds: that ratio is 1.000 while nothing is kept off the document, and grows with
every region a leak keeps. Both raw counts are reported beside it.

`python -m bench.soak` (`make soak`) runs the full day; `--minutes` shortens it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.run import table
from signage.demo import Demo
from signage.demo.school import DemoSchool
from signage.demo.server import FakeUntis

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "make soak"
COMMAND_MINUTES = ".venv/bin/python -m bench.soak --minutes"
TZ = ZoneInfo("Europe/Berlin")
CHROMIUM = "/usr/bin/chromium"
# Without these Debian's Chromium hangs in a container (sandbox, GPU, background fetches).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1920, "height": 1080}
REFRESH_S = 1  # the server's sync and, through min(30 s, refresh), the kiosk's poll
SCHOOL_DAY_POLLS = 960  # 07:30-15:30 at the kiosk's real 30 s
DAY_MINUTES = SCHOOL_DAY_POLLS * REFRESH_S / 60
STEP_S = 2.0  # the planner's pace in the full run
PREWARM_STEPS = 150  # planner steps before the kiosk starts: the plan's changes level off
START_TIMEOUT_S = 30.0
GROWTH_LIMIT_PCT = 10.0
VERDICT = f"JS heap and DOM nodes within +{GROWTH_LIMIT_PCT:.0f} %"

INSTALL = """() => {
  if (window.soak) { return false; }
  const soak = window.soak = {swaps: 0};
  new MutationObserver(records => records.forEach(record => record.addedNodes.forEach(node => {
    if (node.nodeType === 1 && node.classList.contains('region')) { soak.swaps += 1; }
  }))).observe(document.getElementById('board'), {childList: true});
  return true;
}"""
LOOK = """() => ({
  swaps: window.soak ? window.soak.swaps : null,
  inDocument: (() => {
    const walker = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
    let count = 1;  // the document itself
    while (walker.nextNode()) { count += 1; }
    return count;
  })(),
  rows: document.querySelectorAll('#board .row').length,
  page: [...document.querySelectorAll('#board .page')].findIndex(page => !page.hidden),
  pages: document.querySelectorAll('#board .page').length,
  version: (document.querySelector('#board .region') || {dataset: {}}).dataset.version || '',
})"""


@dataclass(frozen=True)
class Sample:
    """One look at the kiosk page after a forced GC."""

    at_s: float  # since the kiosk started
    heap_bytes: int  # V8's used heap and its backing stores (external strings, buffers)
    nodes: int  # Blink's live DOM nodes, detached ones included
    in_document: int  # nodes in the document (elements, text, comments, the document)
    listeners: int  # JS event listeners
    rows: int  # change rows on the board
    version: str  # the snapshot version the board shows
    page: int  # the overview page on show (0: the first; -1: none)
    pages: int  # the overview's pages

    @property
    def detached(self) -> int:
        """Return the live nodes the document does not hold (a leak keeps old ones here)."""
        return self.nodes - self.in_document

    @property
    def nodes_per_document_node(self) -> float:
        """Return live nodes per node in the document: 1.0 when nothing is kept off it."""
        return self.nodes / self.in_document


@dataclass
class Soak:
    """What one soak saw."""

    day: date
    warmup_s: float
    samples: list[Sample] = field(default_factory=list)
    swaps: int = 0  # board regions replaced by the kiosk script
    url: str = ""  # the board as the kiosk shows it (a screen's fit adds ?rows=)
    polls: Counter[int] = field(default_factory=Counter)  # status -> polls answered
    reloads: int = 0  # full page loads after the first (a leak check must not see them)
    steps: int = 0  # planner changes made while the kiosk ran
    errors: list[str] = field(default_factory=list)  # page errors
    duration_s: float = 0.0

    def after_warmup(self) -> list[Sample]:
        """Return the samples taken after warm-up."""
        return [s for s in self.samples if s.at_s >= self.warmup_s]

    def growth(self, figure: str, k: int) -> tuple[float, float, float]:
        """Return (warm-up median, end median, growth %) of a sample figure after warm-up."""
        values = [getattr(s, figure) for s in self.after_warmup()]
        if len(values) < 2:
            raise ValueError(f"too few samples after warm-up: {len(values)}")
        k = max(1, min(k, len(values) // 2))
        start, end = statistics.median(values[:k]), statistics.median(values[-k:])
        return start, end, (end - start) / start * 100

    @property
    def pages_shown(self) -> set[int]:
        """Return the overview pages the samples found on show."""
        return {s.page for s in self.samples if s.page >= 0}

    @property
    def versions(self) -> int:
        """Return how many distinct snapshot versions the samples saw on the board."""
        return len({s.version for s in self.samples})


class Planner:
    """The demo school in a fake WebUntis v3 server, its planner stepping on one day."""

    def __init__(self) -> None:
        self.fake = FakeUntis(TZ).start()
        self.school = DemoSchool(self.fake)
        self.day: date | None = None
        self.steps = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def settings(self) -> dict[str, str]:
        """Return the SIGNAGE settings (without prefix) that point the untis source here."""
        return {"SOURCE": "untis", **Demo(self.fake, self._stop).settings()}

    def step(self, count: int = 1) -> None:
        """Make `count` planner changes on the shown day and the two after it."""
        if self.day is None:
            raise RuntimeError("the planner needs the shown day before its first step")
        for _ in range(count):
            self.school.step(self.day)
            self.steps += 1

    def run(self, every_s: float) -> None:
        """Step every `every_s` seconds in a thread until `stop`."""
        def loop() -> None:
            while not self._stop.wait(every_s):
                self.step()

        self._thread = threading.Thread(target=loop, name="soak-planner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop stepping and the fake server."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.fake.stop()


class Server:
    """`flask signage serve` as a real process on a free loopback port."""

    def __init__(self, settings: dict[str, str], workdir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "serve.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNAGE_")}
        env.update({f"SIGNAGE_{k}": v for k, v in settings.items()})
        env.update(SIGNAGE_REFRESH_SECONDS=str(REFRESH_S),
                   SIGNAGE_IDLE_REFRESH_SECONDS=str(REFRESH_S),
                   SIGNAGE_SCREENS_ON="always",  # an awake board, at any hour of the run
                   SIGNAGE_STATE_FILE=str(workdir / "state.json"))
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the process and wait until it serves data."""
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
                [sys.executable, "-m", "flask", "--app", "wsgi", "signage", "serve",
                 "--port", str(self.port)], cwd=ROOT, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):  # noqa: S310
                    return
            except OSError:  # not listening yet, or too busy to answer in time
                time.sleep(0.2)
        raise RuntimeError(f"signage serve did not become healthy within {START_TIMEOUT_S:.0f} s:"
                           f"\n{self.log.read_text(errors='replace')[-2000:]}")

    def shown_day(self) -> date:
        """Return the day boards show now (the API's answer without `?date=`)."""
        with urllib.request.urlopen(f"{self.url}/api/v1/changes", timeout=5) as response:  # noqa: S310
            return date.fromisoformat(json.load(response)["date"])

    def stop(self) -> None:
        """Stop the process."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None


def run_soak(seconds: float, warmup_s: float, sample_s: float, step_s: float,
             polls: int | None = None, init_script: str | None = None,
             progress: bool = False) -> Soak:
    """Show the overview in Chromium for `seconds` (or until it has polled `polls` times)
    while the plan changes; sample it.

    `init_script` runs in the page before the kiosk script (the leak check's hook).
    """
    from playwright.sync_api import sync_playwright

    planner = Planner()
    with tempfile.TemporaryDirectory(prefix="signage-soak-") as workdir:
        server = Server(planner.settings(), Path(workdir))
        try:
            server.start()
            planner.day = server.shown_day()
            planner.step(PREWARM_STEPS)
            time.sleep(3 * REFRESH_S)  # the syncs take the pre-warm changes in
            planner.run(step_s)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    soak = Soak(day=planner.day, warmup_s=warmup_s)
                    _watch(browser, server.url, soak, planner, seconds, sample_s, polls,
                           init_script, progress)
                    return soak
                finally:
                    browser.close()
        finally:
            planner.stop()
            server.stop()


def _watch(browser, url: str, soak: Soak, planner: Planner, seconds: float, sample_s: float,
           polls: int | None, init_script: str | None, progress: bool) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    if init_script:
        page.add_init_script(init_script)
    page.on("pageerror", lambda error: soak.errors.append(str(error)))
    page.on("response", lambda r: soak.polls.update([r.status]) if "part=board" in r.url
            else None)
    page.goto(f"{url}/board/overview?date={soak.day.isoformat()}")
    page.wait_for_load_state("load")
    page.wait_for_timeout(1500)  # a screen that needs fewer rows per page loads once more
    page.wait_for_load_state("load")
    # Neither wait_for_selector (its element handle would keep the first region alive) nor a
    # locator (it loads Playwright's injected script, ~0.7 MB, into the heap being measured).
    deadline = time.monotonic() + START_TIMEOUT_S
    while not page.evaluate("() => Boolean(document.querySelector('#board .region'))"):
        if time.monotonic() > deadline:
            raise RuntimeError("the board showed no region")
        page.wait_for_timeout(200)
    page.evaluate(INSTALL)
    cdp = page.context.new_cdp_session(page)
    soak.url = urllib.parse.urlsplit(page.url)._replace(scheme="", netloc="").geturl()
    swaps_before = 0  # swaps counted by pages that a reload replaced
    steps_before = planner.steps
    started = time.monotonic()
    while True:
        at_s = time.monotonic() - started
        # Twice: a detached region held only through JS wrappers goes in the second pass
        # (one pass frees the wrappers, the next the nodes); a busy machine leaves Chromium
        # no idle time to do that second pass by itself between samples.
        cdp.send("HeapProfiler.collectGarbage")
        cdp.send("HeapProfiler.collectGarbage")
        heap = cdp.send("Runtime.getHeapUsage")
        counters = cdp.send("Memory.getDOMCounters")
        look = page.evaluate(LOOK)
        if look["swaps"] is None:  # the page loaded afresh: count it and watch the new one
            soak.reloads += 1
            swaps_before = soak.swaps
            page.evaluate(INSTALL)
            look["swaps"] = 0
        soak.swaps = swaps_before + look["swaps"]
        # Strings the page got from fetch() are external: their bytes are backing storage.
        heap_bytes = int(heap["usedSize"]) + int(heap.get("backingStorageSize", 0))
        sample = Sample(at_s, heap_bytes, int(counters["nodes"]),
                        int(look["inDocument"]), int(counters["jsEventListeners"]),
                        int(look["rows"]), str(look["version"]), int(look["page"]),
                        int(look["pages"]))
        soak.samples.append(sample)
        if progress:
            print(f"  {at_s:6.0f} s  heap {sample.heap_bytes / 1024:7.0f} KiB  nodes "
                  f"{sample.nodes:5d}  in document {sample.in_document:4d}  rows {sample.rows:3d}"
                  f"  page {sample.page + 1}/{sample.pages}  swaps {soak.swaps:4d}",
                  file=sys.stderr, flush=True)
        if at_s >= seconds or (polls is not None and soak.polls.total() >= polls):
            break
        page.wait_for_timeout(max(0.0, min(sample_s, seconds - at_s)) * 1000)
    soak.duration_s = time.monotonic() - started
    soak.steps = planner.steps - steps_before
    page.close()


def figures(soak: Soak, k: int) -> dict[str, str]:
    """Return a soak's figures (name -> value with its unit)."""
    heap = soak.growth("heap_bytes", k)
    nodes = soak.growth("nodes", k)
    in_document = soak.growth("in_document", k)
    ratio = soak.growth("nodes_per_document_node", k)
    later = soak.after_warmup()
    rows = [s.rows for s in later]
    most = max(later, key=lambda s: s.detached)
    answered = soak.polls.total()
    other = answered - soak.polls.get(200, 0) - soak.polls.get(304, 0)
    days = answered / SCHOOL_DAY_POLLS
    return {
        "board": f"{soak.url} at {VIEWPORT['width']}x{VIEWPORT['height']}",
        "duration": f"{soak.duration_s:.0f} s",
        "kiosk polls answered": f"{answered} = {days:.2f} school days of 30 s polls "
                                f"({soak.polls.get(200, 0)} × 200, {soak.polls.get(304, 0)} × 304,"
                                f" {other} other)",
        "planner changes": f"{soak.steps} (one every {soak.duration_s / max(soak.steps, 1):.1f} s)",
        "board swaps": f"{soak.swaps} ({soak.versions} snapshot versions in the samples)",
        "full page reloads": str(soak.reloads),
        "page errors": str(len(soak.errors)),
        "samples": f"{len(soak.samples)}, {len(later)} after a {soak.warmup_s:.0f} s warm-up "
                   f"(medians of {min(k, len(later) // 2)} at each end)",
        "rows on the board after warm-up": f"{min(rows)}–{max(rows)}",
        "overview pages on show in the samples": f"{len(soak.pages_shown)} of "
                                                 f"{max(s.pages for s in soak.samples)}",
        "JS heap after GC, warm-up → end":
            f"{heap[0] / 1024:.0f} → {heap[1] / 1024:.0f} KiB ({heap[2]:+.1f} %)",
        "DOM nodes (live) after GC, warm-up → end":
            f"{nodes[0]:.0f} → {nodes[1]:.0f} ({nodes[2]:+.1f} %)",
        "nodes in the document, warm-up → end":
            f"{in_document[0]:.0f} → {in_document[1]:.0f} ({in_document[2]:+.1f} %)",
        "live DOM nodes per node in the document, warm-up → end":
            f"{ratio[0]:.3f} → {ratio[1]:.3f} ({ratio[2]:+.1f} %)",
        "detached nodes after GC, after warm-up": f"most {most.detached} ("
            f"{most.detached / most.in_document:.2f} of the document's), in "
            f"{sum(1 for s in later if s.detached > 0)} of {len(later)} samples",
        "JS event listeners, end": str(soak.samples[-1].listeners),
        VERDICT: "yes" if passed(soak, k) else "NO",
    }


def passed(soak: Soak, k: int) -> bool:
    """Return whether the JS heap and the live DOM nodes per document node grew within limit."""
    return all(soak.growth(figure, k)[2] <= GROWTH_LIMIT_PCT
               for figure in ("heap_bytes", "nodes_per_document_node"))


def measure(quick: bool = False, minutes: float | None = None) -> dict[str, str]:
    """Run the soak (a school day's polls, or `minutes`; `quick`: one minute) and return its
    figures."""
    polls = None
    if minutes is None and not quick:
        # A day's polls take a bit longer than their seconds: each poll waits for its answer.
        minutes, polls = 2 * DAY_MINUTES, SCHOOL_DAY_POLLS
    seconds = (minutes or 1.0) * 60
    warmup_s = max(15.0, min(120.0, seconds / 8))
    sample_s = 2.0 if seconds <= 120 else 10.0
    step_s = 1.0 if seconds <= 120 else STEP_S
    soak = run_soak(seconds, warmup_s, sample_s, step_s, polls, progress=not quick)
    return figures(soak, k=5 if seconds <= 120 else 10)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak from the command line and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=None,
                        help=f"how long the kiosk runs (default: until it has polled "
                             f"{SCHOOL_DAY_POLLS} times, a school day)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    result = measure(minutes=args.minutes)
    result["(run time)"] = f"{time.monotonic() - started:.0f} s"
    command = COMMAND if args.minutes is None else f"{COMMAND_MINUTES} {args.minutes:g}"
    print(f"\n## Kiosk soak (`{command}`)\n\n{table(result)}")
    return 0 if result[VERDICT] == "yes" else 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
