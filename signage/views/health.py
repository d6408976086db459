"""`/healthz`: is the data fresh? 200 while it is, 503 when stale or never synced."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, jsonify

from signage.plan import in_school_hours
from signage.runtime import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Return the sync status: status, last success, snapshot age, source, last error."""
    rt = runtime()
    status = rt.store.status()
    age = None
    state = "never"
    if status.last_success is not None:
        now = rt.clock()
        age = max(0, round((now - status.last_success).total_seconds()))
        state = "ok" if age <= _stale_after_s(rt, now, status.last_success) else "stale"
    body = {
        "status": state,
        "last_success": status.last_success.isoformat() if status.last_success else None,
        "age_seconds": age,
        "source": rt.settings.source,
        "last_error": status.last_error,
    }
    response = jsonify(body)
    response.status_code = 200 if state == "ok" else 503
    response.cache_control.no_store = True
    return response


def _stale_after_s(rt, now: datetime, last_success: datetime) -> int:
    """Return the staleness limit in force: outside school hours the sync polls less often."""
    settings, snapshot = rt.settings, rt.store.snapshot()
    busy = all(
        in_school_hours(t.astimezone(settings.tz).replace(tzinfo=None), settings.school_hours,
                        snapshot)
        for t in (now, last_success)
    )
    return settings.stale_after_s if busy else settings.idle_stale_after_s
