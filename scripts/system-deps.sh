#!/usr/bin/env bash
# System packages the test suite needs: Debian's chromium for the browser tests, redis-server
# and redis-sentinel for the Redis store's tests (Sentinel's failover too); arguments name more (e.g. `wrk` for `make bench`).
# Installs them when missing and possible (root with apt-get); else says what to install.
set -euo pipefail
missing=()
for extra in "$@"; do command -v "$extra" >/dev/null 2>&1 || missing+=("$extra"); done
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || missing+=(redis-sentinel)
fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (apt-get)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "signage needs: ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
