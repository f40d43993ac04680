#!/usr/bin/env bash
# The demo: installs what is missing, builds, and plays the walk-through on
# the built-in default policy.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
TARGETS=beckon_walkthrough scripts/build.sh -DBECKON_BUILD_EXAMPLES=ON \
  >/dev/null
"${BUILD_DIR:-build}/examples/beckon_walkthrough"
