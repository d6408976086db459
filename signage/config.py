"""Settings: defaults, then `instance/config.py`, then `SIGNAGE_*` environment, then a test dict.

`load_settings(config)` validates the merged Flask config once, at the end of the app factory,
and returns `Settings`. Every problem becomes one line naming the variable and what it expects;
secret values are never echoed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from signage.domain.power import PowerPlan, parse_plan
from signage.sources.options import CHECKS, IDLE_PACED, REQUIRED_SETTINGS
from signage.store.connect import RedisTarget, parse_sentinels

log = logging.getLogger(__name__)

ENV_PREFIX = "SIGNAGE"
DEMO_REFRESH_S = 10  # the demo school lives on loopback; polling it often costs nobody anything
POLITE_REFRESH_S = 60
SECRET_KEYS = frozenset({
    "UNTIS_CLIENT_SECRET", "AFFECTIT_API_KEY", "JSONRPC_PASSWORD", "UNITIME_PASSWORD",
    "UNITIME_TOKEN", "MYTIMETABLE_TOKEN", "REDIS_URL", "SECRET_KEY", "ADMIN_PASSWORD_HASH",
    "STAFF_PASSWORD_HASH",
})
# A werkzeug password hash ("scrypt:32768:8:1$salt$hex", "pbkdf2:sha256:600000$salt$hex").
PASSWORD_HASH = re.compile(r"(scrypt|pbkdf2):[\w:]+\$[^$\s]+\$[0-9a-f]+")
LOOPBACK_HOSTS = re.compile(r"localhost|127(\.\d{1,3}){3}|\[::1\]")

DEFAULTS: dict[str, Any] = {
    "SOURCE": "demo",  # demo | untis | affectit | jsonrpc | unitime | mytimetable | monitor
    "UNTIS_URL": None,  # e.g. https://school.webuntis.com (endpoints under /WebUntis/api/...)
    "UNTIS_TENANT": None,  # tenant id of the token endpoint
    "UNTIS_CLIENT_ID": None,
    "UNTIS_CLIENT_SECRET": None,
    "AFFECTIT_URL": None,  # Affect IT WebUntis API base, e.g. https://api.webuntis.dk/api/
    "AFFECTIT_API_KEY": None,  # the school's key (X-API-KEY)
    "JSONRPC_URL": None,  # classic WebUntis server, e.g. https://mese.webuntis.com
    "JSONRPC_SCHOOL": None,  # the school's login name
    "JSONRPC_USER": None,
    "JSONRPC_PASSWORD": None,
    "UNITIME_URL": None,  # UniTime base, ending in /UniTime
    "UNITIME_USER": None,  # API user (HTTP Basic) ...
    "UNITIME_PASSWORD": None,
    "UNITIME_TOKEN": None,  # ... or an API token instead
    "UNITIME_TERM": None,  # academic session reference; None: the one covering today
    "UNITIME_ROOMS": None,  # comma-separated room names; None: every room of the term
    "MYTIMETABLE_URL": None,  # MyTimetable $base_url (endpoints under /api/v0/)
    "MYTIMETABLE_TOKEN": None,  # the apiToken header
    "MYTIMETABLE_TYPES": None,  # timetable types shown; None: location,studentset
    "MYTIMETABLE_CANCELLED_MARKERS": None,  # words in notes or tag keys that mark a cancellation
    "MONITOR_URL": None,  # WebUntis server of a public list, e.g. https://mese.webuntis.com
    "MONITOR_SCHOOL": None,  # the school's login name (may hold spaces)
    "MONITOR_FORMAT": None,  # the name of the public substitution list (a monitor format)
    "REDIS_URL": None,  # unset: in-memory store
    "REDIS_PREFIX": "signage",  # keys live under this prefix
    "REDIS_SENTINELS": None,  # host:port,host:port,…: the primary comes from Redis Sentinel
    "REDIS_SENTINEL_MASTER": "signage",  # the name the sentinels monitor the primary under
    "LEASE_SECONDS": None,  # leader lease of the sync process; None: 3 x refresh, at least 5
    "REFRESH_SECONDS": None,  # poll interval in school hours; None: 120 (10 for the demo)
    "IDLE_REFRESH_SECONDS": None,  # poll interval outside school hours; None: 900 (10 for demo)
    "SCHOOL_HOURS": "06:30-17:00",  # school-local, on days with periods
    # When boards are awake: auto (45 min before the day's first period to 30 min after its
    # last, on days with periods), always, or HH:MM-HH:MM on days with periods.
    "SCREENS_ON": "auto",
    "DAYS_AHEAD": 7,  # the window holds today .. today + DAYS_AHEAD
    "TIMEZONE": "Europe/Berlin",
    "STALE_AFTER_SECONDS": None,  # None: 3 x refresh + 60
    "SWITCH_DAY_AT": "17:00",  # boards show the next school day after this local time
    "DEFAULT_PROFILE": "public",  # public | staff
    "LANGUAGE": "de",  # de | en | da | nl
    "FULL_RELOAD_AT": "03:00",  # school-local time of the nightly full reload
    "PUBLIC_TEACHER_ABBREVIATIONS": False,  # public profile shows teachers' short names
    "PUBLIC_NOTES": False,  # public profile shows planners' notes (teacher names taken out)
    "ADMIN_PASSWORD_HASH": None,  # from `flask signage hash-password`; unset: no /admin
    "STAFF_PASSWORD_HASH": None,  # a second password that only unlocks the staff profile
    "SECRET_KEY": None,  # signs admin sessions; unset: random per process (memory store only)
    "STATE_FILE": None,  # displays and announcements without Redis; None: instance/state.json
    "COPY_DIR": None,  # with Redis: each host's copy of the last snapshot; None: instance/
    "HSTS_SECONDS": 0,  # Strict-Transport-Security max-age; 0: header off (old kiosks)
    "TRUSTED_PROXIES": 0,  # reverse proxies in front whose X-Forwarded-* headers count
    "AUTH_FAILURE_LIMIT": 3,  # token endpoint refusals in a row before the sync pauses
    "AUTH_PAUSE_SECONDS": 3600,  # how long the sync pauses after that
}
SOURCES = ("demo", *REQUIRED_SETTINGS)
PROFILES = ("public", "staff")
LANGUAGES = ("de", "en", "da", "nl")


class ConfigError(Exception):
    """One or more settings are missing or malformed; the message has one line per problem."""


@dataclass(frozen=True)
class Settings:
    """The validated settings the rest of the app reads."""

    source: str
    tz: ZoneInfo
    refresh_s: int
    idle_refresh_s: int
    stale_after_s: int  # in school hours
    idle_stale_after_s: int  # outside them (the sync polls less often then)
    days_ahead: int
    school_hours: tuple[time, time]
    screens_on: PowerPlan  # when boards are awake (a display may have its own)
    switch_day_at: time
    default_profile: str
    language: str
    full_reload_at: time
    redis_url: str | None
    redis_prefix: str
    lease_s: int
    upstream: Mapping[str, Any]  # the raw settings a source adapter reads
    public_teacher_abbreviations: bool = False
    public_notes: bool = False
    admin_password_hash: str | None = None
    staff_password_hash: str | None = None
    secret_key: str | None = None
    state_file: str | None = None
    copy_dir: str | None = None
    hsts_s: int = 0
    trusted_proxies: int = 0
    auth_failure_limit: int = 3
    auth_pause_s: int = 3600
    redis: RedisTarget | None = None  # where Redis is (None: the in-memory store)


def load_settings(config: Mapping[str, Any]) -> Settings:
    """Validate the merged configuration and return Settings; raise ConfigError on problems."""
    problems: list[str] = []

    def fail(key: str, expected: str) -> None:
        value = config.get(key)
        # A URL may carry user:password@; secrets are never echoed.
        hidden = key in SECRET_KEYS or (key.endswith("_URL") and "@" in str(value))
        shown = "(hidden)" if hidden else repr(value)
        problems.append(f"{ENV_PREFIX}_{key}: expected {expected}, got {shown}")

    source = config.get("SOURCE")
    if not isinstance(source, str) or source not in SOURCES:
        fail("SOURCE", f"one of {', '.join(SOURCES)}")
    for key in REQUIRED_SETTINGS.get(source, ()) if isinstance(source, str) else ():
        if not isinstance(config.get(key), str | int) or config.get(key) == "":
            problems.append(f"{ENV_PREFIX}_{key}: required when {ENV_PREFIX}_SOURCE={source}")
    for key in REQUIRED_SETTINGS.get(source, ()) if isinstance(source, str) else ():
        if key.endswith("_URL") and config.get(key) and not _safe_url(str(config[key])):
            fail(key, "an https:// base URL without user, query or fragment "
                 "(http:// only for loopback)")
    upstream = _upstream_settings(config, source)
    if isinstance(source, str) and source in CHECKS:
        problems.extend(CHECKS[source](upstream))

    def seconds(key: str, default: int, minimum: int = 1) -> int:
        value = config.get(key)
        if value is None:
            return default
        if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            fail(key, f"a whole number >= {minimum}")
            return default
        return value

    demo = source == "demo"
    idle_refresh_s = seconds("IDLE_REFRESH_SECONDS", DEMO_REFRESH_S if demo else 900)
    refresh_s = seconds("REFRESH_SECONDS", DEMO_REFRESH_S if demo else
                        idle_refresh_s if str(source) in IDLE_PACED else 120)
    stale_after_s = seconds("STALE_AFTER_SECONDS", 3 * refresh_s + 60)
    explicit = config.get("STALE_AFTER_SECONDS") is not None
    idle_stale_after_s = stale_after_s if explicit else 3 * idle_refresh_s + 60
    days_ahead = seconds("DAYS_AHEAD", 7, minimum=0)
    if days_ahead > 60:
        fail("DAYS_AHEAD", "a whole number from 0 to 60")
    lease_s = seconds("LEASE_SECONDS", max(3 * refresh_s, 5))
    full_reload_at = _clock(config.get("FULL_RELOAD_AT"))
    if full_reload_at is None:
        fail("FULL_RELOAD_AT", "a time HH:MM")
    tz = _timezone(config.get("TIMEZONE"), fail)
    hours = _hours(config.get("SCHOOL_HOURS"), fail)
    screens_on = parse_plan(str(config.get("SCREENS_ON") or ""))
    if screens_on is None:
        fail("SCREENS_ON", "auto, always or on-hours HH:MM-HH:MM, e.g. 06:30-17:00")
    switch_at = _clock(config.get("SWITCH_DAY_AT"))
    if switch_at is None:
        fail("SWITCH_DAY_AT", "a time HH:MM")
    redis_url = config.get("REDIS_URL")
    if redis_url and not re.match(r"(rediss?|unix)://", str(redis_url)):
        fail("REDIS_URL", "a redis://, rediss:// or unix:// URL")
    target = _redis_target(config, fail)
    profile = config.get("DEFAULT_PROFILE")
    if profile not in PROFILES:
        fail("DEFAULT_PROFILE", f"one of {', '.join(PROFILES)}")
    language = config.get("LANGUAGE")
    if language not in LANGUAGES:
        fail("LANGUAGE", f"one of {', '.join(LANGUAGES)}")
    flags = {key: _flag(config.get(key), key, fail)
             for key in ("PUBLIC_TEACHER_ABBREVIATIONS", "PUBLIC_NOTES")}
    hashes = {}
    for key in ("ADMIN_PASSWORD_HASH", "STAFF_PASSWORD_HASH"):
        hashes[key] = config.get(key) or None
        if hashes[key] is not None and not PASSWORD_HASH.fullmatch(str(hashes[key])):
            fail(key, "a password hash from `flask --app wsgi signage hash-password`")
    secret_key = config.get("SECRET_KEY") or None
    if secret_key is not None and len(str(secret_key)) < 16:
        fail("SECRET_KEY", "a random string of at least 16 characters")
    if secret_key is None and target and (hashes["ADMIN_PASSWORD_HASH"]
                                             or hashes["STAFF_PASSWORD_HASH"]):
        problems.append(f"{ENV_PREFIX}_SECRET_KEY: required with {ENV_PREFIX}_REDIS_URL and a "
                        "password (every worker must sign sessions with the same key)")
    hsts_s = seconds("HSTS_SECONDS", 0, minimum=0)
    trusted_proxies = seconds("TRUSTED_PROXIES", 0, minimum=0)
    auth_failure_limit = seconds("AUTH_FAILURE_LIMIT", 3)
    auth_pause_s = seconds("AUTH_PAUSE_SECONDS", 3600)
    if problems:
        raise ConfigError("\n".join(problems))
    for key, value in (("REFRESH_SECONDS", refresh_s), ("IDLE_REFRESH_SECONDS", idle_refresh_s)):
        if value < POLITE_REFRESH_S and not demo:
            log.warning(
                "%s_%s=%d: polling an upstream more often than every %d s is impolite",
                ENV_PREFIX, key, value, POLITE_REFRESH_S,
            )
    return Settings(
        source=source,
        tz=tz,
        refresh_s=refresh_s,
        idle_refresh_s=idle_refresh_s,
        stale_after_s=stale_after_s,
        idle_stale_after_s=idle_stale_after_s,
        days_ahead=days_ahead,
        school_hours=hours,
        screens_on=screens_on or PowerPlan(),
        switch_day_at=switch_at or time(17),
        default_profile=profile,
        language=language,
        full_reload_at=full_reload_at or time(3),
        redis_url=config.get("REDIS_URL") or None,
        redis=target,
        redis_prefix=str(config.get("REDIS_PREFIX") or "signage"),
        lease_s=lease_s,
        upstream=upstream,
        public_teacher_abbreviations=flags["PUBLIC_TEACHER_ABBREVIATIONS"],
        public_notes=flags["PUBLIC_NOTES"],
        admin_password_hash=hashes["ADMIN_PASSWORD_HASH"],
        staff_password_hash=hashes["STAFF_PASSWORD_HASH"],
        secret_key=secret_key,
        state_file=str(config["STATE_FILE"]) if config.get("STATE_FILE") else None,
        copy_dir=str(config["COPY_DIR"]) if config.get("COPY_DIR") else None,
        hsts_s=hsts_s,
        trusted_proxies=trusted_proxies,
        auth_failure_limit=auth_failure_limit,
        auth_pause_s=auth_pause_s,
    )


def _upstream_settings(config: Mapping[str, Any], source: Any) -> dict[str, str]:
    """Return the set settings of `source` (those starting with its name) as strings."""
    if not isinstance(source, str) or source not in REQUIRED_SETTINGS:
        return {}
    prefix = f"{source.upper()}_"
    return {k: str(v) for k, v in config.items()
            if k.startswith(prefix) and v is not None and v != ""}


def _safe_url(url: str) -> bool:
    """Tell whether an upstream base URL is https (or http on loopback: tests, the demo)."""
    match = re.fullmatch(r"(https?)://([^/\s?#@]+)(/[^\s?#]*)?", url)
    if not match:
        return False
    host = re.sub(r":\d+$", "", match[2])
    return match[1] == "https" or bool(LOOPBACK_HOSTS.fullmatch(host))


def _flag(value: Any, key: str, fail) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    fail(key, "true or false")
    return False


def _redis_target(config: Mapping[str, Any], fail) -> RedisTarget | None:
    """Return where Redis is: the URL's server, or the primary the sentinels name (the URL then
    gives the database and password only); None for the in-memory store."""
    url = config.get("REDIS_URL") or None
    listed = config.get("REDIS_SENTINELS") or None
    master = config.get("REDIS_SENTINEL_MASTER")
    if listed is None:
        return RedisTarget(url=str(url)) if url else None
    sentinels = parse_sentinels(str(listed))
    if sentinels is None:
        fail("REDIS_SENTINELS", "host:port pairs separated by commas, e.g. "
                                "10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379")
    if not isinstance(master, str) or not re.fullmatch(r"[\w.-]{1,64}", master):
        fail("REDIS_SENTINEL_MASTER", "the name the sentinels monitor the primary under")
    if sentinels is None:
        return None
    return RedisTarget(url=str(url) if url else None, sentinels=sentinels, master=str(master))


def _timezone(value: Any, fail) -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder, not a zone
        fail("TIMEZONE", "an IANA time zone such as Europe/Berlin")
        return ZoneInfo("UTC")


def _hours(value: Any, fail) -> tuple[time, time]:
    begin, _, end = str(value).partition("-")
    start_at, end_at = _clock(begin), _clock(end)
    if start_at is None or end_at is None or start_at >= end_at:
        fail("SCHOOL_HOURS", "a range HH:MM-HH:MM")
        return time(6, 30), time(17)
    return start_at, end_at


def _clock(value: Any) -> time | None:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(value))
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    return time(int(match[1]), int(match[2]))
