#!/usr/bin/env bash
# Runs one host example and compares what it prints with what the C++
# engine decides for the same session (session_reference).
#
#   run_host_session.sh [--redis] <session_reference> c    <beckon_c_session>
#   run_host_session.sh [--redis] <session_reference> php  <session.php> <lib>
#   run_host_session.sh [--redis] <session_reference> node <session.js>  <lib>
#
# With --redis (php and node), the host and the reference each keep their
# visitors in the live Redis of $BECKON_TEST_REDIS_URL (tests/redis/
# with_redis.sh sets it), under key prefixes of their own; the host must
# print what the C++ engine over Redis prints, and that must be what the
# C++ engine in memory decides, line for line (all but the closing stats
# line: Redis expires sessions by their TTLs, not by beckon_engine_expire).
#
# Exits 0 when the outputs are identical, 1 when they differ or the host
# fails, and 77 (reported by ctest as skipped) when the host's runtime is
# not installed (php-cli with FFI, or Node.js with the koffi package), or
# with --redis when BECKON_TEST_REDIS_URL is not set.
set -euo pipefail

SKIP=77
redis=0
if [[ "${1:-}" == "--redis" ]]; then redis=1; shift; fi
if [[ $# -lt 3 ]]; then
  echo "usage: $0 [--redis] <session_reference> c|php|node <host>" \
       "[libbeckon_c]" >&2
  exit 2
fi
reference=$1 kind=$2 host=$3 lib=${4:-}

skip() { echo "SKIPPED: $*"; exit $SKIP; }

# The hosts read $BECKON_REDIS_URL when given no URL: a memory run must not
# pick one up from the caller's environment.
unset BECKON_REDIS_URL
ref_url= host_url=
if [[ $redis -eq 1 ]]; then
  [[ "$kind" != c ]] || { echo "--redis: the C host takes no URL" >&2; exit 2; }
  base=${BECKON_TEST_REDIS_URL:-}
  [[ -n "$base" ]] ||
    skip "BECKON_TEST_REDIS_URL not set (run under tests/redis/with_redis.sh)"
  sep='?'; [[ "$base" == *\?* ]] && sep='&'
  ref_url="${base}${sep}prefix=host_session:$$:reference:"
  host_url="${base}${sep}prefix=host_session:$$:$kind:"
fi

case "$kind" in
  c) cmd=("$host") ;;
  php)
    command -v php >/dev/null || skip "php is not installed (Debian: php-cli)"
    php -d ffi.enable=1 -r 'exit(class_exists("FFI") ? 0 : 1);' \
      || skip "this php has no FFI extension"
    cmd=(php -d ffi.enable=1 "$host" "$lib" ${host_url:+"$host_url"}) ;;
  node)
    command -v node >/dev/null || skip "node is not installed (Debian: nodejs)"
    if ! (cd "$(dirname "$host")" && node -e 'require.resolve("koffi")') \
         >/dev/null 2>&1; then
      skip "the koffi package is not installed for $(dirname "$host")" \
           "(scripts/setup.sh installs it with npm where the npm registry" \
           "is reachable; or run: npm install --prefix $(dirname "$host"))"
    fi
    cmd=(node "$host" "$lib" ${host_url:+"$host_url"}) ;;
  *) echo "unknown host kind '$kind'" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$reference" ${ref_url:+"$ref_url"} >"$tmp/expected" ||
  { echo "session_reference failed" >&2; exit 1; }
if [[ $redis -eq 1 ]]; then
  # The rules run unchanged over Redis: the C++ engine decides the same.
  "$reference" >"$tmp/memory" || { echo "session_reference failed" >&2; exit 1; }
  stats='^stats since the restart:'
  if ! diff -u <(grep -v "$stats" "$tmp/memory") \
               <(grep -v "$stats" "$tmp/expected") >"$tmp/diff"; then
    echo "FAIL: the C++ engine decides differently over Redis than in" \
         "memory (- memory, + Redis):" >&2
    cat "$tmp/diff" >&2
    exit 1
  fi
  [[ $(grep -c -v "$stats" "$tmp/expected") -gt 50 ]] ||
    { echo "FAIL: the reference printed too little" >&2; exit 1; }
fi
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
over=
[[ $redis -eq 1 ]] && over=" (both over Redis; the same decisions as in memory)"
echo "OK: the $kind host printed $(wc -l <"$tmp/actual") lines, identical" \
     "to the C++ engine's$over"
