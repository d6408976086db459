"""WSGI entry point: `flask --app wsgi signage serve` and `gunicorn wsgi:app`."""

import sys

from signage import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:
    # One line per problem, naming the variable; no traceback for a typo in a setting.
    sys.stderr.writelines(f"signage: {line}\n" for line in str(exc).splitlines())
    raise SystemExit(2) from None
