"""The current app's `Runtime` (settings, store, registry, clock), for views and commands."""

from __future__ import annotations

from flask import current_app

from signage.runtime import Runtime


def runtime() -> Runtime:
    """Return the current app's Runtime."""
    return current_app.extensions["signage"]
