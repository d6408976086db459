"""`/healthz`: is the data fresh? 200 while it is, 503 when stale or never synced.

`auth_paused_until` says when the sync resumes after the upstream refused our credentials too
often (null when no such pause holds); the status code still follows freshness alone.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from signage.views.context import runtime
from signage.views.freshness import freshness

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Return the sync status: status, last success, snapshot age, source, last error, pause."""
    rt = runtime()
    fresh = freshness(rt)
    sync = rt.store.status()
    paused_until = sync.auth_pause(rt.clock())
    body = {
        "status": fresh.state,
        "last_success": fresh.last_success.isoformat() if fresh.last_success else None,
        "age_seconds": fresh.age_s,
        "source": rt.settings.source,
        "last_error": sync.last_error,
        "auth_paused_until": paused_until.isoformat() if paused_until else None,
    }
    response = jsonify(body)
    response.status_code = 200 if fresh.state == "ok" else 503
    response.cache_control.no_store = True
    return response
