"""The kiosk side of displays: `/display` shows a paired screen's board, or a pairing code.

A paired screen carries its token in a long-lived cookie; each poll of `/display?part=board`
leaves a heartbeat. A token that no longer names a display (revoked, deleted) answers the poll
with 410, on which the kiosk script reloads and shows a new pairing code.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import segno
from flask import Blueprint, Response, jsonify, make_response, render_template, request, url_for
from markupsafe import Markup

from signage.domain.screens import (
    MAX_PAIRINGS,
    Display,
    Heartbeat,
    Pairing,
    digest,
    display_from_json,
    new_code,
    new_secret,
    pairing_from_json,
    same_digest,
    to_json,
)
from signage.store import StoreError
from signage.store.registry import Registry
from signage.views.access import DISPLAY_COOKIE, DISPLAY_COOKIE_MAX_AGE_S, current_display
from signage.views.boards import render_board
from signage.views.context import runtime
from signage.views.params import param

log = logging.getLogger(__name__)

bp = Blueprint("display", __name__, url_prefix="/display")

PAIRING_COOKIE = "signage_pairing"
PAIRING_POLL_S = 3
# Dark modules on white with the standard four-module quiet zone, whatever the page's theme:
# phone cameras read light-on-dark codes badly. No size: pair.css sets it per screen.
QR_SVG = {"border": 4, "dark": "#000", "light": "#fff", "omitsize": True, "svgclass": "pair-qr"}


@bp.get("")
def show():
    """Show this screen's board, or a pairing code when it has none."""
    display = current_display()
    if display is not None:
        _beat(display)
        return render_board(display.board, display.target or None, display)
    if param("part") == "board":
        if DISPLAY_COOKIE in request.cookies and not runtime().registry.readable("displays"):
            # Redis is away and this process knows no screens: the token may well be good.
            # The kiosk keeps its page (and its pairing) and shows the stale badge.
            return Response("the screens cannot be checked right now", status=503)
        # A board poll without a valid token: the display was revoked or deleted.
        response = Response("this display is no longer paired", status=410)
        response.delete_cookie(DISPLAY_COOKIE)
        return response
    pairing, secret = _pairing()
    pair_url = url_for("admin.pair_code", code=pairing.code, _external=True)
    response = make_response(render_template("pair.html", code=pairing.code, pair_url=pair_url,
                                             qr=_qr_svg(pair_url), poll_s=PAIRING_POLL_S))
    response.cache_control.no_store = True
    if request.cookies.get(DISPLAY_COOKIE):
        response.delete_cookie(DISPLAY_COOKIE)  # a revoked token: forget it
    if secret is not None:
        _set_cookie(response, PAIRING_COOKIE, secret, max_age=None)
    return response


@bp.get("/pairing")
def pairing_state():
    """Tell a waiting kiosk whether its code was entered; hand over its token when it was."""
    rt = runtime()
    pairing = _known_pairing(rt.registry, request.cookies.get(PAIRING_COOKIE))
    if pairing is None or pairing.expired(rt.clock()):
        return _no_store(jsonify({"state": "expired"}))
    if pairing.display_id is None:
        return _no_store(jsonify({"state": "waiting", "code": pairing.code}))
    doc = rt.registry.items("displays").get(pairing.display_id)
    rt.registry.delete("pairings", pairing.code)
    if doc is None:  # deleted between pairing and now
        return _no_store(jsonify({"state": "expired"}))
    token = new_secret()
    paired = replace(display_from_json(doc), token_hash=digest(token), paired_at=rt.clock())
    rt.registry.put("displays", paired.id, to_json(paired))
    response = _no_store(jsonify({"state": "paired"}))
    _set_cookie(response, DISPLAY_COOKIE, token, max_age=DISPLAY_COOKIE_MAX_AGE_S)
    response.delete_cookie(PAIRING_COOKIE)
    return response


def _qr_svg(url: str) -> Markup:
    """Return a QR code of `url` as inline SVG markup (attributes only: no style, no script)."""
    # Markup is safe here: the URL is encoded into modules, never written out as text.
    return Markup(segno.make(url, error="m").svg_inline(**QR_SVG))  # noqa: S704


def _pairing() -> tuple[Pairing, str | None]:
    """Return this kiosk's open pairing, or a new one with the secret for its cookie."""
    rt = runtime()
    now = rt.clock()
    known = _known_pairing(rt.registry, request.cookies.get(PAIRING_COOKIE))
    if known is not None and not known.expired(now):
        return known, None
    open_ = {code: pairing_from_json(doc) for code, doc in rt.registry.items("pairings").items()}
    for code, old in sorted(open_.items(), key=lambda item: item[1].created):
        if old.expired(now) or len(open_) >= MAX_PAIRINGS:
            rt.registry.delete("pairings", code)
            del open_[code]
    code = new_code()
    while code in open_:
        code = new_code()
    secret = new_secret()
    pairing = Pairing(code=code, secret_hash=digest(secret), created=now)
    rt.registry.put("pairings", code, to_json(pairing))
    return pairing, secret


def _known_pairing(registry: Registry, secret: str | None) -> Pairing | None:
    if not secret or len(secret) > 100:
        return None
    for doc in registry.items("pairings").values():
        pairing = pairing_from_json(doc)
        if same_digest(pairing.secret_hash, secret):
            return pairing
    return None


def _beat(display: Display) -> None:
    """Record what the screen reports with this request (values it cannot fake us with)."""
    shown = request.headers.get("X-Signage-Shown", "")
    screen = request.headers.get("X-Signage-Screen", "")
    app = request.headers.get("X-Signage-App", "")
    beat = Heartbeat(
        seen=runtime().clock(),
        version=int(shown) if shown.isdecimal() and len(shown) < 16 else None,
        app_version=app if re.fullmatch(r"[\w.+-]{1,32}", app) else "",
        screen=screen if re.fullmatch(r"\d{1,5}x\d{1,5}", screen) else "",
    )
    try:
        runtime().registry.put("heartbeats", display.id, to_json(beat))
    except StoreError as exc:  # a lost heartbeat must never cost the screen its board
        log.warning("heartbeat of display %s not recorded: %s", display.id, exc)


def _set_cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Lax",
                        secure=request.is_secure, path="/")


def _no_store(response: Response) -> Response:
    response.cache_control.no_store = True
    return response
