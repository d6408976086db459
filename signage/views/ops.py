"""For operators: `/metrics` (Prometheus text format) and `/status` (the last sync cycles)."""

from __future__ import annotations

import os
from collections import Counter

from flask import Blueprint, Response, render_template

from signage.views.context import runtime
from signage.views.freshness import freshness
from signage.views.power import display_states

bp = Blueprint("ops", __name__)


@bp.after_app_request
def count_response(response: Response) -> Response:
    """Count this process's responses by status (each gunicorn worker counts its own)."""
    runtime().responses[response.status_code] += 1
    return response


@bp.get("/metrics")
def metrics() -> Response:
    """Return snapshot age, cycles, upstream requests, periods, leader, displays by state,
    responses, auth pause."""
    rt = runtime()
    fresh = freshness(rt)
    paused = rt.store.status().auth_pause(rt.clock()) is not None
    snapshot = rt.store.snapshot()
    counters = rt.store.counters()
    worker = str(os.getpid())
    lines = [
        *_metric("signage_snapshot_age_seconds", "gauge", "Age of the last successful sync.",
                 [({}, "NaN" if fresh.age_s is None else fresh.age_s)]),
        *_metric("signage_snapshot_stale", "gauge", "1 when the data counts as stale.",
                 [({}, int(fresh.state != "ok"))]),
        *_metric("signage_periods_in_window", "gauge", "Periods in the synced window.",
                 [({}, len(snapshot.periods) if snapshot else 0)]),
        *_metric("signage_sync_cycles_total", "counter", "Sync cycles by outcome.",
                 [({"outcome": k}, v) for k, v in sorted(counters["cycles"].items())]),
        *_metric("signage_upstream_requests_total", "counter",
                 "Upstream requests by endpoint and status.",
                 [(dict(zip(("endpoint", "status"), k.rsplit(" ", 1), strict=True)), v)
                  for k, v in sorted(counters["requests"].items())]),
        *_metric("signage_sync_auth_paused", "gauge",
                 "1 while the sync pauses because the upstream refused our credentials.",
                 [({}, int(paused))]),
        *_metric("signage_leader_info", "gauge", "The sync process that polls.",
                 [({"holder": rt.store.leader() or "none"}, 1)]),
        *_metric("signage_displays", "gauge", "Paired and unpaired displays by state.",
                 [({"state": k}, v) for k, v in sorted(Counter(
                     shown for _, _, shown, _ in display_states()).items())]),
        *_metric("signage_http_responses_total", "counter", "Responses of this worker by status.",
                 [({"status": str(k), "worker": worker}, v)
                  for k, v in sorted(rt.responses.items())]),
    ]
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")


@bp.get("/status")
def status() -> str:
    """Show the sync's state and its last cycles, with a chart of their durations."""
    rt = runtime()
    history = rt.store.history()
    longest = max((r.duration_s for r in history), default=0) or 1
    sync = rt.store.status()
    return render_template("status.html", fresh=freshness(rt), sync=sync,
                           history=history, longest=longest, leader=rt.store.leader(),
                           version=rt.store.version(), tz=rt.settings.tz,
                           source=rt.settings.source,
                           auth_limit=rt.settings.auth_failure_limit,
                           paused_until=sync.auth_pause(rt.clock()))


def _metric(name: str, kind: str, help_text: str, samples) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        rendered = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
        lines.append(f"{name}{{{rendered}}} {value}" if rendered else f"{name} {value}")
    return lines


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
