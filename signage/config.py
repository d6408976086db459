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

from signage.sources import REQUIRED_SETTINGS

log = logging.getLogger(__name__)

ENV_PREFIX = "SIGNAGE"
DEMO_REFRESH_S = 10  # the demo school lives on loopback; polling it often costs nobody anything
POLITE_REFRESH_S = 60
SECRET_KEYS = frozenset({
    "UNTIS_CLIENT_SECRET", "AFFECTIT_API_KEY", "JSONRPC_PASSWORD", "UNITIME_PASSWORD",
    "UNITIME_TOKEN", "MYTIMETABLE_TOKEN", "REDIS_URL",
})

DEFAULTS: dict[str, Any] = {
    "SOURCE": "demo",  # demo | untis
    "UNTIS_URL": None,  # e.g. https://school.webuntis.com (endpoints under /WebUntis/api/...)
    "UNTIS_TENANT": None,  # tenant id of the token endpoint
    "UNTIS_CLIENT_ID": None,
    "UNTIS_CLIENT_SECRET": None,
    "REDIS_URL": None,  # unset: in-memory store
    "REDIS_PREFIX": "signage",  # keys live under this prefix
    "LEASE_SECONDS": None,  # leader lease of the sync process; None: 3 x refresh, at least 5
    "REFRESH_SECONDS": None,  # poll interval in school hours; None: 120 (10 for the demo)
    "IDLE_REFRESH_SECONDS": None,  # poll interval outside school hours; None: 900 (10 for demo)
    "SCHOOL_HOURS": "06:30-17:00",  # school-local, on days with periods
    "DAYS_AHEAD": 7,  # the window holds today .. today + DAYS_AHEAD
    "TIMEZONE": "Europe/Berlin",
    "STALE_AFTER_SECONDS": None,  # None: 3 x refresh + 60
    "SWITCH_DAY_AT": "17:00",  # boards show the next school day after this local time
    "DEFAULT_PROFILE": "public",  # public | staff
    "LANGUAGE": "de",  # de | en | da | nl
    "FULL_RELOAD_AT": "03:00",  # school-local time of the nightly full reload
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
    switch_day_at: time
    default_profile: str
    language: str
    full_reload_at: time
    redis_url: str | None
    redis_prefix: str
    lease_s: int
    upstream: Mapping[str, Any]  # the raw settings a source adapter reads


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
    url = config.get("UNTIS_URL")
    if source == "untis" and url and not re.fullmatch(r"https?://[^/\s?#@]+(/[^\s?#]*)?", str(url)):
        fail("UNTIS_URL", "an http:// or https:// base URL without user, query or fragment")

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
    refresh_s = seconds("REFRESH_SECONDS", DEMO_REFRESH_S if demo else 120)
    idle_refresh_s = seconds("IDLE_REFRESH_SECONDS", DEMO_REFRESH_S if demo else 900)
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
    switch_at = _clock(config.get("SWITCH_DAY_AT"))
    if switch_at is None:
        fail("SWITCH_DAY_AT", "a time HH:MM")
    redis_url = config.get("REDIS_URL")
    if redis_url and not re.match(r"(rediss?|unix)://", str(redis_url)):
        fail("REDIS_URL", "a redis://, rediss:// or unix:// URL")
    profile = config.get("DEFAULT_PROFILE")
    if profile not in PROFILES:
        fail("DEFAULT_PROFILE", f"one of {', '.join(PROFILES)}")
    language = config.get("LANGUAGE")
    if language not in LANGUAGES:
        fail("LANGUAGE", f"one of {', '.join(LANGUAGES)}")
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
        switch_day_at=switch_at or time(17),
        default_profile=profile,
        language=language,
        full_reload_at=full_reload_at or time(3),
        redis_url=config.get("REDIS_URL") or None,
        redis_prefix=str(config.get("REDIS_PREFIX") or "signage"),
        lease_s=lease_s,
        upstream={k: str(config[k]) for k in REQUIRED_SETTINGS.get(source, ())},
    )


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
