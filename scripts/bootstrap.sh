#!/usr/bin/env bash
# Create .venv and install the pinned packages; re-install only when a requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements.txt}"
py="${PYTHON:-python3}"
if ! command -v "$py" >/dev/null 2>&1; then
  echo "signage needs Python 3.11 or newer: install python3 (e.g. apt-get install python3 python3-venv)" >&2
  exit 1
fi
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "signage needs Python 3.11 or newer; $("$py" --version) found" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv || { echo "could not create .venv: install python3-venv (apt-get install python3-venv)" >&2; exit 1; }
fi
hash=$(cat requirements*.txt | sha256sum | cut -c1-16)
stamp=".venv/.installed-$hash-$(basename "$req")"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  find .venv -maxdepth 1 -name '.installed-*' ! -name ".installed-$hash-*" -delete
  touch "$stamp"
fi
