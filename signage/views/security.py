"""What every response gets: security headers, session cookie flags, CSRF, proxy trust.

- Content-Security-Policy without `unsafe-inline`/`unsafe-eval` (templates load scripts and
  styles from /static only), `frame-ancestors 'none'`, nosniff, Referrer-Policy; HSTS when
  `SIGNAGE_HSTS_SECONDS` > 0 (off by default: old kiosk browsers with odd clocks).
- Session cookies are HttpOnly, SameSite=Lax, and Secure whenever the request came over
  https (behind `SIGNAGE_TRUSTED_PROXIES` proxies, as their X-Forwarded-Proto says).
- CSRF (Flask-WTF) is checked by the views that take forms, after their login check, so a
  stranger learns only "log in" (302/401) and a logged-in form without a token gets a 400.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from flask import Flask, g, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from signage.config import Settings
from signage.views.access import init_login_limits

log = logging.getLogger(__name__)

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
SESSION_LIFETIME = timedelta(hours=12)


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, Secure whenever the request itself was https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def register(app: Flask, settings: Settings) -> None:
    """Install headers, session settings, CSRF protection and proxy trust on the app."""
    if settings.secret_key:
        app.secret_key = settings.secret_key
    else:
        # Fine for one process (embedded mode); Redis setups must configure one (config.py).
        app.secret_key = secrets.token_hex(32)
    app.config.update(
        SESSION_COOKIE_NAME="signage_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        WTF_CSRF_CHECK_DEFAULT=False,
    )
    app.session_interface = _SessionInterface()
    CSRFProtect(app)
    init_login_limits(app, *_limits_storage(settings))
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    @app.after_request
    def headers(response):
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"  # frame-ancestors for old browsers
        response.headers["Referrer-Policy"] = "same-origin"
        if request.endpoint != "static":
            # Who asks (display cookie, login) decides what an answer holds: no shared cache
            # may give one visitor's answer to another.
            response.vary.add("Cookie")
            if g.get("profile") == "staff":
                response.cache_control.private = True
        if settings.hsts_s:
            response.headers["Strict-Transport-Security"] = f"max-age={settings.hsts_s}"
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = ("The form was not sent from this site or has expired: "
                   "go back, reload the page and try again.")
        return render_template("error.html", code=400, title="Bad Request",
                               message=message), 400


def _limits_storage(settings: Settings) -> tuple[str, dict]:
    """Return where failed logins are counted: Redis (shared by workers) or this process."""
    if settings.redis is None:
        return "memory://", {}
    return settings.redis.limits_storage(f"{settings.redis_prefix}:limits")
