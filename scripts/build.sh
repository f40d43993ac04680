#!/usr/bin/env bash
# Configures and builds beckon in BUILD_DIR (default: build/).
#   scripts/build.sh [extra cmake arguments...]
# Environment: BUILD_DIR, BUILD_TYPE (default RelWithDebInfo), TARGETS.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir="${BUILD_DIR:-build}"
args=(-S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}")
command -v ninja >/dev/null && args+=(-G Ninja)
command -v ccache >/dev/null && args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache
                                       -DCMAKE_C_COMPILER_LAUNCHER=ccache)
# An existing build dir keeps its generator and launcher.
[ -f "$build_dir/CMakeCache.txt" ] &&
  args=(-S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}")
cmake "${args[@]}" "$@" >/dev/null
# shellcheck disable=SC2086
cmake --build "$build_dir" --parallel "$(nproc)" ${TARGETS:+--target $TARGETS}
