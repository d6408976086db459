#!/usr/bin/env bash
# Run the test suite with the wall clock moved to another instant, in pytest and in every Python
# process it starts (gunicorn, `signage serve`/`sync`): tests/shifted_clock/sitecustomize.py
# moves each by one offset from the real clock, so all of them agree on "today".
#
#   scripts/test-at.sh "2027-10-31 02:30" [pytest arguments]   school-local (Europe/Berlin)
#   scripts/test-at.sh "2027-10-31T02:30+01:00" …              with an offset (the second 02:30)
#   scripts/test-at.sh commit …                                an instant HEAD's hash picks
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: scripts/test-at.sh INSTANT|commit [pytest arguments]" >&2; exit 2; }
instant="$1"
shift
scripts/bootstrap.sh requirements-dev.txt
scripts/system-deps.sh
[ "$instant" = commit ] && instant=$(git rev-parse HEAD)
# The offset in seconds from now, then the instant in words.
read -r offset words < <(.venv/bin/python -m tests.instants "$instant")
echo "clock moved to $words: offset ${offset} s"
PYTHONPATH="$PWD/tests/shifted_clock${PYTHONPATH:+:$PYTHONPATH}" \
  TEST_CLOCK_OFFSET_S="$offset" .venv/bin/python -m pytest -p no:time_machine \
  -W "ignore:Module already imported so cannot be rewritten; time_machine" "$@"
