"""WSGI entry point: `flask --app wsgi signage serve` and `gunicorn wsgi:app`."""

import sys

from signage import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:
    sys.stderr.write(f"signage: configuration error:\n{exc}\n")
    raise SystemExit(2) from None
