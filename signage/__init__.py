"""signage: substitution boards for schools.

`create_app(test_config=None)` wires the app: settings, the store, blueprints and CLI commands.
It does no I/O and starts no threads; the sync process starts from `flask signage serve|sync`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask

from signage.config import DEFAULTS, ENV_PREFIX, ConfigError, Settings, load_settings
from signage.runtime import Runtime, utc_now
from signage.store import MemoryStore, Store
from signage.store.gate import Gate
from signage.store.redis_store import RedisStore
from signage.store.registry import MemoryRegistry, Registry
from signage.store.registry_redis import RedisRegistry
from signage.store.watch import Watch, channel_of
from signage.views.caching import init_cache
from signage.views.i18n import init_babel

__version__ = "0.5.0"

STATE_FILE = "state.json"  # displays and announcements in embedded mode

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None, *, store: Store | None = None,
               registry: Registry | None = None,
               clock: Callable[[], datetime] | None = None) -> Flask:
    """Create the Flask app: defaults, instance/config.py and SIGNAGE_* env, or `test_config`.

    The collaborators the settings would make may be given instead (tests give real parts of
    their own: a store a test's engine writes, a frozen clock): `store`, `registry`, `clock`.
    """
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        # Keep values as written: JSON-decoding would turn a secret like "12e4" into a float.
        app.config.from_prefixed_env(ENV_PREFIX, loads=str)
    else:
        app.config.from_mapping(test_config)
    settings = load_settings(app.config)
    gate = Gate()
    made_store, made_registry = (None, None) if store and registry else _store(
        settings, Path(app.instance_path), gate)
    app.extensions["signage"] = Runtime(settings=settings, store=store or made_store,
                                        registry=registry or made_registry, gate=gate,
                                        clock=clock or utc_now)
    init_babel(app)
    init_cache(app, settings)

    from signage import cli
    from signage.views import (
        access,
        admin,
        api,
        boards,
        display,
        errors,
        health,
        ical,
        ops,
        pages,
        security,
    )

    security.register(app, settings)
    app.register_blueprint(access.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(display.bp)

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(boards.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(ical.bp)
    app.register_blueprint(ops.bp)
    errors.register(app)
    app.context_processor(lambda: {"app_version": __version__})
    app.cli.add_command(cli.signage)
    return app


def _store(settings: Settings, instance: Path, gate: Gate) -> tuple[Store, Registry]:
    """Return the store and registry the settings ask for; a Redis client connects on first
    use and the state file is read on first use, not here. Requests read Redis with a fast
    client behind `gate`; the sync process writes with a patient one (signage.store.gate)."""
    if settings.redis is None:
        return MemoryStore(), MemoryRegistry(Path(settings.state_file or instance / STATE_FILE))
    client, reader = settings.redis.patient(), settings.redis.fast()
    # The change notices' own connection, without retries: a lost one must show at once.
    watch = Watch(settings.redis.notices(), channel_of(settings.redis_prefix))
    copies = Path(settings.copy_dir or instance)  # this host's copy, for Redis outages
    return (RedisStore(client, settings.redis_prefix, watch=watch, copy_dir=copies,
                       reader=reader, gate=gate),
            RedisRegistry(reader, settings.redis_prefix, watch=watch, copy_dir=copies,
                          gate=gate))


__all__ = ["ConfigError", "create_app"]
