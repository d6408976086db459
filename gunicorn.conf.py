"""gunicorn settings for signage's web workers; `gunicorn wsgi:app` reads this file.

Workers only read the store (Redis: set SIGNAGE_REDIS_URL); the sync process runs apart
(`flask --app wsgi signage sync`). Override with the usual GUNICORN_CMD_ARGS or flags.
"""

import gc
import os

bind = os.environ.get("SIGNAGE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = 4
timeout = 30
graceful_timeout = 10
keepalive = 5  # kiosks poll every 30 s or so; reuse their connections
accesslog = "-"
# The path without its query string: query parameters may carry tokens (display pairing).
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def post_worker_init(worker):
    """Read the store and the screens once as the worker starts: should Redis be away when its
    first request comes, it answers from this copy instead of "no timetable data yet" (a deploy
    or a crash during a Redis outage must not blank the screens). A worker that starts while
    Redis is away serves the copy saved on this host (SIGNAGE_COPY_DIR) instead.

    Then freeze what exists now (the app, its templates, locale data) out of the garbage
    collector's full passes: each new snapshot's objects set one off, and walking all of
    those stopped the worker for about 80 ms (20 ms frozen), a kiosk poll's whole budget."""
    runtime = getattr(worker.wsgi, "extensions", {}).get("signage")
    if runtime is not None:
        runtime.store.current()
        runtime.store.status()
        for collection in ("displays", "announcements"):  # what screens and boards read
            runtime.registry.items(collection)
    gc.freeze()
