#!/usr/bin/env bash
# The multi-process PHP example against its single-process reference:
# examples/php/fpm_driver.php plays generated sessions with every request in
# a fresh `php request.php` process, several at once, over the live Redis of
# $BECKON_TEST_REDIS_URL (tests/redis/with_redis.sh sets it); fpm_reference
# plays the same sessions in one process on the in-memory store. Their
# outputs must be identical, and must cover what the example is for.
#
#   run_fpm.sh <fpm_reference> <fpm_driver.php> <libbeckon_c> [visitors] [jobs]
#
# Exits 0 when they agree, 1 when they differ (or a run fails), 77 (skipped)
# when php with FFI is not installed or BECKON_TEST_REDIS_URL is not set.
set -euo pipefail

SKIP=77
if [[ $# -lt 3 ]]; then
  echo "usage: $0 <fpm_reference> <fpm_driver.php> <libbeckon_c>" \
       "[visitors] [jobs]" >&2
  exit 2
fi
reference=$1 driver=$2 lib=$3 visitors=${4:-50} jobs=${5:-4}

skip() { echo "SKIPPED: $*"; exit $SKIP; }
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v php >/dev/null || skip "php is not installed (Debian: php-cli)"
php -d ffi.enable=1 -r 'exit(class_exists("FFI") ? 0 : 1);' ||
  skip "this php has no FFI extension"
base=${BECKON_TEST_REDIS_URL:-}
[[ -n "$base" ]] ||
  skip "BECKON_TEST_REDIS_URL not set (run under tests/redis/with_redis.sh)"
sep='?'; [[ "$base" == *\?* ]] && sep='&'
url="${base}${sep}prefix=fpm:$$:"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$reference" --write-policy="$tmp/shop.policy"

# request.php with the library preloaded at PHP's start (ffi.preload of
# beckon_ffi.h, as PHP-FPM would) answers as with --lib.
request=$(dirname "$driver")/request.php
row="1700000000000,preload-check,page_view,/help/returns,"
with_lib=$(php -d ffi.enable=1 "$request" --lib="$lib" \
             --redis="${url}lib:" "$row")
preloaded=$(LD_LIBRARY_PATH="$(cd "$(dirname "$lib")" && pwd)" \
            php -d ffi.enable=1 -d ffi.preload="$(dirname "$driver")/beckon_ffi.h" \
              "$request" --redis="${url}preloaded:" "$row") ||
  fail "request.php with ffi.preload failed"
[[ "$preloaded" == "$with_lib" && "$with_lib" == *" -> wait dwell "* ]] ||
  fail "preloaded: \"$preloaded\"; with --lib: \"$with_lib\""
echo "OK: request.php with the library preloaded answers as with --lib"

php "$driver" --lib="$lib" --redis="$url" --policy="$tmp/shop.policy" \
  --visitors="$visitors" --jobs="$jobs" --write-sessions="$tmp/sessions.csv" \
  >"$tmp/actual" 2>"$tmp/driver.log" ||
  { cat "$tmp/driver.log" >&2; fail "the driver failed"; }
cat "$tmp/driver.log"
"$reference" --policy="$tmp/shop.policy" "$tmp/sessions.csv" \
  >"$tmp/expected" || fail "fpm_reference failed"

if ! diff -u "$tmp/expected" "$tmp/actual" >"$tmp/diff"; then
  echo "FAIL: the PHP processes over Redis decided differently from one" \
       "process in memory (- reference, + PHP over Redis):" >&2
  head -n 60 "$tmp/diff" >&2
  exit 1
fi

# What the sessions must have exercised (counted in the reference's output,
# which is the driver's): a vacuous comparison would pass too.
count() { grep -c -E -- "$1" "$tmp/expected" || true; }
check() {  # check <what> <minimum> <regex>
  local n
  n=$(count "$3")
  echo "  $1: $n"
  [[ $n -ge $2 ]] || fail "expected at least $2 of: $1"
}
echo "OK: $(wc -l <"$tmp/expected") requests, identical; they include"
seen=$(awk '$2 ~ /^v[0-9]+-/ { v[$2] = 1 } END { print length(v) }' \
        "$tmp/expected")
echo "  visitors: $seen"
[[ $seen -eq $visitors ]] || fail "expected $visitors visitors, saw $seen"
check "offers" 10 ' -> offer '
check "timer requests (--decide)" 10 ' decide -> '
check "declines recorded" 5 ' offer_declined -> ok'
check "ignored offers recorded" 2 ' offer_ignored -> ok'
check "accepted offers recorded" 2 ' offer_accepted -> ok'
check "later requests of declined visitors" 5 ' -> suppress declined '
check "decisions on help pages" 10 \
  ' -> .*(/help/\*|/help/returns|/help/shipping|/contact) leads to help'
check "engaged visitors held back" 2 ' -> suppress engaged '
check "ignore gate" 1 ' -> suppress ignored '
# A returner declines, is held back days later, and after the 30-day
# cooldown is offered again.
again=$(awk '$2 ~ /-returner$/ && $3 == "offer_declined" { d[$2] = $1 }
             $2 ~ /-returner$/ && $5 == "offer" && ($2 in d) &&
               $1 - d[$2] > 30 * 86400000 { n++ }
             END { print n + 0 }' "$tmp/expected")
echo "  returners offered again after the cooldown: $again"
[[ $again -ge 1 ]] || fail "no returner was offered again after the cooldown"
