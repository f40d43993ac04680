#!/usr/bin/env bash
# Installs the Node.js example's one dependency, the koffi FFI package, from
# npm into examples/node/node_modules (git-ignored), unless it is there.
# Debian has no koffi package, and npm's registry may be unreachable: then
# this says so and still succeeds, and the Node.js example's test reports
# itself as skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=examples/node
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: node or npm not found: the Node.js example test will be" \
       "skipped" >&2
  exit 0
fi
has_koffi() { (cd "$dir" && node -e 'require.resolve("koffi")') >/dev/null 2>&1; }
if has_koffi; then
  exit 0
fi

echo "setup: installing koffi into $dir/node_modules with npm" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
timeout 300 npm install --prefix "$dir" --no-package-lock --no-audit \
  --no-fund --fetch-retries=1 --fetch-timeout=30000 >"$log" 2>&1 || true
if ! has_koffi; then
  echo "setup: could not install koffi from npm (is the npm registry" \
       "reachable?): the Node.js example test will be skipped. npm said:" >&2
  tail -n 5 "$log" >&2
fi
exit 0
