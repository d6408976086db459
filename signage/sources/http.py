"""The one factory for HTTP sessions to upstreams: timeouts, polite retries, gzip, a User-Agent.

Retries cover 429/502/503/504 and connection trouble with exponential backoff, honouring
`Retry-After`. A `Retry-After` longer than `MAX_RETRY_AFTER_S` is not slept inside a request:
the answer is handed back so the sync engine can back off for that long without blocking.

Redirects are never followed: every upstream call carries a credential (HTTP Basic, a Bearer
token, an API key), and a redirect would hand it to whichever host the `Location` names.
Adapters pass `allow_redirects=False` and turn a 3xx into a `SourceError` (`describe_redirect`);
the session's `max_redirects = 0` is the safety net for a call that forgets to.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, ReadTimeoutError, ResponseError
from urllib3.util.retry import Retry

from signage.sources.base import SourceError, SourceUnavailable

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
RETRIES = 3
BACKOFF_FACTOR_S = 0.5
RETRY_STATUSES = (429, 502, 503, 504)
USER_AGENT = "signage/0.1 (school substitution boards)"


class PoliteRetry(Retry):
    """urllib3 Retry that hands long `Retry-After` waits back to the caller instead of sleeping."""

    MAX_RETRY_AFTER_S = 30.0

    def increment(self, method=None, url=None, response=None, error=None, _pool=None,
                  _stacktrace=None):
        """Give up at once, handing the answer back, when Retry-After asks for a long wait."""
        if response is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.MAX_RETRY_AFTER_S:
                raise MaxRetryError(_pool, url, ResponseError(f"Retry-After {wait:.0f} s"))
        return super().increment(method, url, response, error, _pool, _stacktrace)


class RedirectError(SourceError):
    """The upstream answered with a redirect, which is never followed (for an upstream without
    credentials, often a login page: the address needs a login)."""


class UpstreamSession(requests.Session):
    """A requests session whose every request carries the configured timeouts."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.timeout = timeout
        self.counts: Counter[str] = Counter()  # "<endpoint> <status>" since the last take
        self._environment: dict[tuple[str, str], dict[str, Any]] = {}  # origin -> settings

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        """Send a request with the session's timeouts; transport failures become one error.

        Requests are counted per endpoint: the path's last segment, or `endpoint=` when the
        path holds a key (one count per timetable would flood /metrics).
        """
        kwargs.setdefault("timeout", self.timeout)
        endpoint = kwargs.pop("endpoint", None) or _path(url).rstrip("/").rsplit("/", 1)[-1]
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.TooManyRedirects as exc:  # max_redirects = 0: nothing was sent onwards
            self.counts[f"{endpoint} {exc.response.status_code}"] += 1
            raise RedirectError(f"{method} {_path(url)}: {describe_redirect(exc.response)}") \
                from None
        except requests.RequestException as exc:
            self.counts[f"{endpoint} error"] += 1
            raise SourceUnavailable(f"{method} {_path(url)}: {_reason(exc)}") from exc
        self.counts[f"{endpoint} {response.status_code}"] += 1
        return response

    def merge_environment_settings(self, url: str, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        """Read the environment's proxies (`*_PROXY`, `NO_PROXY`) and CA bundle once per upstream
        origin instead of at every request: walking the environment twice per request was a
        quarter of a quiet sync cycle's CPU, and it does not change while signage runs."""
        if proxies or stream is not None or verify is not None or cert is not None:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        origin = tuple(urlsplit(url)[:2])
        if origin not in self._environment:
            self._environment[origin] = super().merge_environment_settings(url, {}, None, None,
                                                                            None)
        settings = self._environment[origin]
        return {**settings, "proxies": dict(settings["proxies"])}

    def take_counts(self) -> dict[str, int]:
        """Return the requests counted since the last call, and start counting afresh."""
        counts, self.counts = dict(self.counts), Counter()
        return counts


def make_session(
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    read_timeout_s: float = READ_TIMEOUT_S,
    retries: int = RETRIES,
    backoff_factor_s: float = BACKOFF_FACTOR_S,
) -> UpstreamSession:
    """Return a session with timeouts, retries on 429/5xx honouring Retry-After, and gzip."""
    session = UpstreamSession((connect_timeout_s, read_timeout_s))
    retry = PoliteRetry(
        total=retries,
        backoff_factor=backoff_factor_s,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # the token POST is safe to repeat, too
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.max_redirects = 0
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept-Encoding"] = "gzip"
    session.headers["Accept"] = "application/json"
    return session


def raise_for_status(response: requests.Response, what: str,
                     detail: Callable[[requests.Response], str] = lambda response: "") -> None:
    """Raise the error a non-2xx answer stands for: a redirect (never followed) and other 4xx
    are a `SourceError`, 429 and 5xx `SourceUnavailable` with the answer's Retry-After.
    `detail` adds what the upstream's error body says (asked only for an error). Adapters check
    their own refusals (401/403) first."""
    status = response.status_code
    if 300 <= status < 400:
        raise SourceError(f"{what}: {describe_redirect(response)}")
    if status == 429 or status >= 500:
        raise SourceUnavailable(f"{what}: HTTP {status}{detail(response)}",
                                retry_after_s(response))
    if status >= 400:
        raise SourceError(f"{what}: HTTP {status}{detail(response)}")


def json_of(response: requests.Response, what: str) -> Any:
    """Return the answer's decoded JSON; a body that is no JSON is a `SourceError`, one that
    cannot be read (cut off mid-way, broken gzip) `SourceUnavailable`."""
    try:
        return response.json()
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise SourceError(f"{what}: answer is not valid JSON") from None
    except requests.RequestException as exc:
        # Not chained: the library's text may hold the URL, and a URL may hold a credential.
        raise SourceUnavailable(
            f"{what}: answer could not be read ({type(exc).__name__})") from None


def retry_after_s(response: requests.Response) -> float | None:
    """Return the response's Retry-After in seconds (number or HTTP date), None when absent."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, Retry().parse_retry_after(value))
    except InvalidHeader:  # an unreadable header is no reason to wait
        return None


def describe_redirect(response: requests.Response) -> str:
    """Return one line naming a redirect's status and target host, for the error it becomes."""
    # The host only: a Location's user info, path or query may carry a credential.
    try:
        target = urlsplit(response.headers.get("Location", ""))
        host = f"{target.hostname}:{target.port}" if target.port else target.hostname
    except ValueError:  # a port that is no number
        host = None
    where = f" to {host}" if host else ""
    return (f"HTTP {response.status_code} redirect{where} not followed "
            "(calls that carry credentials never follow redirects)")


def _path(url: str) -> str:
    # Never log a query string: some upstreams take tokens as parameters.
    return requests.utils.urlparse(url).path


def _reason(exc: requests.RequestException) -> str:
    # Once retries are used up, requests reports a read timeout as a ConnectionError.
    cause = exc.args[0] if exc.args else None
    if isinstance(exc, requests.Timeout) or (
        isinstance(cause, MaxRetryError) and isinstance(cause.reason, ReadTimeoutError)
    ):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__
