"""The benchmarks' production stack, all real processes on loopback: a throwaway redis-server,
the demo school on the fake WebUntis v3 server (in the calling process, on the real clock), the
sync process (`flask --app wsgi signage sync`, or one `--once` cycle) and `gunicorn wsgi:app`
with two workers and the repo's gunicorn.conf.py. Each start registers its stop on an ExitStack.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import redis

from signage.demo.school import DemoSchool
from signage.demo.server import FakeUntis

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Europe/Berlin")
GUNICORN = Path(sys.executable).with_name("gunicorn")
FLASK_SIGNAGE = [sys.executable, "-m", "flask", "--app", "wsgi", "signage"]


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(stack: contextlib.ExitStack, folder: Path) -> str:
    """Start a throwaway redis-server on a free loopback port; return its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is missing: apt-get install redis-server")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack.callback(_stop, process)
    url = f"redis://127.0.0.1:{port}/0"
    with redis.Redis.from_url(url) as client:
        until(lambda: _pings(client), 10, "redis-server did not start")
    return url


def start_upstream(stack: contextlib.ExitStack) -> tuple[FakeUntis, DemoSchool]:
    """Start the demo school on the fake WebUntis v3 server, on the real clock."""
    fake = FakeUntis(TZ).start()
    stack.callback(fake.stop)
    return fake, DemoSchool(fake)


def signage_env(fake: FakeUntis, redis_url: str, port: int, **settings: str) -> dict[str, str]:
    """Return an environment for our processes: the untis source on `fake`, Redis, the bind
    (pass COPY_DIR, the run's folder, to keep the saved snapshot copy out of instance/)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNAGE_")}
    client_id, secret = fake.credentials
    env.update(SIGNAGE_SOURCE="untis", SIGNAGE_UNTIS_URL=fake.url,
               SIGNAGE_UNTIS_TENANT=fake.tenant, SIGNAGE_UNTIS_CLIENT_ID=client_id,
               SIGNAGE_UNTIS_CLIENT_SECRET=secret, SIGNAGE_REDIS_URL=redis_url,
               SIGNAGE_SECRET_KEY="bench-" + "x" * 32, SIGNAGE_BIND=f"127.0.0.1:{port}",
               SIGNAGE_SCREENS_ON="always")  # the figures are of awake boards, at any hour
    env.update({f"SIGNAGE_{k}": v for k, v in settings.items()})
    return env


def sync_once(env: dict[str, str]) -> None:
    """Run one real `flask --app wsgi signage sync --once` into Redis."""
    done = subprocess.run([*FLASK_SIGNAGE, "sync", "--once"], cwd=ROOT, env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"sync --once failed: {done.stderr.strip()[-500:]}")


def start_sync(stack: contextlib.ExitStack, env: dict[str, str], log: Path) -> None:
    """Start the sync process (`flask --app wsgi signage sync`), logging to `log`."""
    out = stack.enter_context(log.open("w"))
    process = subprocess.Popen([*FLASK_SIGNAGE, "sync"], cwd=ROOT, env=env,  # noqa: S603
                               stdout=out, stderr=subprocess.STDOUT)
    stack.callback(_stop, process)


def start_gunicorn(stack: contextlib.ExitStack, env: dict[str, str], log: Path) -> str:
    """Start `gunicorn -w 2 wsgi:app` with the repo's gunicorn.conf.py; return its base URL."""
    out = stack.enter_context(log.open("w"))  # the access log: production writes one too
    # A control socket of its own: the default (~/.gunicorn/gunicorn.ctl) is one per user.
    command = [str(GUNICORN), "-w", "2", "--control-socket", str(log.with_suffix(".ctl")),
               "wsgi:app"]
    process = subprocess.Popen(command, cwd=ROOT, env=env,  # noqa: S603
                               stdout=out, stderr=subprocess.STDOUT)
    stack.callback(_stop, process)
    base = f"http://{env['SIGNAGE_BIND']}"

    def answering() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {log}")
        return get(base, "/robots.txt")[0] == 200

    until(answering, 30, f"gunicorn did not answer; see {log}")
    return base


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def until(check, timeout_s: float, message: str):
    """Return the first truthy result of `check`; raise RuntimeError(message) at the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise RuntimeError(message)


def get(base: str, path: str, headers: dict[str, str] | None = None,
        timeout_s: float = 5) -> tuple[int, dict[str, str], bytes]:
    """GET one URL; (0, {}, b"") when the server cannot be reached."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout_s)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    except OSError:
        return 0, {}, b""
    finally:
        connection.close()
