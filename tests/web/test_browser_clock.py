"""A kiosk whose own clock is days off the server's, in the nightly reload window (03:00-05:00
by the server's clock): it reloads once a night at most, never at every poll. The server runs
shifted (tests/shifted_clock) to 03:30 of the day after `live_day()`; Chromium keeps the
machine's clock. Found by a CI run whose shifted instant was 03:10: the page took its "loaded
on" day from its own clock before it knew the server's, and reloaded at each poll."""

from __future__ import annotations

import os
import time
from datetime import datetime
from datetime import time as clock_time

import pytest

from tests.conftest import TZ, live_day
from tests.web.test_browser import ROOT, Server, browser, live_fake  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_a_kiosk_with_a_wrong_clock_does_not_reload_at_every_poll_at_night(browser,  # noqa: F811
                                                                         live_fake):  # noqa: F811
    night = datetime.combine(live_day(), clock_time(3, 30), TZ)  # the school's day, 03:30
    srv = Server(live_fake)
    offset_s = float(os.environ.get("TEST_CLOCK_OFFSET_S") or 0) + night.timestamp() - time.time()
    srv.env.update(PYTHONPATH=os.pathsep.join(filter(None, [
        str(ROOT / "tests" / "shifted_clock"), os.environ.get("PYTHONPATH", "")])),
        TEST_CLOCK_OFFSET_S=str(offset_s))
    srv.start()
    try:
        kiosk = browser.chromium.new_page(viewport={"width": 1920, "height": 1080})
        kiosk.clock.install(time=night.timestamp() - 3 * 86400)  # three days behind the server
        loads = []
        kiosk.on("load", lambda: loads.append(time.monotonic()))
        polls = []
        kiosk.on("response", lambda r: polls.append(r.status) if "part=board" in r.url else None)
        kiosk.goto(f"{srv.url}/board/overview?date={live_day().isoformat()}&rows=40")
        kiosk.wait_for_timeout(6000)  # polls every second
        assert len(polls) >= 4, polls
        assert len(loads) == 1, f"{len(loads)} loads in 6 s"
    finally:
        srv.stop()
