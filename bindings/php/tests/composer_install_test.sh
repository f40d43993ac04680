#!/usr/bin/env bash
# The package as a Composer user gets it: a shop project requires
# beckon/beckon from a path repository (offline: packagist.org disabled),
# `composer install` symlinks it into vendor/, and a script that loads only
# vendor/autoload.php makes a decision.
#
#   bindings/php/tests/composer_install_test.sh <libbeckon_c>
#
# Exits 77 (skipped) when composer is not installed (Debian: composer).
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 <libbeckon_c>" >&2; exit 2; }
command -v composer >/dev/null ||
  { echo "SKIPPED: composer is not installed (Debian: composer)"; exit 77; }
package=$(cd "$(dirname "$0")/.." && pwd)
lib=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export COMPOSER_HOME=$tmp/home COMPOSER_CACHE_DIR=$tmp/cache
export COMPOSER_ALLOW_SUPERUSER=1 COMPOSER_NO_INTERACTION=1
(cd "$package" && composer validate --no-check-publish --no-check-lock -q) ||
  { echo "FAIL: composer validate" >&2; exit 1; }
mkdir "$tmp/shop"
cat >"$tmp/shop/composer.json" <<JSON
{
    "name": "example/shop",
    "require": {"beckon/beckon": "*@dev"},
    "repositories": [{"type": "path", "url": "$package"}, {"packagist.org": false}]
}
JSON
cat >"$tmp/shop/index.php" <<'PHP'
<?php
require __DIR__ . '/vendor/autoload.php';
$engine = new Beckon\Engine(Beckon\Policy::default(), Beckon\EngineOptions::perRequest());
$engine->pageView(1700000000000, 'v1', '/help/returns');
$d = $engine->decide('v1', 1700000005000);
echo $d->action, ' ', $d->reason, "\n";
PHP
(cd "$tmp/shop" && composer install -q) || { echo "FAIL: composer install" >&2; exit 1; }
out=$(cd "$tmp/shop" && BECKON_LIBRARY=$lib php index.php)
[[ "$out" == "wait dwell" ]] || { echo "FAIL: printed \"$out\"" >&2; exit 1; }
echo "OK: composer install from a path repository; vendor/autoload.php loads Beckon\\Engine: $out"
