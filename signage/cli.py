"""`flask --app wsgi signage serve|sync|check`: the embedded server, the sync process, and the
day-one probe of the configured source."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from signage.sync.scheduler import build_sync, probe_source, run_blocking, start_background
from signage.views.context import runtime

SERVER_THREADS = 8


def _setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Per-tick job chatter would drown what matters; our own modules log each cycle's outcome.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


@click.group("signage")
def signage() -> None:
    """Serve boards and sync timetable changes."""


@signage.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@with_appcontext
def serve(host: str, port: int) -> None:
    """Serve the boards with an in-process sync (embedded mode)."""
    import waitress

    _setup_logging()
    rt = runtime()
    process = build_sync(rt)
    scheduler = start_background(rt, process)
    click.echo(f"signage: serving {rt.settings.source} boards on http://{host}:{port}/")
    try:
        waitress.serve(current_app._get_current_object(), host=host, port=port,
                       threads=SERVER_THREADS, ident="signage")
    finally:
        scheduler.shutdown(wait=False)
        process.close()


@signage.command()
@click.option("--once", is_flag=True, help="Run one sync cycle and exit (0 on success).")
@with_appcontext
def sync(once: bool) -> None:
    """Run the sync process: poll the upstream and write the store."""
    _setup_logging()
    rt = runtime()
    process = build_sync(rt)
    try:
        if once:
            # Its writes are fenced by the lease like a running sync's: take it for the cycle
            # (released on the way out), or leave the syncing to the process that holds it.
            if process.lease is not None and not process.lease.acquire():
                raise click.ClickException(
                    "sync not run: another sync process leads and syncs already (the lease "
                    "is held); stop it first to run one cycle by hand")
            result = process.engine.run_cycle(rt.clock(), force=True)
            if result.outcome in ("failed", "paused"):
                raise click.ClickException(f"sync {result.outcome}: {result.error}")
            click.echo(f"sync ok: {result.outcome} load, {result.upserts} periods, "
                       f"{result.deletions} deletions, {result.duration_s:.2f} s")
            return
        if rt.settings.redis is None:
            logging.getLogger(__name__).warning(
                "no SIGNAGE_REDIS_URL or SIGNAGE_REDIS_SENTINELS: web workers in other "
                "processes cannot see this data")
        run_blocking(rt, process)
    finally:
        process.close()


@signage.command()
@click.option("--save-sample", "sample_dir", metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Also save the upstream's answers into DIR, people's names pseudonymised.")
@with_appcontext
def check(sample_dir: Path | None) -> None:
    """Probe the configured source as a sync would and report; exit 0 when it can feed the
    boards."""
    problems = probe_source(runtime(), click.echo, sample_dir)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise click.ClickException(f"check: {count}; the source cannot feed the boards yet")


@signage.command("resume")
@with_appcontext
def resume() -> None:
    """End a pause after refused credentials (once they are fixed): the next cycle tries."""
    store = runtime().store
    status = store.status()
    if status.auth_paused_until is None and not status.auth_failures:
        click.echo("the sync is not paused")
        return
    store.write_status(replace(status, auth_failures=0, auth_paused_until=None, not_before=None))
    click.echo("pause ended: the sync process tries the upstream at its next cycle")


@signage.command("hash-password")
@click.password_option(help="The password (asked for when not given).")
def hash_password(password: str) -> None:
    """Print the hash of a password for SIGNAGE_ADMIN_PASSWORD_HASH or ..._STAFF_PASSWORD_HASH."""
    from werkzeug.security import generate_password_hash

    if len(password) < 10:
        raise click.UsageError("use a password of at least 10 characters")
    click.echo(generate_password_hash(password))
