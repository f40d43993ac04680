<?php
// PHPUnit's bootstrap: the package's autoloader and the tests' helpers.
// The library is $BECKON_LIBRARY (tests/run_phpunit.sh sets it), else the
// build tree's build/bindings/c/libbeckon_c.so.

declare(strict_types=1);

require __DIR__ . '/../autoload.php';
require __DIR__ . '/TestCase.php';

if ((getenv('BECKON_LIBRARY') ?: '') === '') {
    $built = __DIR__ . '/../../../build/bindings/c/libbeckon_c.so';
    if (is_file($built)) {
        putenv('BECKON_LIBRARY=' . realpath($built));
    }
}
