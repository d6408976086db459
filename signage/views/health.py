"""`/healthz`: is the data fresh? 200 while it is, 503 when stale or never synced."""

from __future__ import annotations

from flask import Blueprint, jsonify

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
        age = max(0, round((rt.clock() - status.last_success).total_seconds()))
        state = "ok" if age <= rt.settings.stale_after_s else "stale"
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
