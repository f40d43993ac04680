#!/usr/bin/env bash
# The demo: installs what is missing, builds the beckon tool, and runs the
# whole loop on simulated traffic (docs/tuning.md walks through it):
#   1. simulate a week of a shop's traffic,
#   2. learn a policy from days 1-6,
#   3. replay day 7 with the learned policy and with the fixed rule "offer
#      once per session after T seconds on any page", T chosen so both offer
#      to as many sessions, side by side, then a sweep over offer rates.
# Environment: BUILD_DIR (default build/), DEMO_DIR (default
# $BUILD_DIR/demo), SEED (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! TARGETS=beckon_cli scripts/build.sh -DBECKON_BUILD_TOOLS=ON \
     >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
build="${BUILD_DIR:-build}"
beckon="$build/tools/beckon"
work="${DEMO_DIR:-$build/demo}"
mkdir -p "$work"

echo "== 1. simulate 7 days of traffic"
"$beckon" simulate --days 7 --seed "${SEED:-1}" --out "$work/sim.csv" --quiet
echo "$(($(wc -l <"$work/sim.csv") - 1)) events in $work/sim.csv"

echo
echo "== 2. train on days 1-6"
"$beckon" train --events "$work/sim.csv" --days 1-6 \
  --out "$work/learned.policy" --text-out "$work/learned.txtpb" --quiet
echo "policy: $work/learned.policy (text: $work/learned.txtpb)"

echo
echo "== 3. replay day 7: learned policy vs fixed-dwell baseline"
"$beckon" compare --policy "$work/learned.policy" --events "$work/sim.csv" \
  --days 7 --quiet
