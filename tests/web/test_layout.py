"""What a person sees, measured in real headless Chromium against the real server process.

A fixture school with long real-world names (rooms such as "Sporthalle Nord 2", subjects such as
"Q1-LK-Biologie", a long note) and every kind of change, on the asked day and the next; each
board, the index, a fresh screen's pairing page, the login and the admin pages at five screen
sizes. Three checks:

- nothing is cut off: every rendered word lies inside the viewport and inside every ancestor
  that clips (overflow other than visible), and no ellipsis hides text. Boards are one screen
  high by design (kiosks, no scrollbars), so a word below the board's bottom counts as cut off;
  the other pages are documents that may scroll vertically, so they are measured sideways only.
- axe-core (npm, installed into .node/ by scripts/node-deps.sh) finds no serious or critical
  violation.
- the rows' text keeps a contrast of at least 7:1 in every kiosk theme.

The scene is a school morning: the server process (tests/shifted_clock) and the browser
(Playwright's clock) both live at 10:50 on the boards' day, so the kiosk script marks rows past,
now and next the same way in every run, whatever the real time of day.
Each page is opened once per size for the first two checks; its screenshot goes to one folder
under pytest's temporary directory (`screens0/<page>-<size>.png`), for a person to look at.
The measuring scripts are cut_off.js and row_contrast.js beside this module.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.security import generate_password_hash

from signage.demo.server import FakeUntis
from tests.conftest import TZ, live_day, period
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, Server, SharedClockBrowser

pytestmark = pytest.mark.browser

AXE = ROOT / ".node" / "node_modules" / "axe-core" / "axe.min.js"
ADMIN_PASSWORD = "the caretaker's pw"
SIZES = {"1920x1080": (1920, 1080), "1080x1920": (1080, 1920), "3840x2160": (3840, 2160),
         "1366x768": (1366, 768), "390x844": (390, 844)}
# axe-core at the three shapes: 3840x2160 and 1366x768 lay out as 1920x1080 does (16:9, sizes
# in viewport units), and axe takes the longest of a look.
AXE_SIZES = ["1920x1080", "1080x1920", "390x844"]
BOARDS = {"overview": "/board/overview", "class-5a": "/board/class/5a",
          "room-sporthalle": "/board/room/" + quote("Sporthalle Nord 2"),
          "teacher-MUL": "/board/teacher/" + quote("MÜL"), "supervisions": "/board/supervisions"}
DAYS = {"one-day": "", "two-days": "&days=2"}
PAGES = {"index": "/", "login": "/login", "admin": "/admin",  # documents: they may scroll down
         "admin-new-display": "/admin/displays/new",
         "admin-new-announcement": "/admin/announcements/new", "admin-check": "/admin/check"}
THEMES = ["light", "dark", "contrast"]
SCENE = clock_time(10, 50)  # the fourth unit runs: three are past, the fifth is next

# --- the school ------------------------------------------------------------------------------

NAMES = {
    "classes": ["5a", "10b", "Q1", "7c", "EF", "6b"],
    "teachers": ["MÜL", "BEC", "SCH", "WEB", "KOC", "Schmidt-Leutheusser"],
    "rooms": ["R101", "R204", "R105", "R207", "Bio1", "Sporthalle Nord 2", "NW-Übungsraum 3"],
    "subjects": ["M", "D", "E", "Ch", "Sp", "Q1-LK-Biologie"],
}
TIMETABLE = {  # class -> its four units: (subject, teacher, room); the fifth unit is free
    "5a": [("M", "MÜL", "R101"), ("D", "BEC", "R101"), ("Sp", "WEB", "Sporthalle Nord 2"),
           ("E", "SCH", "R101")],
    "10b": [("E", "SCH", "R204"), ("M", "MÜL", "R204"), ("Ch", "KOC", "NW-Übungsraum 3"),
            ("Ch", "KOC", "NW-Übungsraum 3")],
    "Q1": [("Q1-LK-Biologie", "Schmidt-Leutheusser", "Bio1"),
           ("Q1-LK-Biologie", "Schmidt-Leutheusser", "Bio1"), ("D", "BEC", "R105"),
           ("Sp", "MÜL", "Sporthalle Nord 2")],
    "7c": [("D", "WEB", "R207"), ("E", "BEC", "R207"), ("M", "SCH", "R207"),
           ("Ch", "KOC", "NW-Übungsraum 3")],
    "EF": [("E", "SCH", "R105"), ("D", "WEB", "R105"), ("M", "MÜL", "R105"),
           ("Sp", "WEB", "Sporthalle Nord 2")],
    "6b": [("Sp", "WEB", "Sporthalle Nord 2"), ("M", "KOC", "R204"), ("D", "WEB", "R204"),
           ("E", "BEC", "R105")],
}
LONG_NOTE = ("Aufgaben im Moodle-Kurs bearbeiten und bis Freitag über die Abgabe hochladen; "
             "Rückfragen bitte per Mail an die Fachschaft")


def ref(category: str, name: str, status: str = "REGULAR") -> dict[str, Any]:
    """Return a period's reference to a class, teacher, room or subject by its name."""
    return {"id": NAMES[category].index(name) + 1, "status": status}


def swap(category: str, old: str, new: str) -> list[dict[str, Any]]:
    """Return the references of a replaced teacher or room: the old REMOVED, the new ADDED."""
    return [ref(category, old, "REMOVED"), ref(category, new, "ADDED")]


class School:
    """The fixture school in a fake upstream: regular days, then the day's changes."""

    def __init__(self, fake: FakeUntis, day: date, next_day: date) -> None:
        self.fake = fake
        self.days = (day, next_day)
        for category, names in NAMES.items():
            fake.add_names(category, dict(enumerate(names, start=1)))
        for when in self.days:
            for cls, units in TIMETABLE.items():
                for unit, (subject, teacher, room) in enumerate(units):
                    fake.put_period(period(
                        self.pid(when, cls, unit), when, unit, cls=ref("classes", cls)["id"],
                        teacher=ref("teachers", teacher)["id"], room=ref("rooms", room)["id"],
                        subject=ref("subjects", subject)["id"]))

    def pid(self, day: date, cls: str, unit: int) -> int:
        """Return the id of a class's period in a unit (0-based) of one of the two days."""
        return 10_000 * (self.days.index(day) + 1) + 100 * ref("classes", cls)["id"] + unit

    def change(self, day: date, cls: str, unit: int, **fields: Any) -> None:
        """Change a class's period (status CHANGED unless given)."""
        self.fake.update_period(self.pid(day, cls, unit), **{"status": "CHANGED", **fields})

    def add_lesson(self, day: date, cls: str, unit: int, subject: str, teacher: str,
                   room: str, note: str) -> int:
        """Add an extra lesson (ADDITIONAL, every reference ADDED); return its id."""
        pid = self.fake.new_id()
        self.fake.put_period(period(
            pid, day, unit, lesson=None, type="ADDITIONAL_PERIOD", status="ADDITIONAL",
            substitutionText=note, classes=[ref("classes", cls, "ADDED")],
            teachers=[ref("teachers", teacher, "ADDED")], rooms=[ref("rooms", room, "ADDED")],
            subjects=[ref("subjects", subject, "ADDED")]))
        return pid

    def move(self, day: date, cls: str, unit: int, to_unit: int) -> None:
        """Move a lesson to a free unit: the old period cancelled, a new one ADDITIONAL, each
        naming the other as `relatedPeriod` (as the demo school's planner does)."""
        old = self.fake.periods[self.pid(day, cls, unit)]
        new_id = self.fake.new_id()
        later = period(new_id, day, to_unit)
        self.fake.put_period(dict(old, id=new_id, status="ADDITIONAL", relatedPeriod=old["id"],
                                  start=later["start"], end=later["end"],
                                  substitutionText=f"verlegt von der {unit + 1}. Stunde"))
        self.change(day, cls, unit, status="CANCELLED", relatedPeriod=new_id,
                    substitutionText=f"verlegt in die {to_unit + 1}. Stunde")

    def supervise(self, day: date, room: str, teachers: list[dict[str, Any]]) -> None:
        """Add a break supervision in `room` after the second unit."""
        start, end = (datetime.combine(day, t) for t in (clock_time(9, 35), clock_time(9, 55)))
        self.fake.put_period(period(
            self.fake.new_id(), day, 1, lesson=None, type="BREAK_SUPERVISION",
            start=start.isoformat(timespec="minutes"), end=end.isoformat(timespec="minutes"),
            classes=[], subjects=[], rooms=[ref("rooms", room)], teachers=teachers))

    def plan_changes(self) -> None:
        """Put every kind of change on the day, and a few on the next day."""
        day, next_day = self.days
        self.change(day, "5a", 1, teachers=swap("teachers", "BEC", "MÜL"),
                    substitutionText="Material liegt im Fach")
        self.change(day, "10b", 1, rooms=swap("rooms", "R204", "NW-Übungsraum 3"),
                    substitutionText="Raumtausch")
        for unit in (0, 1):  # a cancelled double period with a long note
            self.change(day, "Q1", unit, status="CANCELLED", substitutionText=LONG_NOTE)
        self.change(day, "7c", 2, teachers=swap("teachers", "SCH", "Schmidt-Leutheusser"),
                    rooms=swap("rooms", "R207", "Sporthalle Nord 2"))
        self.change(day, "5a", 3, status="CANCELLED", substitutionText="entfällt")
        for unit in (2, 3):
            self.change(day, "10b", unit, type="EXAM",
                        exam={"id": 1, "name": "Klassenarbeit"},
                        substitutionText="Klassenarbeit Nr. 2")
        self.add_lesson(day, "EF", 4, "Sp", "MÜL", "Sporthalle Nord 2", "Volleyball-AG")
        for when in self.days:  # break supervisions: one as planned, one substituted
            self.supervise(when, "Sporthalle Nord 2", [ref("teachers", "MÜL")])
            self.supervise(when, "NW-Übungsraum 3",
                           swap("teachers", "Schmidt-Leutheusser", "BEC"))
        self.move(day, "6b", 3, to_unit=4)
        self.change(next_day, "5a", 0, status="CANCELLED", substitutionText="Aufgaben in Moodle")
        self.change(next_day, "Q1", 2, rooms=swap("rooms", "R105", "Sporthalle Nord 2"))
        self.change(next_day, "10b", 1, teachers=swap("teachers", "MÜL", "BEC"))
        self.add_lesson(next_day, "7c", 4, "Q1-LK-Biologie", "Schmidt-Leutheusser",
                        "NW-Übungsraum 3", "Nachschreibtermin")


@pytest.fixture(scope="module")
def day() -> date:
    """The day the boards are asked for, fixed for the module (`live_day()` is per test)."""
    return live_day()


@pytest.fixture(scope="module")
def shift_s(day) -> float:
    """Seconds from this process's clock to the module's scene: `day` at SCENE school-local.
    The server and the browser live then, so every run sees the same marks (past, now,
    next) and no midnight comes while the module runs."""
    return datetime.combine(day, SCENE, TZ).timestamp() - time.time()


@pytest.fixture(scope="module")
def school(day):
    """The fake upstream with the fixture school on `day` and the day after, planned earlier."""
    fake = FakeUntis(TZ, school="Städtisches Gymnasium am Stadtpark")
    school = School(fake, day, day + timedelta(days=1))
    school.plan_changes()
    fake.backdate(list(fake.periods), fake.clock() - timedelta(days=1))
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def server(school, shift_s, tmp_path_factory):
    """One server process for the module, at the scene's time (tests/shifted_clock): staff
    profile, an admin password, its own state. It syncs once a minute, so boards sit still
    while they are measured (no kiosk poll lands)."""
    state = tmp_path_factory.mktemp("layout") / "state.json"
    srv = Server(school, STATE_FILE=str(state), REFRESH_SECONDS="60", IDLE_REFRESH_SECONDS="60",
                 ADMIN_PASSWORD_HASH=generate_password_hash(ADMIN_PASSWORD, "pbkdf2:sha256:1000"))
    paths = [str(ROOT / "tests" / "shifted_clock"), os.environ.get("PYTHONPATH", "")]
    offset_s = float(os.environ.get("TEST_CLOCK_OFFSET_S") or 0) + shift_s  # a shifted run's too
    srv.env.update(PYTHONPATH=os.pathsep.join(filter(None, paths)),
                   TEST_CLOCK_OFFSET_S=str(offset_s))
    srv.start()
    yield srv
    srv.stop()


class SceneBrowser(SharedClockBrowser):
    """Chromium whose pages read the scene's clock, as the server does (the kiosk script marks
    rows past, now and next by the browser's clock)."""

    def __init__(self, chromium: Browser, shift_s: float) -> None:
        super().__init__(chromium)
        self.shift_s = shift_s

    def _clocked(self, target: Any) -> Any:
        target.clock.install(time=time.time() + self.shift_s)
        return target


@pytest.fixture(scope="module")
def chromium(shift_s):
    """One headless Chromium for the module; each look opens its own context."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield SceneBrowser(browser, shift_s)
        browser.close()


@pytest.fixture(scope="module")
def admin_login(chromium, server, day) -> dict[str, Any]:
    """Log in as the admin once, add a display and an announcement (so the admin pages have
    rows to lay out), and return the browser's storage state for later contexts."""
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.goto(f"{server.url}/login?next=/admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{server.url}/admin/displays/new")
    page.fill("input[name=name]", "Foyer Erdgeschoss (neben der Mensa, linker Bildschirm)")
    page.select_option("select[name=board]", "room")
    page.fill("input[name=target]", "Sporthalle Nord 2")
    page.click("form.stacked button[type=submit]")
    page.goto(f"{server.url}/admin/announcements/new")
    page.fill("textarea[name=text]", "Die Bundesjugendspiele finden bei Regen in der "
                                     "Sporthalle Nord 2 statt; bitte Hallenschuhe mitbringen.")
    page.select_option("select[name=target]", "board:class:6b")
    page.fill("input[name=end]", f"{day + timedelta(days=2)}T16:00")
    page.click("form.stacked button[type=submit]")
    assert "Announcement saved" in page.text_content(".flash")
    state = context.storage_state()
    context.close()
    return state


# --- looking at a page as a screen shows it -------------------------------------------------

@contextmanager
def opened(chromium: SceneBrowser, url: str, size: str, **options: Any) -> Iterator[Page]:
    """Open `url` in a fresh context (no cookie unless `storage_state` is given) at a screen
    size; yield the page once it has settled. CSP is bypassed: axe-core is injected inline
    (our pages need nothing the CSP refuses: tests/web/test_browser.py checks that)."""
    width, height = SIZES[size]
    context = chromium.new_context(viewport={"width": width, "height": height},
                                   bypass_csp=True, **options)
    try:
        page = context.new_page()
        page.goto(url)
        settle(page)
        yield page
    finally:
        context.close()


def settle(page: Page) -> None:
    """Wait until the page stops navigating (a board whose page does not fit the screen loads
    itself again with as many rows as fit) and its fonts are in."""
    seen = None
    while seen != page.url:
        seen = page.url
        page.wait_for_load_state("load")
        page.wait_for_timeout(100)
    page.evaluate("() => document.fonts.ready.then(() => true)")


CUT_OFF = (Path(__file__).parent / "cut_off.js").read_text()
SCROLLS_BY_DESIGN = ".ticker"  # the announcements' running ticker moves through its box


def cut_off(page: Page, kiosk: bool) -> list[str]:
    """Return the text a person cannot read in full, one line per place (with a count when the
    same text is cut off the same way more than once); see cut_off.js."""
    found = Counter(page.evaluate(CUT_OFF, {"kiosk": kiosk, "skip": SCROLLS_BY_DESIGN}))
    return [f"{line} ×{n}" if n > 1 else line for line, n in found.items()]


AXE_RUN = """async (options) => {
  const result = await axe.run(document, options);
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
}"""
SERIOUS = {"serious", "critical"}


def axe_violations(page: Page, **options: Any) -> list[dict[str, Any]]:
    """Run axe-core on the page; return its violations."""
    assert AXE.exists(), "axe-core is missing: run scripts/node-deps.sh"
    page.add_script_tag(path=str(AXE))
    return page.evaluate(AXE_RUN, {"resultTypes": ["violations"], **options})


def describe(violation: dict[str, Any]) -> str:
    """Return a violation for a failure message: rule, impact, where, and what is wrong."""
    nodes = violation["nodes"]
    targets = ", ".join(n["target"] for n in nodes[:3]) + (" …" if len(nodes) > 3 else "")
    summary = " ".join(nodes[0]["summary"].split()) if nodes else ""
    return (f"{violation['id']} ({violation['impact']}; {len(nodes)}×: {targets}): "
            f"{violation['help']}. {summary[:300]}")


@dataclass(frozen=True)
class Seen:
    """What a page showed at one screen size."""

    url: str  # where it ended up
    shot: Path  # its screenshot
    text: str  # its visible text
    cut_off: list[str]  # see cut_off()
    violations: list[dict[str, Any]] | None  # axe-core's (None: not run at this size)


@pytest.fixture(scope="module")
def look(chromium, server, admin_login, tmp_path_factory):
    """Return `look(name, path, size, kiosk=…)`: what a page shows at a size. Each page is
    opened once per size, measured both ways (cut off; axe-core at AXE_SIZES) and screenshot
    into one folder, so the two checks of a page share a visit."""
    folder = tmp_path_factory.mktemp("screens")
    seen: dict[tuple[str, str], Seen] = {}

    def look(name: str, path: str, size: str, kiosk: bool, ready: str = "body") -> Seen:
        if (name, size) not in seen:
            login = {"storage_state": admin_login} if path.startswith("/admin") else {}
            with opened(chromium, server.url + path, size, **login) as page:
                page.wait_for_selector(ready)
                shot = folder / f"{name}-{size}.png"
                page.screenshot(path=str(shot))
                assert shot.stat().st_size > 5_000, f"{shot} looks blank"
                violations = axe_violations(page) if size in AXE_SIZES else None
                if violations is not None and os.environ.get("AXE_REPORT"):  # for the notes
                    with open(os.environ["AXE_REPORT"], "a", encoding="utf-8") as report:
                        report.write(json.dumps({"page": name, "size": size, "violations": [
                            {"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])}
                            for v in violations]}) + "\n")
                seen[name, size] = Seen(page.url, shot, page.inner_text("body"),
                                        cut_off(page, kiosk), violations)
        return seen[name, size]

    return look


def board_path(board: str, day: date, days: str = "one-day") -> str:
    """Return a board's path and query for `day`, with `&days=2` for two days."""
    return f"{BOARDS[board]}?date={day.isoformat()}{DAYS[days]}"


MAX_LINES = 15  # findings shown per failure; the rest are counted


def fail_with(heading: str, lines: list[str]) -> None:
    """Fail with a heading and one line per finding, when there are findings."""
    if not lines:
        return
    shown = lines[:MAX_LINES]
    if len(lines) > MAX_LINES:
        shown.append(f"… and {len(lines) - MAX_LINES} more")
    pytest.fail(heading + "\n  " + "\n  ".join(shown), pytrace=False)


def assert_readable(seen: Seen, name: str) -> None:
    """Fail with every piece of text that is cut off."""
    fail_with(f"{name}: text cut off (see {seen.shot}):", seen.cut_off)


def assert_accessible(seen: Seen, name: str) -> None:
    """Fail with every serious or critical axe-core violation."""
    assert seen.violations is not None, f"axe-core does not run at {name}'s size"
    fail_with(f"{name}: axe-core (see {seen.shot}):",
              [describe(v) for v in seen.violations if v["impact"] in SERIOUS])


# --- the checks -----------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("days", DAYS)
@pytest.mark.parametrize("board", BOARDS)
def test_no_text_on_a_board_is_cut_off(look, day, board, days, size):
    seen = look(f"{board}-{days}", board_path(board, day, days), size, kiosk=True, ready=".row")
    assert_readable(seen, f"{board}-{days}-{size}")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", PAGES)
def test_no_text_on_a_page_is_cut_off_sideways(look, server, name, size):
    seen = look(name, PAGES[name], size, kiosk=False)
    assert seen.url == server.url + PAGES[name]  # not sent to the login
    assert_readable(seen, f"{name}-{size}")


@pytest.mark.parametrize("size", SIZES)
def test_a_fresh_screen_shows_its_whole_pairing_code(look, size):
    seen = look("display", "/display", size, kiosk=True, ready="#pair-code")
    assert re.search(r"\b[A-Z0-9]{6}\b", seen.text), seen.text
    assert_readable(seen, f"display-{size}")


@pytest.mark.parametrize("size", AXE_SIZES)
@pytest.mark.parametrize("days", DAYS)
@pytest.mark.parametrize("board", BOARDS)
def test_a_board_has_no_serious_accessibility_violation(look, day, board, days, size):
    seen = look(f"{board}-{days}", board_path(board, day, days), size, kiosk=True, ready=".row")
    assert_accessible(seen, f"{board}-{days}-{size}")


@pytest.mark.parametrize("size", AXE_SIZES)
@pytest.mark.parametrize("name", [*PAGES, "display"])
def test_a_page_has_no_serious_accessibility_violation(look, name, size):
    if name == "display":
        seen = look(name, "/display", size, kiosk=True, ready="#pair-code")
    else:
        seen = look(name, PAGES[name], size, kiosk=False)
    assert_accessible(seen, f"{name}-{size}")


ROW_CONTRAST = (Path(__file__).parent / "row_contrast.js").read_text()


def low_contrast(texts: list[dict[str, Any]]) -> list[str]:
    """Return the row text below 7:1: a line per place and colours (with an example text), and
    one line for all the text dimmed with its row (e.g. rows marked past)."""
    low = [t for t in texts if t["ratio"] < 7]
    found: dict[tuple[str, str, str, str], list[str]] = {}
    for t in low:
        if t["opacity"] == 1:
            key = (t["where"], f'{t["ratio"]:.2f}', t["color"], t["background"])
            found.setdefault(key, []).append(t["text"])
    lines = [f'{where} "{texts[0]}"{f" (×{len(texts)})" if len(texts) > 1 else ""}: '
             f"{ratio}:1, {color} on {background}"
             for (where, ratio, color, background), texts in found.items()]
    dimmed = [t for t in low if t["opacity"] < 1]
    if dimmed:
        worst = min(dimmed, key=lambda t: t["ratio"])
        lines.append(f"{len(dimmed)} texts dimmed with their row (opacity "
                     f"{sorted({round(t['opacity'], 2) for t in dimmed})}): "
                     f"{worst['ratio']:.2f}:1 to {max(t['ratio'] for t in dimmed):.2f}:1, "
                     f"the worst {worst['where']} \"{worst['text']}\" ({worst['color']} on "
                     f"{worst['background']})")
    return lines


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("board", ["overview", "class-5a"])
def test_row_text_keeps_seven_to_one_in_each_theme(chromium, server, day, board, theme):
    url = f"{server.url}{board_path(board, day)}&theme={theme}"
    with opened(chromium, url, "1920x1080") as page:
        page.wait_for_selector(".row")
        texts = page.evaluate(ROW_CONTRAST)
        enhanced = axe_violations(page, runOnly={"type": "rule",
                                                 "values": ["color-contrast-enhanced"]})
    assert texts, "no row text measured"
    fail_with(f"{board}, theme {theme}: below 7:1 (row classes, element, text: ratio):",
              low_contrast(texts) + [f"axe-core: {describe(v)}" for v in enhanced])


def test_the_fixture_school_shows_every_kind_of_change_and_mark(chromium, server, day):
    """Guard the fixture and the scene: the overview has each kind of change, and rows marked
    past, now and next (the server and the browser agree on the time)."""
    with opened(chromium, server.url + board_path("overview", day), "3840x2160") as page:
        page.wait_for_selector(".row")
        classes = set(page.evaluate("() => [...document.querySelectorAll('.row')]"
                                    ".flatMap(r => [...r.classList])"))
    assert {"kind-cancelled", "kind-substitution", "kind-room_change", "kind-additional",
            "kind-exam", "kind-moved", "past", "now", "next"} <= classes, sorted(classes)
