#!/usr/bin/env bash
# Runs the package's node --test suites for ctest (bindings/node/
# CMakeLists.txt registers it):
#
#   test/ctest.sh <libbeckon_c> [test files...]     # default: test/*.test.js
#
# Exits with node --test's status, or 77 (reported by ctest as skipped,
# saying why) when node is not installed or the package's koffi dependency
# is not (scripts/setup-node.sh installs it where npm's registry is
# reachable).
set -euo pipefail
SKIP=77
skip() { echo "SKIPPED: $*"; exit $SKIP; }

[[ $# -ge 1 ]] || { echo "usage: $0 <libbeckon_c> [test files...]" >&2; exit 2; }
lib=$1; shift
cd "$(dirname "$0")/.."

command -v node >/dev/null || skip "node is not installed (Debian: nodejs)"
if ! node -e 'require.resolve("koffi")' >/dev/null 2>&1; then
  skip "the koffi package is not installed in $PWD/node_modules" \
       "(scripts/setup-node.sh installs it with npm where the npm registry" \
       "is reachable; or run: npm install --prefix $PWD)"
fi
[[ $# -gt 0 ]] || set -- test/*.test.js
export BECKON_LIBRARY=$lib
exec node --test "$@"
