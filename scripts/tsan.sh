#!/usr/bin/env bash
# ThreadSanitizer leg: builds beckon in build-tsan with -fsanitize=thread
# (clang 14) and runs the concurrency, state, engine, soak and C ABI tests under
# it; exits non-zero on any TSan report or test failure.
#   scripts/tsan.sh
# Environment: BUILD_DIR (default build-tsan), BECKON_TSAN_CACHE (default
# /var/cache/beckon-tsan), BECKON_SOAK_SECONDS (default 20 here).
#
# Debian's libabsl-dev is not built with TSan, and absl::Mutex synchronizes
# through its own futex and atomics code, which TSan then cannot see: every
# access guarded by an absl::Mutex would be reported as a race. So this
# builds Abseil once from Debian's own source package (the same version and
# patches as libabsl-dev, so the same ABI options) with -fsanitize=thread,
# and caches it in $BECKON_TSAN_CACHE/absl-<version>-<compiler>; beckon is
# then built against that copy. One suppression remains, for a report
# inside Abseil itself (tests/tsan/suppressions.txt; docs/development.md).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

build_dir="${BUILD_DIR:-build-tsan}"
cache="${BECKON_TSAN_CACHE:-/var/cache/beckon-tsan}"
# clang, not gcc: gcc defines __SANITIZE_THREAD__, which changes the layout
# of protobuf's map fields against Debian's uninstrumented libprotobuf
# (CMakeLists.txt, BECKON_TSAN).
export CC="${CC:-clang}" CXX="${CXX:-clang++}"
jobs="$(nproc)"

sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo="sudo"; fi

# dpkg-source unpacks the source package; clang 14 and its runtimes.
need=()
for p in dpkg-dev libabsl-dev clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "tsan: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends "${need[@]}" >/dev/null
fi

absl_version="$(dpkg-query -W -f='${Version}' libabsl-dev)"
cc_id="$(${CXX} -dumpfullversion -dumpversion | head -1)"
prefix="$cache/absl-${absl_version}-$(basename "${CXX}")-${cc_id}"

# --- Abseil with -fsanitize=thread, from Debian's source, cached -------------
if [ ! -f "$prefix/.complete" ]; then
  a0=$(date +%s)
  echo "tsan: building Abseil ${absl_version} with -fsanitize=thread into $prefix"
  $sudo mkdir -p "$cache"
  work="$(mktemp -d "${TMPDIR:-/tmp}/beckon-tsan-absl.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  # apt-get source needs a deb-src line; add one for the configured Debian
  # mirrors if there is none (only Debian's own archive is used).
  if ! (cd "$work" && apt-get source --download-only -qq \
          "abseil=${absl_version}" >/dev/null 2>&1); then
    list=/etc/apt/sources.list.d/beckon-deb-src.sources
    if [ ! -f "$list" ]; then
      echo "tsan: adding Debian deb-src entries ($list)" >&2
      # The same URIs, suites and components as the deb entries.
      for f in /etc/apt/sources.list.d/debian.sources; do
        [ -f "$f" ] && sed 's/^Types: deb$/Types: deb-src/' "$f"
      done | $sudo tee "$list" >/dev/null
      if [ ! -s "$list" ] && [ -f /etc/apt/sources.list ]; then
        grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
          $sudo tee "$list.list" >/dev/null
        $sudo rm -f "$list"
      fi
    fi
    $sudo apt-get update -qq
    (cd "$work" && apt-get source --download-only -qq \
       "abseil=${absl_version}" >/dev/null)
  fi
  (cd "$work" && dpkg-source -x --no-check ./abseil_*.dsc src >/dev/null)
  # Debian's own configuration (debian/rules: C++17, its patched options.h),
  # as static PIC libraries so that libbeckon_c.so can take them in.
  cmake -S "$work/src" -B "$work/build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_STANDARD=17 \
    -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DBUILD_TESTING=OFF -DABSL_BUILD_TESTING=OFF \
    -DCMAKE_CXX_FLAGS="-fsanitize=thread" \
    -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
  cmake --build "$work/build" --parallel "$jobs" >/dev/null
  $sudo cmake --install "$work/build" >/dev/null
  $sudo touch "$prefix/.complete"
  echo "tsan: Abseil built in $(( $(date +%s) - a0 )) s"
else
  echo "tsan: Abseil ${absl_version} with TSan from $prefix (cached)"
fi

# --- beckon with -fsanitize=thread -------------------------------------------
tests=(concurrency_test state_test engine_test hot_swap_test decision_log_test
       soak_test c_api_test)
# A build dir configured with another compiler starts afresh.
if [ -f "$build_dir/CMakeCache.txt" ] &&
   ! grep -q "^CMAKE_CXX_COMPILER:[A-Z]*=$(command -v "$CXX")\$" \
     "$build_dir/CMakeCache.txt"; then
  rm -rf "$build_dir"
fi
# Only the targets these tests need (no tools, examples or Python).
BUILD_DIR="$build_dir" TARGETS="${tests[*]}" scripts/build.sh \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DBECKON_TSAN=ON -Dabsl_DIR="$prefix/lib/cmake/absl" \
  -DBECKON_BUILD_TESTS=ON -DBECKON_BUILD_EXAMPLES=OFF -DBECKON_BUILD_TOOLS=OFF \
  -DBECKON_BUILD_PYTHON=OFF -DBECKON_WERROR=ON -DBECKON_WITH_REDIS=OFF
# Guard against a build that silently picked up Debian's uninstrumented
# Abseil after all (its absl::Mutex would make every report a false one).
if grep -q 'libabsl_synchronization\.so' "$build_dir/build.ninja"; then
  echo "tsan: beckon links Debian's libabsl_synchronization.so, not $prefix" >&2
  exit 1
fi

# halt_on_error: the first report fails its test at once (ctest prints it);
# exitcode 66 marks a TSan report apart from a test failure.
# The suppressions name Abseil-internal frames only (the file says why).
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$PWD/tests/tsan/suppressions.txt ${TSAN_OPTIONS:-}"
export BECKON_SOAK_SECONDS="${BECKON_SOAK_SECONDS:-20}"

regex="^(Concurrency|State|Engine|HotSwap|DecisionLog)\\.|^soak$|^c_api_test$"
t0=$(date +%s)
set +e
ctest --test-dir "$build_dir" --output-on-failure --parallel "$jobs" \
  -R "$regex" --timeout 180 | tee "$build_dir/tsan-ctest.log"
rc=${PIPESTATUS[0]}
set -e
ran=$(grep -Eo 'tests passed, [0-9]+ tests failed out of [0-9]+' \
        "$build_dir/tsan-ctest.log" | grep -Eo '[0-9]+$' || echo 0)
reports=$(grep -c 'WARNING: ThreadSanitizer' "$build_dir/tsan-ctest.log" || true)
echo "tsan: ${ran} tests under ThreadSanitizer, ${reports} reports," \
     "tests $(( $(date +%s) - t0 )) s, leg $(( $(date +%s) - start )) s"
if [ "$rc" -ne 0 ] || [ "$reports" -ne 0 ] || [ "$ran" -eq 0 ]; then
  echo "tsan: FAILED" >&2
  exit 1
fi
