"""Who is asking: a paired display (its token cookie), a staff or admin login, or the public.

The privacy profile of a request follows from that: a display's own profile, `staff` for a
login, else `SIGNAGE_DEFAULT_PROFILE`. `/login` takes the admin password (admin and staff) or
the staff password (staff only); failed logins are rate-limited per client address.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from limits import parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from redis import RedisError
from werkzeug.security import check_password_hash

from signage.domain.screens import Display, display_from_json, same_digest
from signage.views.context import runtime

log = logging.getLogger(__name__)

bp = Blueprint("access", __name__)

DISPLAY_COOKIE = "signage_display"
DISPLAY_COOKIE_MAX_AGE_S = 400 * 24 * 3600  # the longest a browser keeps a cookie
LOGIN_LIMITS = (parse("5/minute"), parse("30/hour"))  # failed logins per client address


def init_login_limits(app, storage_uri: str, options: dict) -> None:
    """Give the app its failed-login counter (Redis when the store is, so workers share it)."""
    app.extensions["signage_login_limiter"] = MovingWindowRateLimiter(
        storage_from_string(storage_uri, **options))


def current_display() -> Display | None:
    """Return the display whose token this request carries, or None."""
    if "display" not in g:
        cookies = request.cookies  # `in` first: MultiDict.get raises and catches a KeyError
        token = cookies[DISPLAY_COOKIE] if DISPLAY_COOKIE in cookies else None
        g.display = None
        if token and len(token) < 100:
            for doc in runtime().registry.items("displays").values():
                display = display_from_json(doc)
                if same_digest(display.token_hash, token):
                    g.display = display
                    break
    return g.display


def role() -> str | None:
    """Return the login's role, `admin` or `staff`, or None."""
    if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return None  # no login, and the session stays untouched (a kiosk poll's cheap path)
    value = session.get("role")
    return value if value in ("admin", "staff") else None


def profile() -> str:
    """Return this request's privacy profile: `public` or `staff`."""
    if "profile" not in g:
        display = current_display()
        if display is not None:
            g.profile = display.profile
        elif role() is not None:
            g.profile = "staff"
        else:
            g.profile = runtime().settings.default_profile
    return g.profile


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Ask for a password; the admin's opens /admin, the staff password the staff profile."""
    settings = runtime().settings
    if not (settings.admin_password_hash or settings.staff_password_hash):
        abort(404, "logins are off: set SIGNAGE_ADMIN_PASSWORD_HASH (see the README)")
    target = _local(request.values.get("next")) or url_for("pages.index")
    error = None
    status = 200
    if request.method == "POST":
        current_app.extensions["csrf"].protect()
        if not _login_allowed():
            return render_template("login.html", error="Too many attempts: wait a minute.",
                                   next=target), 429, {"Retry-After": "60"}
        password = request.form.get("password", "")
        granted = _role_for(password)
        if granted is None:
            _count_failure()
            error, status = "Wrong password.", 401
            log.warning("failed login from %s", request.remote_addr)
        else:
            session.clear()  # a new session id for the new privilege
            session.permanent = True
            session["role"] = granted
            log.info("%s login from %s", granted, request.remote_addr)
            return redirect(target)
    return render_template("login.html", error=error, next=target), status


@bp.post("/logout")
def logout():
    """End the login."""
    current_app.extensions["csrf"].protect()
    session.clear()
    return redirect(url_for("pages.index"))


def _role_for(password: str) -> str | None:
    settings = runtime().settings
    if not password:
        return None
    if settings.admin_password_hash and check_password_hash(settings.admin_password_hash,
                                                            password):
        return "admin"
    if settings.staff_password_hash and check_password_hash(settings.staff_password_hash,
                                                            password):
        return "staff"
    return None


def _login_allowed() -> bool:
    # Closed rather than open: without a counter a password could be guessed at speed.
    gate = runtime().gate
    if not gate.open:  # Redis did not answer a moment ago: do not wait for it again
        return False
    limiter = current_app.extensions["signage_login_limiter"]
    try:
        return all(limiter.test(limit, "login", request.remote_addr or "?")
                   for limit in LOGIN_LIMITS)
    except (StorageError, RedisError, OSError) as exc:
        gate.failed(exc)
        log.warning("login counter unavailable (%s); logins refused", type(exc).__name__)
        return False


def _count_failure() -> None:
    gate = runtime().gate
    if not gate.open:
        return
    limiter = current_app.extensions["signage_login_limiter"]
    try:
        for limit in LOGIN_LIMITS:
            limiter.hit(limit, "login", request.remote_addr or "?")
    except (StorageError, RedisError, OSError) as exc:
        gate.failed(exc)
        log.warning("login counter unavailable (%s)", type(exc).__name__)


def _local(target: str | None) -> str | None:
    """Return `target` if it is a path on this site (no open redirect), else None."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in target):  # no header may carry them
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and "\\" not in target else None
