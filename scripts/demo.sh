#!/usr/bin/env bash
# The demo: installs what is missing, builds, and plays the walk-through on
# the built-in default policy.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! TARGETS=beckon_walkthrough scripts/build.sh -DBECKON_BUILD_EXAMPLES=ON \
     >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
"${BUILD_DIR:-build}/examples/beckon_walkthrough"
