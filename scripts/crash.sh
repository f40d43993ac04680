#!/usr/bin/env bash
# The crash and soak legs alone: builds crash_test and soak_test in
# BUILD_DIR (default build/, so after scripts/test.sh only they are
# linked) and runs them, printing their figures:
#   crash: <kills> kills survived, <n> declines checked, <k> leftover temporaries max
#   soak: <ops> operations, <offers> offers, 0 violations
# Exits non-zero if either fails. Bounded: BECKON_CRASH_SECONDS (80) bounds
# the kill loop, BECKON_SOAK_SECONDS (30) the soak (docs/development.md).
#   scripts/crash.sh            # both
#   scripts/crash.sh crash      # one of them
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
legs=("$@")
[ ${#legs[@]} -eq 0 ] && legs=(crash soak)
targets=()
for l in "${legs[@]}"; do
  case "$l" in
    crash | soak) targets+=("${l}_test") ;;
    *) echo "crash.sh: unknown leg '$l' (crash, soak)" >&2; exit 2 ;;
  esac
done
BUILD_DIR="$build_dir" TARGETS="${targets[*]}" scripts/build.sh \
  -DBECKON_BUILD_TESTS=ON -DBECKON_WERROR=ON >/dev/null
rc=0
for l in "${legs[@]}"; do
  t0=$(date +%s)
  log="$build_dir/${l}_test.log"
  if timeout 600 "$build_dir/tests/${l}_test" >"$log" 2>&1; then
    grep -E "^${l}: " "$log"
    echo "${l}: passed in $(( $(date +%s) - t0 )) s"
  else
    cat "$log"
    echo "${l}: FAILED after $(( $(date +%s) - t0 )) s" >&2
    rc=1
  fi
done
exit $rc
