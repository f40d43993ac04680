#!/usr/bin/env bash
# Packaging test: beckon used the two ways a CMake project can consume it.
#
#   tests/packaging/run.sh <beckon source dir> <scratch dir>
#
#   1. add_subdirectory: a consumer vendors the source tree; beckon must build
#      the library alone (no tests, no examples) and beckon::beckon must link.
#   2. find_package: beckon is built alone, installed into <scratch>/prefix,
#      and a consumer finds it with find_package(beckon 0.1 CONFIG REQUIRED).
#   3. The install tree holds exactly the public headers, include/beckon/*,
#      identical to the sources: no private lib/ headers, no generated .pb.h.
#   4. The pkg-config file is installed, names the right version and prefix,
#      and is enough to compile and link the consumer.
#
# The scratch dir is reused between runs (builds are incremental), but every
# configure starts from a fresh cache and the install prefix is recreated.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <beckon source dir> <scratch dir>" >&2
  exit 2
fi

SRC=$(cd "$1" && pwd)
mkdir -p "$2"
SCRATCH=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PREFIX=$SCRATCH/prefix
JOBS=${BECKON_PACKAGING_JOBS:-$(nproc 2>/dev/null || echo 2)}

step() { printf '\n=== packaging: %s\n' "$*"; }
# any <find args...>: true if find prints anything (no pipe: see pipefail).
any() { [[ -n "$(find "$@" -print -quit)" ]]; }
fail() { printf 'packaging: FAIL: %s\n' "$*" >&2; exit 1; }

# Common configure arguments: Ninja and ccache when available, a build type,
# and no user/system package registries (only CMAKE_PREFIX_PATH may be used).
CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=Release
            -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
            -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
if command -v ninja >/dev/null 2>&1; then
  CMAKE_ARGS+=(-G Ninja)
fi
if command -v ccache >/dev/null 2>&1; then
  CMAKE_ARGS+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache
               -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

# configure <source> <build> [args...]: always from a fresh cache, so cached
# option values of an earlier run cannot hide a changed default.
configure() {
  local src=$1 bld=$2
  shift 2
  rm -rf "$bld/CMakeCache.txt" "$bld/CMakeFiles/CMakeOutput.log"
  cmake -S "$src" -B "$bld" "${CMAKE_ARGS[@]}" "$@"
}
build() { cmake --build "$1" --parallel "$JOBS"; }

# --- 1. add_subdirectory -------------------------------------------------------
step "add_subdirectory consumer"
ADD_BUILD=$SCRATCH/add_subdirectory
configure "$HERE/add_subdirectory" "$ADD_BUILD" -DBECKON_SOURCE_DIR="$SRC"
build "$ADD_BUILD"
# Belt and braces beyond the configure-time checks: nothing but the library
# (and the consumer) may have been built.
for t in beckon_walkthrough page_matcher_test policy_test engine_test; do
  if any "$ADD_BUILD" -type f -name "$t"; then
    fail "add_subdirectory built beckon's '$t'"
  fi
done
"$ADD_BUILD/consumer" || fail "add_subdirectory consumer exited with $?"

# --- 2. build alone, install, find_package ----------------------------------
step "build beckon alone and install into $PREFIX"
LIB_BUILD=$SCRATCH/beckon
rm -rf "$PREFIX"
configure "$SRC" "$LIB_BUILD" \
  -DBECKON_BUILD_TESTS=OFF -DBECKON_BUILD_EXAMPLES=OFF \
  -DCMAKE_INSTALL_PREFIX="$PREFIX"
build "$LIB_BUILD"
cmake --install "$LIB_BUILD"

step "find_package consumer"
FIND_BUILD=$SCRATCH/find_package
configure "$HERE/find_package" "$FIND_BUILD" -DCMAKE_PREFIX_PATH="$PREFIX"
found_dir=$(sed -n 's/^beckon_DIR:PATH=//p' "$FIND_BUILD/CMakeCache.txt")
case "$found_dir" in
  "$PREFIX"/*) ;;
  *) fail "find_package used '$found_dir', not the install in $PREFIX" ;;
esac
build "$FIND_BUILD"
"$FIND_BUILD/consumer" || fail "find_package consumer exited with $?"

# --- 3. the install tree's headers -------------------------------------------
step "install tree contents"
[[ -d "$PREFIX/include/beckon" ]] || fail "no include/beckon in the install"

# Everything under include/ must be include/beckon/<public header>.
want=$(cd "$SRC/include" && find beckon -maxdepth 1 -type f \
         \( -name '*.h' -o -name '*.hpp' \) | LC_ALL=C sort)
have=$(cd "$PREFIX/include" && find . -mindepth 1 \( -type f -o -type l \) \
         | sed 's|^\./||' | LC_ALL=C sort)
mapfile -t want_list <<<"$want"
mapfile -t have_list <<<"$have"
if [[ "$want" != "$have" ]]; then
  echo "expected (include/beckon in the sources):" >&2
  printf '  %s\n' "${want_list[@]}" >&2
  echo "installed (under $PREFIX/include):" >&2
  printf '  %s\n' "${have_list[@]}" >&2
  fail "installed headers differ from the public headers"
fi
for h in "${want_list[@]}"; do
  cmp -s "$SRC/include/$h" "$PREFIX/include/$h" \
    || fail "installed $h differs from the source"
done

# No private or generated header anywhere in the prefix.
private=$(cd "$SRC/lib" && find . -type f \( -name '*.h' -o -name '*.hpp' \) \
            -exec basename {} \; | LC_ALL=C sort -u)
mapfile -t private_list <<<"$private"
for h in "${private_list[@]}"; do
  if any "$PREFIX" -name "$h"; then
    fail "private header lib/**/$h is installed"
  fi
done
if any "$PREFIX" \( -name '*.pb.h' -o -name '*.proto' \); then
  fail "generated protobuf headers or .proto files are installed"
fi

# The installed CMake package must not point back into the source or build.
cfgfile=$(find "$PREFIX" -name beckonConfig.cmake -print -quit)
[[ -n "$cfgfile" ]] || fail "beckonConfig.cmake is not installed"
cfgdir=$(dirname "$cfgfile")
[[ -f "$cfgdir/beckonConfigVersion.cmake" ]] \
  || fail "beckonConfigVersion.cmake is not installed"
leaks=(-e "$SRC/include" -e "$SRC/lib" -e "$LIB_BUILD/")
if grep -rqF "${leaks[@]}" "$cfgdir"; then
  grep -rnF "${leaks[@]}" "$cfgdir" >&2
  fail "installed CMake package refers to the source or build tree"
fi

# Each installed header compiles on its own against the install alone (plus
# the system's Abseil), so none needs a header that is not installed.
CXX_BIN=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$LIB_BUILD/CMakeCache.txt")
for h in "${want_list[@]}"; do
  printf '#include "%s"\n' "$h" \
    | "$CXX_BIN" -std=c++17 -fsyntax-only -x c++ -I"$PREFIX/include" - \
    || fail "installed $h does not compile on its own"
done

# --- 4. pkg-config -------------------------------------------------------------
step "pkg-config file"
pcfile=$(find "$PREFIX" -path '*/pkgconfig/beckon.pc' -print -quit)
[[ -n "$pcfile" ]] || fail "beckon.pc is not installed under */pkgconfig/"
echo "installed: $pcfile"
if command -v pkg-config >/dev/null 2>&1; then
  PKG_CONFIG_PATH="$(dirname "$pcfile")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  export PKG_CONFIG_PATH
  want_ver=$(sed -n 's/^#define BECKON_VERSION_STRING "\(.*\)"/\1/p' \
               "$SRC/include/beckon/version.h")
  pc_ver=$(pkg-config --modversion beckon) \
    || fail "pkg-config cannot read beckon.pc"
  [[ "$pc_ver" == "$want_ver" ]] \
    || fail "beckon.pc says version '$pc_ver', version.h says '$want_ver'"
  pc_inc=$(realpath -m "$(pkg-config --variable=includedir beckon)")
  [[ "$pc_inc" == "$PREFIX/include" ]] \
    || fail "beckon.pc includedir is '$pc_inc', not '$PREFIX/include'"
  # The flags it gives must be enough to build and link a consumer (the
  # library is static: its dependencies are in Requires, so plain --libs).
  read -r -a pc_flags <<<"$(pkg-config --cflags --libs beckon)"
  echo "pkg-config --cflags --libs beckon: ${pc_flags[*]}"
  # libbeckon.a needs libbeckon_proto.so at run time: outside the loader's
  # paths a consumer names the prefix's lib directory, as for any library.
  pc_flags+=("-Wl,-rpath,$(pkg-config --variable=libdir beckon)")
  "$CXX_BIN" -std=c++17 "$HERE/consumer/main.cc" "${pc_flags[@]}" \
    -o "$SCRATCH/pkgconfig_consumer" \
    || fail "the consumer does not build with beckon.pc's flags"
  "$SCRATCH/pkgconfig_consumer" \
    || fail "pkg-config consumer exited with $?"

  step "README's C++ quick start, with -Wall -Wextra -Werror"
  # The block under "## Quick start (C++)", in a function of its own.
  quick=$SCRATCH/quick_start.cc
  {
    echo '#include <cstdint>'
    echo '#include <string>'
    echo '#include <vector>'
    sed -n '/^## Quick start (C++)/,/^```$/p' "$SRC/README.md" |
      sed -n '/^#include/p'
    echo 'static int shown = 0;'
    echo 'void ShowChatInvitation(const std::vector<std::string>& r) {'
    echo '  shown += static_cast<int>(r.size()); }'
    echo 'static int64_t timer = 0;'
    echo 'void SetTimer(int64_t at) { timer = at; }'
    echo 'int Run(int64_t now_ms, const std::string& visitor_id,'
    echo '        const std::string& referrer, int64_t free_agents) {'
    sed -n '/^## Quick start (C++)/,/^```$/p' "$SRC/README.md" |
      sed '1,/^```cpp$/d; /^```$/d; /^#include/d'
    echo '  return 0;'
    echo '}'
    echo 'int main() {'
    echo '  // A visitor just arrived on the returns page: wait, with a time'
    echo '  // to ask again.'
    echo '  return Run(1700000000000, "v", "https://www.google.com/", 3) == 0 &&'
    echo '         shown == 0 && timer > 1700000000000 ? 0 : 1;'
    echo '}'
  } >"$quick"
  "$CXX_BIN" -std=c++17 -Wall -Wextra -Werror "$quick" "${pc_flags[@]}" \
    -o "$SCRATCH/quick_start" \
    || fail "README's quick start does not compile with -Wall -Werror"
  "$SCRATCH/quick_start" || fail "README's quick start did not decide"

  step "install again with cmake --install --prefix (another prefix)"
  PREFIX2=$SCRATCH/prefix2
  rm -rf "$PREFIX2"
  cmake --install "$LIB_BUILD" --prefix "$PREFIX2" >/dev/null
  pc2=$(find "$PREFIX2" -path '*/pkgconfig/beckon.pc' -print -quit)
  [[ -n "$pc2" ]] || fail "no beckon.pc under $PREFIX2"
  inc2=$(realpath -m "$(PKG_CONFIG_PATH=$(dirname "$pc2") \
                        pkg-config --variable=includedir beckon)")
  [[ "$inc2" == "$PREFIX2/include" ]] \
    || fail "after --prefix $PREFIX2, beckon.pc says includedir '$inc2'"
  read -r -a pc2_flags <<<"$(PKG_CONFIG_PATH=$(dirname "$pc2") \
                             pkg-config --cflags --libs beckon)"
  pc2_flags+=("-Wl,-rpath,$(PKG_CONFIG_PATH=$(dirname "$pc2") \
                           pkg-config --variable=libdir beckon)")
  "$CXX_BIN" -std=c++17 "$HERE/consumer/main.cc" "${pc2_flags[@]}" \
    -o "$SCRATCH/pkgconfig_consumer2" \
    || fail "the consumer does not build against $PREFIX2"
  "$SCRATCH/pkgconfig_consumer2" || fail "consumer of $PREFIX2 failed"
  # The C ABI's .pc, from the second prefix: a C host links it.
  pcc=$(find "$PREFIX2" -path '*/pkgconfig/beckon_c.pc' -print -quit)
  if [[ -n "$pcc" ]]; then
    printf '%s\n' '#include <stdio.h>' '#include "beckon/beckon.h"' \
      'int main(void) { printf("%s\n", beckon_version()); return 0; }' \
      >"$SCRATCH/c_host.c"
    read -r -a pcc_flags <<<"$(PKG_CONFIG_PATH=$(dirname "$pcc") \
                               pkg-config --cflags --libs beckon_c)"
    cc -Wall -Werror "$SCRATCH/c_host.c" "${pcc_flags[@]}" \
      -Wl,-rpath,"$(dirname "$(dirname "$pcc")")" -o "$SCRATCH/c_host" \
      || fail "a C host does not build with beckon_c.pc's flags"
    "$SCRATCH/c_host" || fail "the C host failed"

    step "the C++ library and the C ABI in one process (installed)"
    # A C++ service that also hosts the C ABI: libbeckon.a and
    # libbeckon_c.so linked together. The generated protobuf code is in
    # libbeckon_proto.so alone, so it registers once (a second copy made
    # libprotobuf abort before main()).
    printf '%s\n' '#include <cstdio>' '#include "beckon/beckon.h"' \
      '#include "beckon/beckon.hpp"' \
      'int main() {' \
      '  beckon_policy_t* c = nullptr; char* err = nullptr;' \
      '  if (beckon_policy_default(&c, &err) != BECKON_OK) return 1;' \
      '  char* bytes = nullptr; size_t n = 0;' \
      '  if (beckon_policy_to_bytes(c, &bytes, &n, &err) != BECKON_OK) return 1;' \
      '  auto p = beckon::Policy::FromBytes(std::string_view(bytes, n));' \
      '  beckon_free(bytes); beckon_policy_destroy(c);' \
      '  if (!p.ok()) return 1;' \
      '  std::printf("%s\n", p->name().c_str());' \
      '  return p->name() == beckon::Policy::Default().name() ? 0 : 1;' \
      '}' >"$SCRATCH/both.cc"
    "$CXX_BIN" -std=c++17 -Wall -Werror "$SCRATCH/both.cc" "${pc2_flags[@]}" \
      "${pcc_flags[@]}" -o "$SCRATCH/both" \
      || fail "a C++ program does not link libbeckon.a with libbeckon_c.so"
    "$SCRATCH/both" || fail "libbeckon.a and libbeckon_c.so in one process failed"
  fi

  step "installed binaries find libbeckon_proto in the prefix"
  for f in "$PREFIX2/bin/beckon" "$PREFIX2"/lib*/libbeckon_c.so; do
    [[ -e "$f" ]] || continue
    if ldd "$f" | grep -q 'not found'; then
      ldd "$f" >&2
      fail "$f does not find its libraries"
    fi
  done
  if [[ -x "$PREFIX2/bin/beckon" ]]; then
    "$PREFIX2/bin/beckon" --version \
      || fail "the installed beckon tool does not run"
  fi
else
  echo "pkg-config not found: checked only that beckon.pc is installed"
fi

echo
echo "packaging: OK"
