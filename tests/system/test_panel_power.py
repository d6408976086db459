"""deploy/panel-power.sh picks the first tool that switches the panel (issue 20), tested with
stand-in commands on PATH: curl answers what /api/v1/power would, and each panel tool either
works (logging its arguments) or fails like one without its hardware."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "panel-power.sh"
TOOLS = ("cec-ctl", "wlopm", "wlr-randr", "xset")
OFF = '{"on":false,"reason":"after school","until":null}'
ON = '{"on": true, "reason": "school day", "until": null}'


def stand_ins(folder: Path, answer: str | None, working: set[str], present: set[str]) -> Path:
    """Return a PATH folder with the shell's tools, a curl answering `answer` (None: the server
    is away), and the panel tools in `present`, of which those in `working` succeed."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "awk", "sed", "cat", "sleep"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    curl = f"printf '%s' '{answer}'" if answer is not None else "exit 7"
    (bin_dir / "curl").write_text(f"#!/bin/sh\n{curl}\n")
    for tool in present:
        outcome = "exit 0" if tool in working else "exit 1"
        output = "echo 'HDMI-A-1 \"Monitor\"'\n" if tool == "wlr-randr" else ""
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{folder}/calls"\n'
                                    f"{output}{outcome}\n")
    for script in bin_dir.iterdir():
        if not script.is_symlink():
            script.chmod(0o755)
    return bin_dir


def run(folder: Path, answer: str | None, working: set[str], present=TOOLS) -> tuple[str, str]:
    bin_dir = stand_ins(folder, answer, working, set(present))
    done = subprocess.run([shutil.which("sh"), str(SCRIPT), "http://signage.test/api/v1/power"],
                          env={"PATH": str(bin_dir)}, capture_output=True, text=True,
                          timeout=20, check=True)
    calls = (folder / "calls").read_text() if (folder / "calls").exists() else ""
    return done.stderr.strip(), calls


@pytest.mark.parametrize(("working", "chosen", "call"), [
    ({"cec-ctl", "wlopm", "xset"}, "cec-ctl", "cec-ctl --to 0 --standby"),
    ({"wlopm", "xset"}, "wlopm", "wlopm --off *"),
    ({"wlr-randr", "xset"}, "wlr-randr", "wlr-randr --output HDMI-A-1 --off"),
    ({"xset"}, "xset", "xset dpms force off"),
], ids=["hdmi-cec", "wayland wlopm", "wayland wlr-randr", "x11"])
def test_the_first_tool_that_works_switches_the_panel_off(tmp_path, working, chosen, call):
    said, calls = run(tmp_path, OFF, working)
    assert said == f"signage panel: off ({chosen})"
    assert calls.splitlines()[-1] == call
    later = TOOLS[TOOLS.index(chosen) + 1:]
    assert not any(line.startswith(later) for line in calls.splitlines())


def test_on_wakes_the_panel_with_the_same_tool(tmp_path):
    said, calls = run(tmp_path, ON, {"cec-ctl"})
    assert said == "signage panel: on (cec-ctl)"
    assert calls.splitlines()[-1] == "cec-ctl --to 0 --image-view-on"


def test_without_a_working_tool_the_panel_stays_on_and_the_board_is_black(tmp_path):
    said, calls = run(tmp_path, OFF, set(), present=("cec-ctl", "xset"))
    assert said == "signage panel: off (none)"
    assert "cec-ctl --to 0 --standby" in calls and "xset dpms force off" in calls


def test_no_tool_at_all_leaves_the_panel_alone(tmp_path):
    assert run(tmp_path, OFF, set(), present=()) == ("signage panel: off (none)", "")


def test_a_server_away_changes_nothing(tmp_path):
    assert run(tmp_path, None, {"xset"}) == ("", "")
