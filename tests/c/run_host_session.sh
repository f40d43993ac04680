#!/usr/bin/env bash
# Runs one host example and compares what it prints with what the C++
# engine decides for the same session (session_reference).
#
#   run_host_session.sh <session_reference> c    <beckon_c_session>
#   run_host_session.sh <session_reference> php  <session.php> <libbeckon_c>
#   run_host_session.sh <session_reference> node <session.js>  <libbeckon_c>
#
# Exits 0 when the outputs are identical, 1 when they differ or the host
# fails, and 77 (reported by ctest as skipped) when the host's runtime is
# not installed: php-cli with FFI, or Node.js with the koffi package.
set -euo pipefail

SKIP=77
if [[ $# -lt 3 ]]; then
  echo "usage: $0 <session_reference> c|php|node <host> [libbeckon_c]" >&2
  exit 2
fi
reference=$1 kind=$2 host=$3 lib=${4:-}

skip() { echo "SKIPPED: $*"; exit $SKIP; }

case "$kind" in
  c) cmd=("$host") ;;
  php)
    command -v php >/dev/null || skip "php is not installed (Debian: php-cli)"
    php -d ffi.enable=1 -r 'exit(class_exists("FFI") ? 0 : 1);' \
      || skip "this php has no FFI extension"
    cmd=(php -d ffi.enable=1 "$host" "$lib") ;;
  node)
    command -v node >/dev/null || skip "node is not installed (Debian: nodejs)"
    if ! (cd "$(dirname "$host")" && node -e 'require.resolve("koffi")') \
         >/dev/null 2>&1; then
      skip "the koffi package is not installed for $(dirname "$host")" \
           "(scripts/setup.sh installs it with npm where the npm registry" \
           "is reachable; or run: npm install --prefix $(dirname "$host"))"
    fi
    cmd=(node "$host" "$lib") ;;
  *) echo "unknown host kind '$kind'" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$reference" >"$tmp/expected" || { echo "session_reference failed" >&2; exit 1; }
if ! "${cmd[@]}" >"$tmp/actual" 2>"$tmp/stderr"; then
  echo "FAIL: the $kind host exited with an error:" >&2
  cat "$tmp/stderr" >&2
  exit 1
fi
if [[ -s "$tmp/stderr" ]]; then
  echo "FAIL: the $kind host wrote to stderr:" >&2
  cat "$tmp/stderr" >&2
  exit 1
fi
if ! diff -u "$tmp/expected" "$tmp/actual" >"$tmp/diff"; then
  echo "FAIL: the $kind host's decisions differ from the C++ engine's" \
       "(- C++ engine, + $kind host):" >&2
  cat "$tmp/diff" >&2
  exit 1
fi
cat "$tmp/actual"
echo "OK: the $kind host printed $(wc -l <"$tmp/actual") lines, identical" \
     "to the C++ engine's"
