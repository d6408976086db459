"""Configuration: defaults, SIGNAGE_* environment, validation messages, secrets, wsgi start-up.

DESIGN.md §3: a missing or malformed setting stops start-up with one line naming the variable and
what it expects; intervals below 60 s log a politeness warning once; secrets never reach a log line.
The instance/config.py layer is not exercised here: testing it would mean writing into the repo.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from signage import ConfigError, create_app
from signage.config import DEMO_REFRESH_S, Settings

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
SECRET = "s3cr3t-Cl13nt-V4lue"
UNTIS = {
    "SOURCE": "untis",
    "UNTIS_URL": "https://school.webuntis.example",
    "UNTIS_TENANT": "4711",
    "UNTIS_CLIENT_ID": "signage-board",
    "UNTIS_CLIENT_SECRET": SECRET,
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test without SIGNAGE_* variables from the developer's shell."""
    for key in list(os.environ):
        if key.startswith("SIGNAGE_"):
            monkeypatch.delenv(key)


def settings_of(test_config: dict[str, Any] | None = None) -> Settings:
    """Return the validated settings of an app built from `test_config` (None: the environment)."""
    return create_app(test_config).extensions["signage"].settings


def problems_of(test_config: dict[str, Any] | None = None) -> list[str]:
    """Return the lines of the ConfigError that building the app raises."""
    with pytest.raises(ConfigError) as excinfo:
        create_app(test_config)
    return str(excinfo.value).splitlines()


def assert_one_problem(lines: list[str], variable: str, expected: str) -> None:
    """Assert the message is one line, starting with `variable`, that says `expected`."""
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{variable}:"), lines
    assert expected in lines[0], lines


# --- defaults -------------------------------------------------------------------------------


def test_empty_test_config_gives_the_demo_with_documented_defaults():
    settings = settings_of({})
    assert settings.source == "demo"
    assert settings.refresh_s == DEMO_REFRESH_S == 10
    assert settings.idle_refresh_s == DEMO_REFRESH_S
    assert settings.stale_after_s == 3 * DEMO_REFRESH_S + 60
    assert settings.tz.key == "Europe/Berlin"
    assert settings.days_ahead == 7
    assert settings.school_hours == (time(6, 30), time(17, 0))
    assert settings.switch_day_at == time(17, 0)
    assert settings.default_profile == "public"
    assert settings.language == "de"
    assert settings.full_reload_at == time(3, 0)
    assert settings.redis_url is None
    assert dict(settings.upstream) == {}


def test_untis_defaults_poll_every_two_minutes_and_go_stale_after_three_missed_polls():
    settings = settings_of(dict(UNTIS))
    assert settings.source == "untis"
    assert settings.refresh_s == 120
    assert settings.idle_refresh_s == 900
    assert settings.stale_after_s == 3 * 120 + 60
    assert dict(settings.upstream) == {k: v for k, v in UNTIS.items() if k != "SOURCE"}


def test_stale_after_follows_a_configured_refresh():
    assert settings_of({"REFRESH_SECONDS": 30}).stale_after_s == 3 * 30 + 60


def test_explicit_stale_after_wins_over_the_derived_one():
    assert settings_of({"REFRESH_SECONDS": 30, "STALE_AFTER_SECONDS": 1000}).stale_after_s == 1000


def test_digit_strings_are_accepted_as_whole_numbers():
    settings = settings_of({"REFRESH_SECONDS": " 45 ", "DAYS_AHEAD": "0"})
    assert settings.refresh_s == 45
    assert settings.days_ahead == 0


# --- environment ----------------------------------------------------------------------------


def test_environment_values_are_read_without_a_test_config(monkeypatch: pytest.MonkeyPatch):
    env = {
        "SIGNAGE_REFRESH_SECONDS": "30",
        "SIGNAGE_IDLE_REFRESH_SECONDS": "600",
        "SIGNAGE_DAYS_AHEAD": "3",
        "SIGNAGE_TIMEZONE": "Europe/Copenhagen",
        "SIGNAGE_SCHOOL_HOURS": "07:15-16:00",
        "SIGNAGE_SWITCH_DAY_AT": "15:30",
        "SIGNAGE_DEFAULT_PROFILE": "staff",
        "SIGNAGE_LANGUAGE": "da",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = settings_of()
    assert settings.source == "demo"
    assert settings.refresh_s == 30
    assert settings.idle_refresh_s == 600
    assert settings.stale_after_s == 3 * 30 + 60
    assert settings.days_ahead == 3
    assert settings.tz.key == "Europe/Copenhagen"
    assert settings.school_hours == (time(7, 15), time(16, 0))
    assert settings.switch_day_at == time(15, 30)
    assert settings.default_profile == "staff"
    assert settings.language == "da"


def test_untis_settings_are_picked_up_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    for key, value in UNTIS.items():
        monkeypatch.setenv(f"SIGNAGE_{key}", value)
    settings = settings_of()
    assert settings.source == "untis"
    assert settings.refresh_s == 120
    assert dict(settings.upstream) == {k: v for k, v in UNTIS.items() if k != "SOURCE"}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("UNTIS_TENANT", "4711", id="numeric tenant id"),
        pytest.param("UNTIS_CLIENT_SECRET", "1234567890", id="all-digit secret"),
        pytest.param("UNTIS_CLIENT_SECRET", "12e4", id="hex-looking secret that reads as a float"),
        pytest.param("UNTIS_CLIENT_SECRET", "-0", id="secret that reads as the number zero"),
    ],
)
def test_untis_credentials_from_the_environment_are_taken_verbatim(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str
):
    for name, setting in (UNTIS | {key: value}).items():
        monkeypatch.setenv(f"SIGNAGE_{name}", setting)
    assert settings_of().upstream[key] == value


def test_test_config_ignores_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SIGNAGE_REFRESH_SECONDS", "abc")
    assert settings_of({}).refresh_s == DEMO_REFRESH_S


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "variable", "expected"),
    [
        pytest.param({"REFRESH_SECONDS": "abc"}, "SIGNAGE_REFRESH_SECONDS", "whole number",
                     id="refresh not a number"),
        pytest.param({"REFRESH_SECONDS": "0"}, "SIGNAGE_REFRESH_SECONDS", "whole number >= 1",
                     id="refresh zero"),
        pytest.param({"REFRESH_SECONDS": 0}, "SIGNAGE_REFRESH_SECONDS", "whole number >= 1",
                     id="refresh zero as int"),
        pytest.param({"REFRESH_SECONDS": -30}, "SIGNAGE_REFRESH_SECONDS", "whole number >= 1",
                     id="refresh negative"),
        pytest.param({"REFRESH_SECONDS": "-30"}, "SIGNAGE_REFRESH_SECONDS", "whole number",
                     id="refresh negative string"),
        pytest.param({"REFRESH_SECONDS": True}, "SIGNAGE_REFRESH_SECONDS", "whole number",
                     id="refresh bool"),
        pytest.param({"REFRESH_SECONDS": 2.5}, "SIGNAGE_REFRESH_SECONDS", "whole number",
                     id="refresh fractional"),
        pytest.param({"IDLE_REFRESH_SECONDS": "often"}, "SIGNAGE_IDLE_REFRESH_SECONDS",
                     "whole number", id="idle refresh not a number"),
        pytest.param({"STALE_AFTER_SECONDS": 0}, "SIGNAGE_STALE_AFTER_SECONDS", "whole number",
                     id="stale after zero"),
        pytest.param({"SOURCE": "moodle"}, "SIGNAGE_SOURCE", "one of demo, untis",
                     id="unknown source"),
        pytest.param({"SOURCE": ["untis"]}, "SIGNAGE_SOURCE", "one of demo, untis",
                     id="source not a name"),
        pytest.param({**UNTIS, "UNTIS_URL": None}, "SIGNAGE_UNTIS_URL", "required",
                     id="untis without URL"),
        pytest.param({**UNTIS, "UNTIS_URL": ""}, "SIGNAGE_UNTIS_URL", "required",
                     id="untis with empty URL"),
        pytest.param({**UNTIS, "UNTIS_TENANT": None}, "SIGNAGE_UNTIS_TENANT", "required",
                     id="untis without tenant"),
        pytest.param({**UNTIS, "UNTIS_CLIENT_ID": None}, "SIGNAGE_UNTIS_CLIENT_ID", "required",
                     id="untis without client id"),
        pytest.param({**UNTIS, "UNTIS_CLIENT_SECRET": None}, "SIGNAGE_UNTIS_CLIENT_SECRET",
                     "required", id="untis without client secret"),
        pytest.param({**UNTIS, "UNTIS_URL": "school.webuntis.com"}, "SIGNAGE_UNTIS_URL",
                     "an https:// base URL", id="URL without scheme"),
        pytest.param({**UNTIS, "UNTIS_URL": "ftp://school.webuntis.com"}, "SIGNAGE_UNTIS_URL",
                     "an https:// base URL", id="URL not http"),
        pytest.param({**UNTIS, "UNTIS_URL": "http://school.webuntis.com"}, "SIGNAGE_UNTIS_URL",
                     "http:// only for loopback", id="plain http to a remote host"),
        pytest.param({**UNTIS, "UNTIS_URL": "http://127.0.0.1.evil.example"},
                     "SIGNAGE_UNTIS_URL", "http:// only for loopback",
                     id="plain http to a host that starts like loopback"),
        pytest.param({"PUBLIC_NOTES": "sometimes"}, "SIGNAGE_PUBLIC_NOTES", "true or false",
                     id="public notes not a flag"),
        pytest.param({"ADMIN_PASSWORD_HASH": "hunter2"}, "SIGNAGE_ADMIN_PASSWORD_HASH",
                     "hash-password", id="admin password in plain text"),
        pytest.param({"SECRET_KEY": "short"}, "SIGNAGE_SECRET_KEY", "at least 16",
                     id="secret key too short"),
        pytest.param({"REDIS_URL": "redis://127.0.0.1:6379/0",
                      "ADMIN_PASSWORD_HASH": "scrypt:32768:8:1$abc$0123abcd"},
                     "SIGNAGE_SECRET_KEY", "every worker", id="Redis and admin without a key"),
        pytest.param({"HSTS_SECONDS": "-1"}, "SIGNAGE_HSTS_SECONDS", "whole number",
                     id="negative HSTS"),
        pytest.param({"AUTH_FAILURE_LIMIT": "0"}, "SIGNAGE_AUTH_FAILURE_LIMIT", "whole number",
                     id="auth failure limit zero"),
        pytest.param({"REFRESH_SECONDS": "²"}, "SIGNAGE_REFRESH_SECONDS", "whole number",
                     id="refresh a superscript digit"),
        pytest.param({**UNTIS, "UNTIS_URL": "https://s.webuntis.com/?token=abc"},
                     "SIGNAGE_UNTIS_URL", "without user, query or fragment", id="URL with query"),
        pytest.param({**UNTIS, "UNTIS_URL": "https://u:pw@s.webuntis.com"},
                     "SIGNAGE_UNTIS_URL", "without user, query or fragment", id="URL with user"),
        pytest.param({"FULL_RELOAD_AT": "nightly"}, "SIGNAGE_FULL_RELOAD_AT", "HH:MM",
                     id="full reload at not a time"),
        pytest.param({"TIMEZONE": "Mars/Olympus"}, "SIGNAGE_TIMEZONE", "IANA time zone",
                     id="unknown timezone"),
        pytest.param({"TIMEZONE": "Europe"}, "SIGNAGE_TIMEZONE", "IANA time zone",
                     id="timezone region without city"),
        pytest.param({"TIMEZONE": "../etc/passwd"}, "SIGNAGE_TIMEZONE", "IANA time zone",
                     id="timezone path"),
        pytest.param({"SCHOOL_HOURS": "7-17"}, "SIGNAGE_SCHOOL_HOURS", "HH:MM-HH:MM",
                     id="school hours without minutes"),
        pytest.param({"SCHOOL_HOURS": "17:00-06:00"}, "SIGNAGE_SCHOOL_HOURS", "HH:MM-HH:MM",
                     id="school hours reversed"),
        pytest.param({"SCHOOL_HOURS": "08:00"}, "SIGNAGE_SCHOOL_HOURS", "HH:MM-HH:MM",
                     id="school hours without end"),
        pytest.param({"SWITCH_DAY_AT": "25:00"}, "SIGNAGE_SWITCH_DAY_AT", "HH:MM",
                     id="switch day at hour 25"),
        pytest.param({"SWITCH_DAY_AT": "16:75"}, "SIGNAGE_SWITCH_DAY_AT", "HH:MM",
                     id="switch day at minute 75"),
        pytest.param({"DEFAULT_PROFILE": "admin"}, "SIGNAGE_DEFAULT_PROFILE", "public, staff",
                     id="unknown profile"),
        pytest.param({"LANGUAGE": "fr"}, "SIGNAGE_LANGUAGE", "de, en, da, nl",
                     id="unsupported language"),
        pytest.param({"DAYS_AHEAD": 61}, "SIGNAGE_DAYS_AHEAD", "0 to 60", id="days ahead 61"),
        pytest.param({"SCREENS_ON": "nights"}, "SIGNAGE_SCREENS_ON", "auto, always or on-hours",
                     id="screens on: an unknown word"),
        pytest.param({"SCREENS_ON": "17:00-06:30"}, "SIGNAGE_SCREENS_ON", "HH:MM-HH:MM",
                     id="screens on: hours reversed"),
        pytest.param({"DAYS_AHEAD": -1}, "SIGNAGE_DAYS_AHEAD", "whole number",
                     id="days ahead negative"),
    ],
)
def test_malformed_setting_is_one_line_naming_the_variable(
    config: dict[str, Any], variable: str, expected: str
):
    assert_one_problem(problems_of(config), variable, expected)


@pytest.mark.parametrize(
    ("env", "variable", "expected"),
    [
        pytest.param({"SIGNAGE_REFRESH_SECONDS": "abc"}, "SIGNAGE_REFRESH_SECONDS",
                     "whole number", id="refresh not a number"),
        pytest.param({"SIGNAGE_REFRESH_SECONDS": "0"}, "SIGNAGE_REFRESH_SECONDS",
                     "whole number >= 1", id="refresh zero"),
        pytest.param({"SIGNAGE_REFRESH_SECONDS": "-5"}, "SIGNAGE_REFRESH_SECONDS",
                     "whole number >= 1", id="refresh negative"),
        pytest.param({"SIGNAGE_REFRESH_SECONDS": "true"}, "SIGNAGE_REFRESH_SECONDS",
                     "whole number", id="refresh bool"),
        pytest.param({"SIGNAGE_REFRESH_SECONDS": "30.5"}, "SIGNAGE_REFRESH_SECONDS",
                     "whole number", id="refresh fractional"),
        pytest.param({"SIGNAGE_SOURCE": "webuntis"}, "SIGNAGE_SOURCE", "one of demo, untis",
                     id="unknown source"),
        pytest.param({"SIGNAGE_SOURCE": '["untis"]'}, "SIGNAGE_SOURCE", "one of demo, untis",
                     id="source that reads as a JSON list"),
        pytest.param({"SIGNAGE_DAYS_AHEAD": "61"}, "SIGNAGE_DAYS_AHEAD", "0 to 60",
                     id="days ahead 61"),
        pytest.param({"SIGNAGE_TIMEZONE": "Berlin"}, "SIGNAGE_TIMEZONE", "IANA time zone",
                     id="timezone city only"),
        pytest.param({"SIGNAGE_LANGUAGE": "fr"}, "SIGNAGE_LANGUAGE", "de, en, da, nl",
                     id="unsupported language"),
    ],
)
def test_malformed_environment_variable_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str, expected: str
):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert_one_problem(problems_of(), variable, expected)


def test_untis_without_any_credentials_names_each_missing_variable():
    lines = problems_of({"SOURCE": "untis"})
    assert sorted(line.split(":")[0] for line in lines) == [
        "SIGNAGE_UNTIS_CLIENT_ID",
        "SIGNAGE_UNTIS_CLIENT_SECRET",
        "SIGNAGE_UNTIS_TENANT",
        "SIGNAGE_UNTIS_URL",
    ]
    assert all("required when SIGNAGE_SOURCE=untis" in line for line in lines), lines


def test_several_problems_give_one_line_each():
    lines = problems_of({
        "REFRESH_SECONDS": "abc",
        "LANGUAGE": "fr",
        "SWITCH_DAY_AT": "25:00",
        "DEFAULT_PROFILE": "admin",
    })
    assert len(lines) == 4, lines
    assert {line.split(":")[0] for line in lines} == {
        "SIGNAGE_REFRESH_SECONDS",
        "SIGNAGE_LANGUAGE",
        "SIGNAGE_SWITCH_DAY_AT",
        "SIGNAGE_DEFAULT_PROFILE",
    }
    assert all("expected" in line for line in lines), lines


def test_the_problem_line_shows_the_offending_value():
    (line,) = problems_of({"LANGUAGE": "fr"})
    assert "'fr'" in line


def test_intervals_down_to_one_second_are_accepted():
    settings = settings_of({"REFRESH_SECONDS": 1, "IDLE_REFRESH_SECONDS": 1,
                            "STALE_AFTER_SECONDS": 1})
    assert (settings.refresh_s, settings.idle_refresh_s, settings.stale_after_s) == (1, 1, 1)


# --- secrets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param([SECRET], id="list"),
        pytest.param({"value": SECRET}, id="mapping"),
        pytest.param(31415.9265, id="float"),
        pytest.param(b"s3cr3t-bytes", id="bytes"),
    ],
)
def test_malformed_client_secret_is_not_echoed(secret: Any):
    lines = problems_of({**UNTIS, "UNTIS_CLIENT_SECRET": secret})
    message = "\n".join(lines)
    assert any(line.startswith("SIGNAGE_UNTIS_CLIENT_SECRET:") for line in lines), lines
    assert str(secret) not in message
    assert repr(secret) not in message
    assert "s3cr3t" not in message


def test_client_secret_is_not_echoed_when_other_settings_are_wrong():
    lines = problems_of({**UNTIS, "UNTIS_URL": "gopher://x", "REFRESH_SECONDS": "abc"})
    assert len(lines) == 2, lines
    assert SECRET not in "\n".join(lines)


def test_client_secret_from_the_environment_is_not_echoed(monkeypatch: pytest.MonkeyPatch):
    for key, value in (UNTIS | {"UNTIS_URL": "not a url"}).items():
        monkeypatch.setenv(f"SIGNAGE_{key}", value)
    lines = problems_of()
    assert_one_problem(lines, "SIGNAGE_UNTIS_URL", "an https:// base URL")
    assert SECRET not in "\n".join(lines)


def test_a_malformed_redis_url_is_named_without_its_password(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SIGNAGE_REDIS_URL", "http://:Pa55w0rd-redis@cache.internal:6379/0")
    lines = problems_of()
    assert_one_problem(lines, "SIGNAGE_REDIS_URL", "redis://")
    assert "Pa55w0rd-redis" not in lines[0]


def test_a_redis_url_selects_the_redis_store_without_connecting():
    # Nothing listens there: building the app must not touch the network.
    app = create_app({"REDIS_URL": "redis://:Pa55w0rd-redis@127.0.0.1:9/0", "REDIS_PREFIX": "s1"})
    settings = app.extensions["signage"].settings
    assert settings.redis_url.startswith("redis://") and settings.redis_prefix == "s1"
    assert type(app.extensions["signage"].store).__name__ == "RedisStore"


@pytest.mark.parametrize("listed", ["10.0.0.1", "10.0.0.1:26379,", "h:0", "h:port", ":26379",
                                    "h:26379;h2:26379"])
def test_malformed_sentinels_are_named(monkeypatch: pytest.MonkeyPatch, listed: str):
    monkeypatch.setenv("SIGNAGE_REDIS_SENTINELS", listed)
    assert_one_problem(problems_of(), "SIGNAGE_REDIS_SENTINELS", "host:port pairs")


def test_a_malformed_sentinel_master_name_is_named(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SIGNAGE_REDIS_SENTINELS", "127.0.0.1:26379")
    monkeypatch.setenv("SIGNAGE_REDIS_SENTINEL_MASTER", "my master")
    assert_one_problem(problems_of(), "SIGNAGE_REDIS_SENTINEL_MASTER", "the name")


def test_sentinels_select_redis_with_the_urls_database_and_password_and_no_connection():
    # Nothing listens there: building the app must not touch the network.
    app = create_app({"REDIS_SENTINELS": "127.0.0.1:9, [::1]:10",
                      "REDIS_URL": "redis://:Pa55w0rd-redis@ignored.host:6379/3"})
    target = app.extensions["signage"].settings.redis
    assert target.sentinels == (("127.0.0.1", 9), ("::1", 10)) and target.master == "signage"
    client = target.fast()
    assert client.connection_pool.service_name == "signage"
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["db"], kwargs["password"]) == (3, "Pa55w0rd-redis")
    assert type(app.extensions["signage"].store).__name__ == "RedisStore"
    cache = app.extensions["cache"]
    assert any(type(c).__name__ == "RedisSentinelCache" for c in cache.values())


# --- politeness warning ---------------------------------------------------------------------


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_fast_polling_of_untis_logs_one_politeness_warning(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO):
        settings = settings_of({**UNTIS, "REFRESH_SECONDS": 30})
    assert settings.refresh_s == 30
    records = warnings_in(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].levelno == logging.WARNING
    message = records[0].getMessage()
    assert "SIGNAGE_REFRESH_SECONDS" in message
    assert "30" in message
    assert SECRET not in message


def test_polite_untis_polling_logs_no_warning(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO):
        settings_of({**UNTIS, "REFRESH_SECONDS": 60})
    assert warnings_in(caplog) == []


@pytest.mark.parametrize("refresh", [None, 1, 30])
def test_the_demo_never_logs_a_politeness_warning(
    caplog: pytest.LogCaptureFixture, refresh: int | None
):
    with caplog.at_level(logging.INFO):
        settings_of({"REFRESH_SECONDS": refresh})
    assert warnings_in(caplog) == []


# --- wsgi start-up --------------------------------------------------------------------------


@pytest.mark.system
def test_wsgi_with_malformed_refresh_exits_2_with_one_problem_line():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNAGE_")}
    env["SIGNAGE_REFRESH_SECONDS"] = "abc"
    python = str(VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable))
    result = subprocess.run(  # noqa: S603 - a fixed interpreter and argument list
        [python, "-c", "import wsgi"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "signage: SIGNAGE_REFRESH_SECONDS: expected a whole number >= 1, got 'abc'"
    ]


def test_plain_text_password_in_the_hash_setting_is_not_echoed():
    lines = problems_of({"ADMIN_PASSWORD_HASH": "hunter2", "STAFF_PASSWORD_HASH": "lehrer"})
    assert len(lines) == 2, lines
    assert "hunter2" not in "\n".join(lines) and "lehrer" not in "\n".join(lines)


@pytest.mark.parametrize("url", ["https://school.webuntis.com", "http://127.0.0.1:8123",
                                 "http://localhost:9000/prefix", "http://[::1]:8080"])
def test_upstream_url_is_https_or_loopback(url: str):
    assert settings_of({**UNTIS, "UNTIS_URL": url}).upstream["UNTIS_URL"] == url


AFFECTIT = {"SOURCE": "affectit", "AFFECTIT_URL": "https://api.webuntis.dk/api/",
            "AFFECTIT_API_KEY": "affectit-Key-0815"}
JSONRPC = {"SOURCE": "jsonrpc", "JSONRPC_URL": "https://mese.webuntis.com",
           "JSONRPC_SCHOOL": "Demo Gymnasium", "JSONRPC_USER": "signage",
           "JSONRPC_PASSWORD": "jsonrpc-Pass-0815"}


@pytest.mark.parametrize("config", [AFFECTIT, JSONRPC], ids=["affectit", "jsonrpc"])
def test_each_source_names_every_missing_setting_on_its_own_line(config: dict[str, Any]):
    source = config["SOURCE"]
    lines = problems_of({"SOURCE": source})
    assert sorted(line.split(":")[0] for line in lines) == sorted(
        f"SIGNAGE_{key}" for key in config if key != "SOURCE")
    assert all(f"required when SIGNAGE_SOURCE={source}" in line for line in lines), lines
    assert settings_of(config).source == source


@pytest.mark.parametrize(("config", "key"), [(AFFECTIT, "AFFECTIT_URL"), (JSONRPC, "JSONRPC_URL")])
def test_each_source_refuses_a_plain_http_url_to_another_host(config: dict[str, Any], key: str):
    assert_one_problem(problems_of({**config, key: "http://webuntis.example.org"}),
                       f"SIGNAGE_{key}", "https://")


@pytest.mark.parametrize(("config", "secret"), [(AFFECTIT, "AFFECTIT_API_KEY"),
                                                (JSONRPC, "JSONRPC_PASSWORD")])
def test_a_source_secret_is_not_echoed_when_malformed(config: dict[str, Any], secret: str):
    lines = problems_of({**config, secret: ["not", "a", "string", config[secret]]})
    assert_one_problem(lines, f"SIGNAGE_{secret}", "required")
    assert config[secret] not in "\n".join(lines)


UNITIME = {"SOURCE": "unitime", "UNITIME_URL": "https://unitime.example.edu/UniTime",
           "UNITIME_USER": "api", "UNITIME_PASSWORD": "unitime-Pass-0815"}
MYTIMETABLE = {"SOURCE": "mytimetable", "MYTIMETABLE_URL": "https://rooster.example.nl",
               "MYTIMETABLE_TOKEN": "mytimetable-Token-0815"}


def test_unitime_takes_a_token_instead_of_user_and_password():
    config = {**UNITIME, "UNITIME_USER": None, "UNITIME_PASSWORD": None,
              "UNITIME_TOKEN": "unitime-Token-0815", "UNITIME_ROOMS": "EDUC 101, PHYS 112"}
    upstream = settings_of(config).upstream
    assert upstream["UNITIME_TOKEN"] == "unitime-Token-0815"
    assert upstream["UNITIME_ROOMS"] == "EDUC 101, PHYS 112"
    assert "UNITIME_USER" not in upstream


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        pytest.param({"UNITIME_USER": None, "UNITIME_PASSWORD": None}, "SIGNAGE_UNITIME_USER",
                     id="neither a user nor a token"),
        pytest.param({"UNITIME_PASSWORD": None}, "SIGNAGE_UNITIME_PASSWORD",
                     id="a user without a password"),
        pytest.param({"UNITIME_ROOMS": " , "}, "SIGNAGE_UNITIME_ROOMS", id="rooms without names"),
        pytest.param({"UNITIME_URL": "http://unitime.example.edu/UniTime"},
                     "SIGNAGE_UNITIME_URL", id="plain http to another host"),
    ],
)
def test_a_unusable_unitime_setting_is_one_line_naming_it(change: dict, variable: str):
    lines = problems_of({**UNITIME, **change})
    assert len(lines) == 1 and lines[0].startswith(f"{variable}:"), lines
    assert "unitime-Pass-0815" not in lines[0]


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        pytest.param({"MYTIMETABLE_TOKEN": None}, "SIGNAGE_MYTIMETABLE_TOKEN", id="no token"),
        pytest.param({"MYTIMETABLE_TYPES": "location,spaceship"}, "SIGNAGE_MYTIMETABLE_TYPES",
                     id="an unknown timetable type"),
        pytest.param({"MYTIMETABLE_CANCELLED_MARKERS": " , "},
                     "SIGNAGE_MYTIMETABLE_CANCELLED_MARKERS", id="markers without words"),
    ],
)
def test_a_unusable_mytimetable_setting_is_one_line_naming_it(change: dict, variable: str):
    lines = problems_of({**MYTIMETABLE, **change})
    assert len(lines) == 1 and lines[0].startswith(f"{variable}:"), lines
    assert "mytimetable-Token-0815" not in lines[0]


def test_mytimetable_polls_at_the_idle_interval_unless_told_to_poll_faster():
    assert settings_of(MYTIMETABLE).refresh_s == 900
    assert settings_of({**MYTIMETABLE, "IDLE_REFRESH_SECONDS": 1800}).refresh_s == 1800
    assert settings_of({**MYTIMETABLE, "REFRESH_SECONDS": 300}).refresh_s == 300
    assert settings_of(UNITIME).refresh_s == 120
