#!/usr/bin/env bash
# The fuzzing leg: builds beckon's libFuzzer targets (tests/fuzz/) with clang,
# AddressSanitizer and UBSan (Release with asserts), makes the Restore
# target's seeds from Engine::Snapshot, and runs every target for a bounded
# time, two at a time.
#   scripts/fuzz.sh [seconds-per-target]     # default 60
# Environment: BUILD_DIR (default build-fuzz), FUZZ_OUT (default
# $BUILD_DIR/fuzz-out: the corpora grown and any findings), FUZZ_JOBS
# (targets run at once; default: the number of cores, at most 2).
# Prints one line per target:
#   fuzz <target>: <executions> execs, <corpus> corpus, <n> findings
# and exits non-zero on any finding (a crash, sanitizer report, leak,
# timeout, out-of-memory or broken invariant). A finding's input is kept in
# $FUZZ_OUT/<target>/findings/; once fixed, copy it into
# tests/fuzz/regressions/<target>/, where the normal suite replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
if ! [[ "$secs" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz: seconds per target must be a positive integer, got \"$secs\"" >&2
  exit 2
fi
build_dir="${BUILD_DIR:-build-fuzz}"
out="${FUZZ_OUT:-$build_dir/fuzz-out}"
jobs="${FUZZ_JOBS:-$(nproc)}"
[ "$jobs" -gt 2 ] && jobs=2
[ "$jobs" -lt 1 ] && jobs=1

# libFuzzer comes with clang's runtime libraries (Debian: libclang-rt-14-dev).
need=()
command -v clang++ >/dev/null || need+=(clang)
if command -v clang++ >/dev/null; then
  fuzzer_rt="$(clang++ --print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer-x86_64.a"
  [ -f "$fuzzer_rt" ] || need+=(libclang-rt-14-dev)
else
  need+=(libclang-rt-14-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
      echo "fuzz: need root to run: apt-get install ${need[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  echo "fuzz: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ -f "$build_dir/CMakeCache.txt" ] &&
   ! grep -q '^CMAKE_CXX_COMPILER:.*clang' "$build_dir/CMakeCache.txt"; then
  echo "fuzz: $build_dir was configured with another compiler; remove it" >&2
  exit 1
fi

targets=(policy_bytes policy_text restore event_log engine_ops access_log)
declare -A max_len=([policy_bytes]=8192 [policy_text]=16384 [restore]=8192
                    [event_log]=4096 [engine_ops]=2048 [access_log]=4096)

start=$(date +%s)
mkdir -p "$build_dir"
build_targets="fuzz_seeds"
for t in "${targets[@]}"; do build_targets+=" fuzz_$t"; done
CC=clang CXX=clang++ BUILD_DIR="$build_dir" BUILD_TYPE=Release \
  TARGETS="$build_targets" scripts/build.sh \
  -DBECKON_FUZZ=ON -DBECKON_BUILD_TESTS=ON -DBECKON_BUILD_EXAMPLES=OFF \
  -DBECKON_BUILD_TOOLS=OFF -DBECKON_BUILD_PYTHON=OFF -DBECKON_WERROR=ON \
  "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -g" "-DCMAKE_C_FLAGS_RELEASE=-O2 -g" \
  >"$build_dir/fuzz-build.log" 2>&1 || {
    tail -n 40 "$build_dir/fuzz-build.log" >&2
    echo "fuzz: build failed (log: $build_dir/fuzz-build.log)" >&2
    exit 1
  }
built=$(date +%s)
bin="$build_dir/tests/fuzz"

rm -rf "$out"
mkdir -p "$out"
"$bin/fuzz_seeds" restore "$out/restore-seeds"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# Runs one target; its log is $out/<target>/log.
run() {
  local t="$1" work="$out/$1"
  mkdir -p "$work/corpus" "$work/findings"
  local seeds=()
  if [ "$t" = restore ]; then
    seeds+=("$out/restore-seeds")
  else
    seeds+=("tests/fuzz/corpus/$t")
  fi
  [ -d "tests/fuzz/regressions/$t" ] && seeds+=("tests/fuzz/regressions/$t")
  local extra=()
  [ "$t" = policy_text ] && extra+=("-dict=tests/fuzz/policy_text.dict")
  local rc=0
  timeout $((secs + 120)) "$bin/fuzz_$t" \
    -max_total_time="$secs" -max_len="${max_len[$t]}" -timeout=10 \
    -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$work/findings/" "${extra[@]}" \
    "$work/corpus" "${seeds[@]}" >"$work/log" 2>&1 || rc=$?
  echo "$rc" >"$work/rc"
}

pids=()
for t in "${targets[@]}"; do
  run "$t" &
  pids+=($!)
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
done
wait

failed=0
for t in "${targets[@]}"; do
  work="$out/$t"
  rc=$(cat "$work/rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  corpus=$(grep -oE 'corp: [0-9]+' "$work/log" | tail -n 1 | grep -oE '[0-9]+' || true)
  findings=$(find "$work/findings" -type f ! -name 'slow-unit-*' | wc -l)
  if [ "$rc" -ne 0 ] && [ "$findings" -eq 0 ]; then
    findings=1  # Failed without an input to keep (e.g. at start-up).
  fi
  echo "fuzz $t: ${execs:-0} execs, ${corpus:-0} corpus, $findings findings"
  if [ "$findings" -ne 0 ]; then
    failed=1
    grep -m 1 -E 'ERROR|invariant broken|deadly signal|Timeout|out-of-memory' \
      "$work/log" | sed "s/^/  $t: /" || true
    find "$work/findings" -type f ! -name 'slow-unit-*' | sed "s/^/  kept: /"
    echo "  log: $work/log"
  fi
done
end=$(date +%s)
echo "fuzz: build $((built - start)) s, fuzzing $((end - built)) s" \
     "(${#targets[@]} targets x $secs s, $jobs at a time)"
exit "$failed"
