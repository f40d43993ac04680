#!/usr/bin/env bash
# Installs the Node.js package's dependencies from npm, unless they are
# there: koffi (the FFI package) and, for its tests, typescript and
# @types/node, into bindings/node/node_modules; then links the package into
# examples/node/node_modules for the example (all git-ignored).
# Debian has no koffi package, and npm's registry may be unreachable: then
# this says so and still succeeds, and the Node.js tests report themselves
# as skipped (without typescript only the type check is skipped).
set -euo pipefail
cd "$(dirname "$0")/.."

pkg=bindings/node
example=examples/node
bench=tests/bench/node
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: node or npm not found: the Node.js tests will be skipped" >&2
  exit 0
fi
resolves() { (cd "$1" && node -e "require.resolve('$2')") >/dev/null 2>&1; }
if resolves "$pkg" koffi && resolves "$pkg" typescript &&
   resolves "$example" beckon && resolves "$bench" json-rules-engine; then
  exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
npm_install() {
  timeout 300 npm install --prefix "$1" --no-package-lock --no-audit \
    --no-fund --fetch-retries=1 --fetch-timeout=30000 "${@:2}" >"$log" 2>&1
}

echo "setup: installing the dependencies of $pkg with npm" >&2
if ! npm_install "$pkg"; then
  # typescript and @types/node only type-check the declarations: koffi
  # alone runs everything else.
  npm_install "$pkg" --omit=dev || true
fi
if ! resolves "$pkg" koffi; then
  echo "setup: could not install koffi from npm (is the npm registry" \
       "reachable?): the Node.js tests will be skipped. npm said:" >&2
  tail -n 5 "$log" >&2
  exit 0
fi
resolves "$pkg" typescript ||
  echo "setup: typescript is not installed: the test of $pkg/index.d.ts" \
       "will be skipped" >&2

# The example depends on the package as file:../../bindings/node, which npm
# links (its dependencies are the ones installed above).
npm_install "$example" || true
if ! resolves "$example" beckon; then
  echo "setup: could not link the package into $example/node_modules:" \
       "the example loads it from $pkg instead. npm said:" >&2
  tail -n 5 "$log" >&2
fi

# The benchmark's comparison with json-rules-engine (tests/bench/node, its
# versions pinned by its package-lock.json), which the bench_compare test
# runs too.
if ! resolves "$bench" json-rules-engine; then
  echo "setup: installing the dependencies of $bench with npm" >&2
  timeout 300 npm ci --prefix "$bench" --no-audit --no-fund     --fetch-retries=1 --fetch-timeout=30000 >"$log" 2>&1 || true
  resolves "$bench" json-rules-engine ||
    { echo "setup: could not install $bench's dependencies: the Node.js" \
           "half of bench_compare will be skipped. npm said:" >&2
      tail -n 5 "$log" >&2; }
fi
exit 0
