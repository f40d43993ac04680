#!/usr/bin/env bash
# Runs the PHP package's PHPUnit suite (bindings/php/phpunit.xml) on a
# built libbeckon_c:
#
#   bindings/php/tests/run_phpunit.sh <libbeckon_c> [phpunit arguments...]
#
# e.g. --exclude-group redis, or --group redis under tests/redis/
# with_redis.sh (which sets BECKON_TEST_REDIS_URL). Exits with phpunit's
# status; 77 (ctest's SKIP_RETURN_CODE) when php, its FFI extension or
# phpunit is not installed.
set -euo pipefail
SKIP=77
skip() { echo "SKIPPED: $*"; exit $SKIP; }
[[ $# -ge 1 ]] || { echo "usage: $0 <libbeckon_c> [phpunit args...]" >&2; exit 2; }
lib=$1; shift
command -v php >/dev/null || skip "php is not installed (Debian: php-cli)"
php -r 'exit(class_exists("FFI") ? 0 : 1);' || skip "this php has no FFI extension"
phpunit=${PHPUNIT:-phpunit}
command -v "$phpunit" >/dev/null ||
  skip "phpunit is not installed (Debian: phpunit; scripts/setup.sh installs it)"
here=$(cd "$(dirname "$0")/.." && pwd)
BECKON_LIBRARY=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
export BECKON_LIBRARY
exec "$phpunit" -c "$here/phpunit.xml" "$@"
