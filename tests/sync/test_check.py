"""`signage check` run as a real process: against each fake upstream, with a wrong secret, against
a closed port and a server that never answers, and with `--save-sample`."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from signage.demo.server import FakeUntis, Fault
from tests.conftest import BELLS, NAMES, TZ, free_port, live_day, period, untis_settings
from tests.fakes.affectit_server import FakeAffectIt
from tests.fakes.jsonrpc_server import FakeJsonRpc
from tests.fakes.mytimetable_server import FakeMyTimetable
from tests.fakes.unitime_server import FakeUnitime
from tests.system.test_cli import FLASK, ROOT, _env

pytestmark = pytest.mark.system

SECRET = "secret-of-the-school-4711"  # noqa: S105 - the fakes' own
WRONG = "not-the-secret-0815"
# Teachers' real names: none of them may reach a saved sample.
TEACHERS = {1: "Hildegard Vogelsang", 2: "Bernd Kowalczyk", 3: "Ottilie Brandauer"}
SCHOOL = {**NAMES, "teachers": TEACHERS}
NOTE = "Vertretung durch Bernd Kowalczyk"
GIVE_UP_S = 120


@dataclass
class Upstream:
    """A started fake and the SIGNAGE settings (without prefix) that point the check at it."""

    kind: str
    fake: Any
    settings: dict[str, str]
    secret_key: str  # the setting holding the secret
    hint: list[str]  # the settings a refusal names
    board: str  # what the boards show on live_day()
    tokens: Callable[[], set[str]] = field(default=lambda: set())  # credentials handed out

    def wrong(self) -> dict[str, str]:
        return {**self.settings, self.secret_key: WRONG}

    def dead(self) -> dict[str, str]:
        """Return the settings with the URL on a port nobody listens on."""
        key = f"{self.kind.upper()}_URL"
        url = re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{free_port()}", self.settings[key])
        return {**self.settings, key: url}


def _lessons(fake: Any) -> Any:
    """Give a fake (not v3) three classes' two lessons each on live_day(), and start it."""
    for category, names in SCHOOL.items():
        fake.add_names(category, names)
    for cls in (1, 2, 3):
        for unit in (0, 1):
            start, end = BELLS[unit]
            fake.add_lesson(100 + 10 * cls + unit, live_day(), start, end, cls=cls, teacher=cls,
                            room=cls, subject=1)
    return fake


def _untis(day: date | None = None, **options: Any) -> Upstream:
    fake = FakeUntis(TZ, school="Testschule", client_secret=SECRET, **options)
    for category, names in SCHOOL.items():
        fake.add_names(category, names)
    for cls in (1, 2, 3):
        for unit in (0, 1):
            fake.put_period(period(1000 + 10 * cls + unit, day or live_day(), unit, cls=cls,
                                   teacher=cls, room=cls, subject=1))
    fake.update_period(1010, status="CANCELLED", substitutionText=NOTE)
    fake.backdate(list(fake.periods), fake.clock() - timedelta(days=1))
    return Upstream("untis", fake.start(), untis_settings(fake), "UNTIS_CLIENT_SECRET",
                    ["SIGNAGE_UNTIS_CLIENT_ID", "SIGNAGE_UNTIS_CLIENT_SECRET"],
                    "1 change (1 cancelled)", lambda: {r.bearer for r in fake.requests
                                                       if r.bearer})


def _affectit() -> Upstream:
    fake = _lessons(FakeAffectIt(TZ, api_key=SECRET)).start()
    return Upstream("affectit", fake, {"SOURCE": "affectit", "AFFECTIT_URL": fake.url,
                                       "AFFECTIT_API_KEY": SECRET},
                    "AFFECTIT_API_KEY", ["SIGNAGE_AFFECTIT_API_KEY"], "0 changes")


def _jsonrpc() -> Upstream:
    fake = _lessons(FakeJsonRpc(TZ, school="Demo Gymnasium", password=SECRET))
    fake.cancel(110)
    fake.update(110, substText=NOTE)
    settings = {"SOURCE": "jsonrpc", "JSONRPC_URL": fake.start().url,
                "JSONRPC_SCHOOL": "Demo Gymnasium", "JSONRPC_USER": fake.credentials[0],
                "JSONRPC_PASSWORD": SECRET}
    return Upstream("jsonrpc", fake, settings, "JSONRPC_PASSWORD",
                    ["SIGNAGE_JSONRPC_USER", "SIGNAGE_JSONRPC_PASSWORD"],
                    "1 change (1 cancelled)", lambda: {c.session for c in fake.calls
                                                       if c.session})


def _unitime() -> Upstream:
    fake = _lessons(FakeUnitime(TZ, token=SECRET)).start()  # the token rides in the query
    return Upstream("unitime", fake, {"SOURCE": "unitime", **fake.settings(basic=False)},
                    "UNITIME_TOKEN", ["SIGNAGE_UNITIME_USER", "SIGNAGE_UNITIME_PASSWORD",
                                      "SIGNAGE_UNITIME_TOKEN"], "0 changes")


def _mytimetable() -> Upstream:
    fake = _lessons(FakeMyTimetable(TZ, token=SECRET))
    fake.update(110, notes=NOTE)
    fake.start()
    return Upstream("mytimetable", fake, {"SOURCE": "mytimetable", "MYTIMETABLE_URL": fake.url,
                                          "MYTIMETABLE_TOKEN": SECRET},
                    "MYTIMETABLE_TOKEN", ["SIGNAGE_MYTIMETABLE_TOKEN"], "0 changes")


UPSTREAMS = {"untis": _untis, "affectit": _affectit, "jsonrpc": _jsonrpc, "unitime": _unitime,
             "mytimetable": _mytimetable}


@pytest.fixture(params=list(UPSTREAMS))
def upstream(request) -> Iterator[Upstream]:
    """Each fake upstream on the real clock, its school's lessons on live_day()."""
    found = UPSTREAMS[request.param]()
    yield found
    found.fake.stop()


def _check(*args: str, **settings: object) -> tuple[subprocess.CompletedProcess, float]:
    """Run `signage check` as a real process; return it and how long it took."""
    started = time.monotonic()
    result = subprocess.run(FLASK + ["check", *args], cwd=ROOT, env=_env(**settings),
                            capture_output=True, text=True, timeout=3 * GIVE_UP_S, check=False)
    return result, time.monotonic() - started


def _clean(result: subprocess.CompletedProcess, *secrets: str) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    for secret in secrets:
        assert secret not in output


def test_check_reports_what_the_boards_get_and_exits_0(upstream):
    result, _ = _check(**upstream.settings)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"signage check: source {upstream.kind} at http://127.0.0.1:" in out
    assert "credentials: accepted" in out
    assert re.search(r"^window: \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d: 6 periods$", out, re.M), out
    assert "names: 3 classes, 3 rooms, 3 teachers" in out
    assert "time grid: none sent; lesson numbers are counted from start times" in out
    assert re.search(r"^changes.*: (the delta calls work|works)$", out, re.M), out
    assert re.search(r"^upstream clock: (agrees with ours|\d+ s (ahead of|behind) ours)", out,
                     re.M), out
    assert f"boards now show {live_day():%a %Y-%m-%d}: {upstream.board}" in out
    assert out.rstrip().endswith("ok: the source can feed the boards")
    _clean(result, SECRET, *upstream.tokens())


def test_a_wrong_secret_names_the_credentials_settings_and_exits_1(upstream):
    result, _ = _check(**upstream.wrong())
    assert result.returncode == 1, result.stdout
    assert "credentials: refused" in result.stdout
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem: ")]
    assert len(problems) == 1 and all(setting in problems[0] for setting in upstream.hint)
    assert "Error: check: 1 problem; the source cannot feed the boards yet" in result.stderr
    _clean(result, WRONG, SECRET)


def test_a_closed_port_gives_up_at_once_naming_the_url_setting(upstream):
    result, elapsed = _check(**upstream.dead())
    assert result.returncode == 1, result.stdout
    assert elapsed < GIVE_UP_S
    assert re.search(rf"^problem: no answer from the upstream \(.*connection failed\): "
                     rf"check SIGNAGE_{upstream.kind.upper()}_URL", result.stdout, re.M)
    _clean(result, SECRET)


@pytest.fixture
def mute_port() -> Iterator[int]:
    """A port whose server accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


@pytest.mark.parametrize("kind", ["untis", "jsonrpc"])
def test_a_server_that_never_answers_is_given_up_within_two_minutes(kind, mute_port):
    up = UPSTREAMS[kind]()
    up.fake.stop()
    key = f"{kind.upper()}_URL"
    result, elapsed = _check(**{**up.settings, key: f"http://127.0.0.1:{mute_port}"})
    assert elapsed < GIVE_UP_S
    assert result.returncode == 1, result.stdout
    assert "timed out" in result.stdout
    _clean(result, SECRET)


def test_save_sample_writes_the_answers_with_pseudonyms(upstream, tmp_path):
    folder = tmp_path / "sample"
    result, _ = _check("--save-sample", str(folder), **upstream.settings)
    assert result.returncode == 0, result.stdout + result.stderr
    files = sorted(folder.glob("*.json"))
    assert f"sample: {len(files)} answers saved to {folder}" in result.stdout
    assert files and all(re.fullmatch(r"\d{3}-[\w.-]+\.json", f.name) for f in files)
    texts = [f.read_text(encoding="utf-8") for f in files]
    for text in texts:
        json.loads(text)  # each file is the JSON the adapter received
    everything = "\n".join(texts + [f.name for f in files])
    for name in TEACHERS.values():
        for part in name.split():
            assert part not in everything, (upstream.kind, part)
    assert SECRET not in everything
    for token in upstream.tokens():
        assert token not in everything
    # One pseudonym per teacher, the same in every file that names them.
    assert len(set(re.findall(r"Teacher-[0-9a-f]{6}", everything))) == 3
    assert "Hildegard" not in result.stdout
    _clean(result, SECRET)


def test_the_samples_note_names_the_substitute_by_pseudonym(tmp_path):
    up = _untis()
    try:
        result, _ = _check("--save-sample", str(tmp_path), **up.settings)
    finally:
        up.fake.stop()
    assert result.returncode == 0, result.stdout
    answer = json.loads(next(tmp_path.glob("*_v3_timetable.json")).read_text(encoding="utf-8"))
    teachers = {t["id"]: t["displayName"] for t in answer["masterData"]["teachers"]}
    assert all(t["externKey"] == teachers[t["id"]] for t in answer["masterData"]["teachers"])
    notes = [p["substitutionText"] for p in answer["timetableData"]["periods"]
             if p.get("substitutionText")]
    assert notes == [f"Vertretung durch {teachers[2]}"]
    token = json.loads(next(tmp_path.glob("*_token.json")).read_text(encoding="utf-8"))
    assert token["access_token"] == "(hidden)" and token["expires_in"] == 180


@pytest.fixture
def untis() -> Iterator[Callable[..., Upstream]]:
    started: list[Upstream] = []

    def start(**options: Any) -> Upstream:
        started.append(_untis(**options))
        return started[-1]

    yield start
    for up in started:
        up.fake.stop()


def test_a_time_grid_from_the_upstream_is_reported(untis):
    day = live_day()
    while day.weekday() >= 5:  # the fake's grid has Monday to Friday
        day += timedelta(days=1)
    up = untis(day=day)
    up.fake.time_grid = BELLS
    result, _ = _check(**up.settings)
    assert result.returncode == 0, result.stdout
    assert "time grid: from the upstream (2 units)" in result.stdout


def test_a_clock_ten_minutes_off_is_a_warning(untis):
    up = untis(clock=lambda: datetime.now(UTC) + timedelta(minutes=10))
    result, _ = _check(**up.settings)
    assert result.returncode == 0, result.stdout
    assert "upstream clock: 10 min ahead of ours (from its answers)" in result.stdout
    assert "warning: the upstream's clock is 10 min ahead of ours: check this host's time" \
        in result.stdout


def test_no_teachers_in_the_answers_is_a_warning_about_permissions(untis):
    up = untis()
    for pid in list(up.fake.periods):
        up.fake.update_period(pid, teachers=[])
    result, _ = _check(**up.settings)
    assert result.returncode == 0, result.stdout
    assert "names: 3 classes, 3 rooms, 0 teachers" in result.stdout
    assert "warning: no teachers in the answers: the account likely lacks the permission" \
        in result.stdout


def test_a_refused_deleted_periods_call_is_a_problem(untis):
    up = untis()
    up.fake.inject(Fault("deleted", status=403))
    result, _ = _check(**up.settings)
    assert result.returncode == 1, result.stdout
    assert re.search(r"^problem: the delta calls: the upstream refused a call \(GET "
                     r"/timetable/deleted-periods: HTTP 403.*\): the account lacks a permission",
                     result.stdout, re.M), result.stdout
    _clean(result, SECRET)


def test_the_demo_school_passes_the_check():
    result, _ = _check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "signage check: source demo (the built-in demo school)" in result.stdout
    assert "ok: the source can feed the boards" in result.stdout
    _clean(result)


def test_a_missing_setting_is_named_before_any_request():
    result, _ = _check(SOURCE="untis")
    assert result.returncode == 2
    assert "SIGNAGE_UNTIS_URL: required when SIGNAGE_SOURCE=untis" in result.stderr
    _clean(result)


def test_an_unwritable_sample_folder_is_a_problem(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    result, _ = _check("--save-sample", str(blocked / "sample"))
    assert result.returncode == 1
    assert f"problem: cannot write the sample to {blocked / 'sample'}" in result.stdout
    _clean(result)
