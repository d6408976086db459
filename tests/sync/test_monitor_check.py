"""`signage check` and `signage sync --once` on the public WebUntis monitor, as real processes
against its fake on the real clock: what the check reports, and the setting each refusal names."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest

from tests.conftest import BELLS, NAMES, TZ
from tests.fakes.monitor_server import FakeMonitor
from tests.sync.test_check import _check, _clean
from tests.system.test_cli import _run

pytestmark = pytest.mark.system

SCHOOL, FORMAT = "Demo Gymnasium", "Vertretung Schüler"


def next_weekday() -> date:
    """Return the first Monday-to-Friday day after today (by the real clock): inside the
    source's window (today and the next two school days) whatever day today is."""
    day = datetime.now(TZ).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@pytest.fixture
def monitor() -> Iterator[FakeMonitor]:
    """A school with a substitution and a cancellation on the next weekday."""
    fake = FakeMonitor(TZ, school=SCHOOL, bells=list(BELLS))
    for category, names in NAMES.items():
        fake.add_names(category, names)
    fake.add_format(FORMAT)
    fake.add_format("Intern", public=False)
    # Grouped by teacher, the teacher column off: the groups and the header name teachers.
    fake.add_format("Nach Lehrer", groupBy=2, showTeacher=False, showAffectedElements=[1, 2])
    day = next_weekday()
    for unit in (0, 1):
        fake.add_lesson(100 + unit, day, *BELLS[unit], cls=1, teacher=1, room=1, subject=1)
    fake.substitute(100, teacher=2)
    fake.cancel(101)
    yield fake.start()
    fake.stop()


def settings(fake: FakeMonitor, **changed: str) -> dict[str, str]:
    return {"SOURCE": "monitor", "MONITOR_URL": fake.url, "MONITOR_SCHOOL": SCHOOL,
            "MONITOR_FORMAT": FORMAT, **changed}


def problems(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("problem: ")]


def test_check_names_the_list_its_columns_rows_and_last_update(monitor):
    result, _ = _check(**settings(monitor))
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "credentials: none needed (a public source)" in out
    assert re.search(r"^window: .*: 2 periods$", out, re.M), out
    assert f"monitor format: '{FORMAT}' found, public" in out
    assert "monitor columns: hour, time, classes, subject, room, teacher, info, text" in out
    assert f"{next_weekday():%a %Y-%m-%d} 2 rows" in out
    assert re.search(r"^monitor lastUpdate: \d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d$", out, re.M), out
    assert "warning" not in out  # no account warnings for a source that lists changes only
    assert out.rstrip().endswith("ok: the source can feed the boards")
    _clean(result)


@pytest.mark.parametrize(("changed", "named"), [
    ({"MONITOR_SCHOOL": "Demo Gymnasiun"}, "SIGNAGE_MONITOR_SCHOOL"),
    ({"MONITOR_FORMAT": "Vertretung Lehrer"}, "SIGNAGE_MONITOR_FORMAT"),
    ({"MONITOR_FORMAT": "Intern"}, "is not public: in WebUntis an administrator opens"),
])
def test_each_refusal_is_one_problem_naming_what_to_change(monitor, changed, named):
    result, _ = _check(**settings(monitor, **changed))
    assert result.returncode == 1, result.stdout
    [problem] = problems(result.stdout)
    assert named in problem
    _clean(result)


def test_sync_once_against_the_monitor_exits_0_and_a_refusal_fails_in_one_line(monitor):
    result = _run(["sync", "--once"], **settings(monitor))
    assert result.returncode == 0, result.stderr
    assert "sync ok: full load, 2 periods" in result.stdout
    refused = _run(["sync", "--once"], **settings(monitor, MONITOR_FORMAT="Intern"))
    assert refused.returncode != 0
    assert "is not public" in refused.stderr and "Traceback" not in refused.stderr


def test_the_sample_hides_teachers_standing_in_groups_and_the_header(monitor, tmp_path):
    folder = tmp_path / "sample"
    result, _ = _check("--save-sample", str(folder),
                       **settings(monitor, MONITOR_FORMAT="Nach Lehrer"))
    assert result.returncode == 0, result.stdout + result.stderr
    texts = [f.read_text(encoding="utf-8") for f in sorted(folder.glob("*.json"))]
    data = [json.loads(t) for t in texts if '"rows"' in t]
    groups = {row["group"] for answer in data for row in answer["payload"]["rows"]}
    assert groups and all(g.startswith("Teacher-") for g in groups)  # the substitute, hidden
    everything = "\n".join(texts)
    for teacher in NAMES["teachers"].values():
        assert re.search(rf"\b{teacher}\b", everything) is None, teacher
    _clean(result)
