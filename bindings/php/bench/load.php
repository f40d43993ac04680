<?php
// What loading beckon and creating an engine cost a PHP request: the
// figures of docs/php.md ("PHP-FPM"). A benchmark, not a test.
//
//   php bindings/php/bench/load.php LIBBECKON_C [N]
//
// Per request (N times each, default 2000; median and 90th percentile):
//
//   cdef            the header read and FFI::cdef() (what Library::get()
//                   does on every request without preloading)
//   scope           FFI::scope('beckon') (with ffi.preload: the library was
//                   loaded at PHP's start); measured in a php started with
//                   -d ffi.preload=src/beckon_ffi.h
//   engine default  new Engine() and its destruction, default options
//                   (in memory: 1,000,000 sessions over 64 shards)
//   engine small    the same with EngineOptions::perRequest() (64
//                   sessions, 1 shard)
//
// and in fresh processes (N/20 of them): the first load of a process
// (FFI::cdef() mapping libbeckon_c and its libraries: a PHP-FPM worker's
// first request without preloading) against the first FFI::scope() of a
// process started with ffi.preload; and, for scale, whole `php` processes
// that load the library and make one decision (cdef, ffi.preload) and PHP
// starting alone.

declare(strict_types=1);

require __DIR__ . '/../autoload.php';

use Beckon\Engine;
use Beckon\EngineOptions;
use Beckon\Library;

function summary(string $what, array $us): void
{
    sort($us);
    $n = count($us);
    printf("  %-24s p50 %10.2f us   p90 %10.2f us   (%d runs)\n", $what,
           $us[intdiv($n, 2)], $us[intdiv($n * 9, 10)], $n);
}

/** @return list<float> microseconds per call of $f */
function times(int $n, callable $f): array
{
    $us = [];
    for ($i = 0; $i < $n; ++$i) {
        $t = hrtime(true);
        $f();
        $us[] = (hrtime(true) - $t) / 1e3;
    }
    return $us;
}

function run(array $cmd, array $env): string
{
    $p = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes,
                   null, [...getenv(), ...$env]);
    $out = stream_get_contents($pipes[1]);
    $err = stream_get_contents($pipes[2]);
    if (proc_close($p) !== 0 || $err !== '') {
        fwrite(STDERR, "failed: " . implode(' ', $cmd) . "\n$out$err");
        exit(1);
    }
    return $out;
}

if (($argv[1] ?? '') === '--first') {  // A fresh process: its first load.
    $t = hrtime(true);
    $lib = ($argv[2] ?? '') === '' ? Library::get() : Library::load($argv[2]);
    printf("%.3f %s\n", (hrtime(true) - $t) / 1e3, $lib->source);
    exit(0);
}
if (($argv[1] ?? '') === '--scope') {  // The child under ffi.preload.
    $n = (int)$argv[2];
    summary('scope', times($n, static function (): void {
        FFI::scope(Library::SCOPE);
    }));
    exit(0);
}
if (count($argv) < 2) {
    fwrite(STDERR, "usage: load.php LIBBECKON_C [N]\n");
    exit(2);
}
$lib = realpath($argv[1]) ?: $argv[1];
$n = (int)($argv[2] ?? 2000);
printf("beckon per PHP request, PHP %s, %s\n", PHP_VERSION, php_uname('m'));

summary('cdef', times($n, static function () use ($lib): void {
    $text = file_get_contents(Library::HEADER);
    FFI::cdef(preg_replace('/^#define FFI_(SCOPE|LIB) .*$/m', '', $text), $lib);
}));
$env = ['LD_LIBRARY_PATH' => dirname($lib)];
echo run([PHP_BINARY, '-d', 'ffi.preload=' . Library::HEADER, __FILE__,
          '--scope', (string)$n], $env);

$b = Library::load($lib);
summary('engine default', times(max(1, intdiv($n, 10)), static function () use ($b): void {
    $e = new Engine(null, null, $b);
    unset($e);
}));
$small = EngineOptions::perRequest(null, $b);
summary('engine small', times($n, static function () use ($b, $small): void {
    $e = new Engine(null, $small, $b);
    unset($e);
}));

// A fresh process's first load: the library and its dependencies mapped
// and relocated (a PHP-FPM worker's first request without preloading),
// against the scope of a process started with ffi.preload.
$processes = max(5, intdiv($n, 20));
$first = $firstScope = [];
for ($i = 0; $i < $processes; ++$i) {
    $first[] = (float)run([PHP_BINARY, __FILE__, '--first', $lib], []);
    $firstScope[] = (float)run([PHP_BINARY, '-d', 'ffi.preload=' . Library::HEADER,
                                __FILE__, '--first', ''], $env);
}
summary('first cdef of a process', $first);
summary('first scope, preloaded', $firstScope);

// For scale: whole php processes (start-up, one engine, one decision),
// which a PHP-FPM worker does not pay per request. Interleaved.
$script = 'require ' . var_export(__DIR__ . '/../autoload.php', true) . ';'
    . '$e = new Beckon\Engine(null, Beckon\EngineOptions::perRequest());'
    . '$e->pageView(1700000000000, "v", "/");'
    . 'echo $e->decide("v", 1700000001000)->action;';
$cdef = $preload = $none = [];
for ($i = 0; $i < $processes; ++$i) {
    $cdef[] = times(1, static fn () => run([PHP_BINARY, '-r', $script],
                                           ['BECKON_LIBRARY' => $lib]))[0];
    $preload[] = times(1, static fn () => run(
        [PHP_BINARY, '-d', 'ffi.preload=' . Library::HEADER, '-r', $script], $env))[0];
    $none[] = times(1, static fn () => run([PHP_BINARY, '-r', 'echo 1;'], []))[0];
}
summary('process: cdef', $cdef);
summary('process: ffi.preload', $preload);
summary('process: PHP alone', $none);
