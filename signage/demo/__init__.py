"""The built-in demo school (`SIGNAGE_SOURCE=demo`): a fake WebUntis v3 server on loopback.

`start_demo` starts the server and a planner thread; the sync process then talks to it with the
real WebUntis v3 client, exactly as it would to a school's server.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from signage.demo.school import DemoSchool
from signage.demo.server import FakeUntis

log = logging.getLogger(__name__)

PLANNER_INTERVAL_S = 8.0


@dataclass
class Demo:
    """A running demo upstream: its settings for the WebUntis v3 client, and a way to stop it."""

    fake: FakeUntis
    stop_event: threading.Event

    def settings(self) -> dict[str, str]:
        """Return the `UNTIS_*` settings that point the WebUntis v3 client at the demo."""
        client_id, secret = self.fake.credentials
        return {"UNTIS_URL": self.fake.url, "UNTIS_TENANT": self.fake.tenant,
                "UNTIS_CLIENT_ID": client_id, "UNTIS_CLIENT_SECRET": secret}

    def stop(self) -> None:
        """Stop the planner and the server."""
        self.stop_event.set()
        self.fake.stop()


def start_demo(tz: ZoneInfo, planner_interval_s: float = PLANNER_INTERVAL_S) -> Demo:
    """Start the demo school's server on a free loopback port and its planner thread."""
    fake = FakeUntis(tz).start()
    school = DemoSchool(fake)
    stop_event = threading.Event()

    def plan() -> None:
        while not stop_event.wait(planner_interval_s):
            try:
                log.debug("demo planner: %s", school.step(datetime.now(tz).date()))
            except Exception:  # a loop boundary: one bad step must not end the demo's changes
                log.exception("demo planner step failed")

    threading.Thread(target=plan, name="demo-planner", daemon=True).start()
    log.info("demo school serving WebUntis v3 on %s", fake.url)
    return Demo(fake, stop_event)
