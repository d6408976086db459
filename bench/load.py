"""Load generators on loopback: wrk (`run_wrk`), a closed-loop Python fallback (`run_python`),
and a paced open-loop client (`Paced`) whose latencies count from each request's scheduled
time, so a stalled server cannot hide behind a waiting client (coordinated omission)."""

from __future__ import annotations

import http.client
import itertools
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field

CONNECTIONS = 8  # wrk's: 2 workers x 4 threads (gunicorn.conf.py)
VERSION = re.compile(rb'data-version="(\d+)"')


@dataclass
class Load:
    """One load run's throughput and latency."""

    rps: float
    p50_ms: float
    p99_ms: float


def run_wrk(wrk: str, url: str, seconds: float, headers: dict[str, str]) -> Load:
    """Load `url` with wrk (one thread, CONNECTIONS connections); fail on any non-2xx/3xx."""
    args = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--latency",
            "--timeout", "5s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True,  # noqa: S603
                         timeout=seconds + 30, check=True).stdout
    if "Non-2xx" in out or re.search(r"Socket errors: .*[1-9]", out):
        raise RuntimeError(f"wrong answers under load:\n{out}")
    percent = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)$", out, re.MULTILINE))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return Load(rps, _ms(percent["50"]), _ms(percent["99"]))


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}[unit]


def run_python(url: str, seconds: float, headers: dict[str, str], expect: int) -> Load:
    """Load `url` with CONNECTIONS closed-loop threads (the fallback when wrk is missing)."""
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    path = "/" + url.removeprefix("http://").split("/", 1)[1]
    latencies: list[float] = []
    wrong: list[int] = []
    stop_at = time.perf_counter() + seconds

    def worker() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        mine = []
        while (started := time.perf_counter()) < stop_at:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != expect:
                wrong.append(response.status)
        connection.close()
        latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    begun = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if wrong:
        raise RuntimeError(f"wrong answers under load: {sorted(set(wrong))}")
    latencies.sort()
    return Load(len(latencies) / (time.perf_counter() - begun),
                1000 * latencies[len(latencies) // 2], 1000 * latencies[int(len(latencies) * .99)])


@dataclass
class Sample:
    """One paced request: when it was due, sent and answered (time.perf_counter(), which is
    the system's monotonic clock on Linux: comparable between processes), and the ETag and
    snapshot version (a board's `data-version`) it got."""

    due: float
    sent: float
    done: float
    status: int
    etag: str
    version: int | None = None

    @property
    def latency_ms(self) -> float:
        """Return the time from when the request was due to its answer."""
        return 1000 * (self.done - self.due)


@dataclass
class Paced:
    """A paced client: `rate` requests per second, open loop, over `connections` connections."""

    base: str
    path: str
    rate: float
    connections: int = 16
    samples: list[Sample] = field(default_factory=list)

    def run(self, seconds: float) -> list[Sample]:
        """Send requests at the rate for `seconds`; return every sample."""
        host, port = self.base.removeprefix("http://").split(":")
        slots = itertools.count()
        start = time.perf_counter() + 0.05
        end = start + seconds
        lock = threading.Lock()

        def worker() -> None:
            connection = http.client.HTTPConnection(host, int(port), timeout=5)
            mine = []
            while (due := start + next(slots) / self.rate) < end:
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                sent = time.perf_counter()
                connection.request("GET", self.path)
                response = connection.getresponse()
                body = response.read()
                done = time.perf_counter()
                found = VERSION.search(body)
                mine.append(Sample(due, sent, done, response.status,
                                   response.getheader("ETag", ""),
                                   int(found.group(1)) if found else None))
            connection.close()
            with lock:
                self.samples.extend(mine)

        threads = [threading.Thread(target=worker) for _ in range(self.connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return self.samples
