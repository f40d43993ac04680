#!/usr/bin/env bash
# All of beckon's tests: installs what is missing, builds with warnings as
# errors, and runs every test (ctest), the slow ones included: the C++
# tests, the C ABI hosts, the Python package's pytest suite and notebook.
#   scripts/test.sh            # everything
#   QUICK=1 scripts/test.sh    # skip tests labelled "slow"
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh -DBECKON_BUILD_TESTS=ON -DBECKON_BUILD_EXAMPLES=ON \
  -DBECKON_WERROR=ON -DBECKON_BUILD_PYTHON=ON \
  -DPython3_EXECUTABLE=/usr/bin/python3
ctest_args=(--test-dir "${BUILD_DIR:-build}" --output-on-failure
            --parallel "$(nproc)")
[ -n "${QUICK:-}" ] && ctest_args+=(--label-exclude slow)
ctest "${ctest_args[@]}"
