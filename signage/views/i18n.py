"""Languages: Flask-Babel with catalogues in `signage/translations` (de, da, nl; en is the source).

A request's language is `?lang=` when a view read it (see `views.params.lang_param`), else
`SIGNAGE_LANGUAGE`. Catalogues are compiled (`.mo`) in the repository; `make translations`
re-extracts and re-compiles them.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from flask_babel import Babel, get_locale

from signage.config import LANGUAGES

__all__ = ["LANGUAGES", "init_babel"]


def init_babel(app: Flask) -> None:
    """Bind Flask-Babel to the app."""
    Babel(app, locale_selector=_locale)
    app.context_processor(lambda: {"page_lang": str(get_locale())})


def _locale() -> str:
    return g.get("lang") or current_app.extensions["signage"].settings.language
