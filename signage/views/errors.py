"""Error answers: JSON for the API and /healthz, a short page elsewhere; never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from signage.store import StoreError

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    """Install the error handlers on the app."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(StoreError, _store_error)
    app.register_error_handler(Exception, _unexpected)


def _http_error(error: HTTPException):
    message = error.description or error.name
    if request.path.startswith(("/api/", "/healthz")):
        response = jsonify({"error": message, "status": error.code})
    else:
        response = render_template("error.html", code=error.code, title=error.name,
                                   message=message)
    # Keep what a client needs to correct itself, such as Allow on a 405.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() == "allow"]
    return response, error.code, headers


def _store_error(error: StoreError):
    log.warning("store unavailable on %s: %s", request.path, error)
    return _http_error(ServiceUnavailable("the store cannot be reached right now: nothing was "
                                          "saved; try again in a moment"))


def _unexpected(error: Exception):
    # The one place an unexpected error surfaces: log it, answer a plain 500.
    log.exception("unhandled error on %s", request.path)
    return _http_error(InternalServerError("something went wrong; the error was logged"))
