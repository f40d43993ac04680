#!/usr/bin/env bash
# CI leg: the bot flood (tests/flood_test.cc): 10M fresh visitor ids into an
# engine with modest caps; memory stays within a bound computed from the
# caps, every decline made before the flood still holds, sessions and
# ignore-only records are what was evicted. Builds only what it needs in
# BUILD_DIR (default build-flood, RelWithDebInfo: the bound and the time
# are meant for an optimized build), runs it under a time limit and prints
# its "flood:" line. Exits non-zero on any failure.
#   scripts/flood.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build-flood}"
BUILD_DIR="$build_dir" TARGETS=flood_test scripts/build.sh \
  -DBECKON_BUILD_TESTS=ON -DBECKON_BUILD_EXAMPLES=OFF -DBECKON_WERROR=ON \
  >/dev/null
log="$build_dir/flood.log"
start=$(date +%s)
status=0
timeout 300 "$build_dir/tests/flood_test" >"$log" 2>&1 || status=$?
grep '^flood:' "$log" || true
echo "flood: wall_s=$(( $(date +%s) - start ))"
if [ "$status" -ne 0 ]; then
  cat "$log"
  echo "flood test failed (exit $status)" >&2
  exit 1
fi
