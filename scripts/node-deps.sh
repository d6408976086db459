#!/usr/bin/env bash
# npm packages the browser tests need, in the git-ignored project folder .node/: axe-core (the
# accessibility checks of tests/web/test_layout.py). Installs them when missing; without npm,
# says what to install and fails.
set -euo pipefail
AXE_CORE=4.14.1
cd "$(dirname "$0")/.."
grep -qs "^  \"version\": \"$AXE_CORE\"," .node/node_modules/axe-core/package.json && exit 0
if ! command -v npm >/dev/null 2>&1; then
  echo "signage's browser tests need npm to install axe-core@$AXE_CORE (e.g. sudo apt-get install npm)" >&2
  exit 1
fi
echo "installing axe-core@$AXE_CORE into .node/ (npm)" >&2
npm install --prefix .node --no-save --no-audit --no-fund --silent "axe-core@$AXE_CORE" >/dev/null
