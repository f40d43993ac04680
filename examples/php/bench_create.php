<?php
// What an engine per request costs in PHP: the figures of
// docs/operations.md ("Per-request engines"). A benchmark, not a test.
//
//   php examples/php/bench_create.php LIB POLICY_FILE REDIS_URL [N]
//
// Each of N simulated requests (default 1000) does what request.php does:
// the library, an engine from the policy file over Redis, one decision, and
// the engine destroyed. Four shapes, each timed per request (median, 90th
// percentile, in microseconds):
//
//   load+create   the library loaded on every request (FFI::cdef, as
//                 without ffi.preload), then the engine
//   create        the library loaded once (ffi.preload, see docs/php.md),
//                 the engine created on every request
//   decide only   the engine kept across requests (a persistent worker)
//   process       a whole `php request.php` process (startup included), as
//                 examples/php/fpm_driver.php runs one per request

declare(strict_types=1);

require __DIR__ . '/../../bindings/php/autoload.php';

use Beckon\Engine;
use Beckon\EngineOptions;
use Beckon\Library;

function percentiles(array $us): string
{
    sort($us);
    $n = count($us);
    return sprintf('p50 %7.1f us   p90 %7.1f us', $us[intdiv($n, 2)],
                   $us[intdiv($n * 9, 10)]);
}

function timed(callable $f): float
{
    $t = hrtime(true);
    $f();
    return (hrtime(true) - $t) / 1e3;
}

function main(array $argv): int
{
    if (count($argv) < 4) {
        fwrite(STDERR, "usage: bench_create.php LIB POLICY_FILE REDIS_URL [N]\n");
        return 2;
    }
    [, $lib, $policy, $url] = $argv;
    $n = (int)($argv[4] ?? 1000);
    $ts = 1700000000000;
    $request = static function (Library $b) use ($policy, $url, &$ts): void {
        $engine = Engine::fromPolicyFile($policy, EngineOptions::redis($url, $b), $b);
        $engine->decide('bench-visitor', ++$ts);
    };

    printf("beckon engine per request, PHP %s, %d requests\n", PHP_VERSION, $n);
    $load = $create = $decide = [];
    for ($i = 0; $i < $n; ++$i) {
        $load[] = timed(static function () use ($lib, $request) {
            $request(Library::load($lib));
        });
    }
    printf("  %-14s %s\n", 'load+create', percentiles($load));
    $b = Library::load($lib);
    for ($i = 0; $i < $n; ++$i) {
        $create[] = timed(static fn () => $request($b));
    }
    printf("  %-14s %s\n", 'create', percentiles($create));
    $engine = Engine::fromPolicyFile($policy, EngineOptions::redis($url, $b), $b);
    for ($i = 0; $i < $n; ++$i) {
        $decide[] = timed(static fn () => $engine->decide('bench-visitor', ++$ts));
    }
    printf("  %-14s %s\n", 'decide only', percentiles($decide));
    $process = [];
    $cmd = [PHP_BINARY, __DIR__ . '/request.php',
            "--lib=$lib", "--redis=$url", "--policy=$policy"];
    for ($i = 0; $i < min($n, 200); ++$i) {
        $process[] = timed(static function () use ($cmd, &$ts) {
            $p = proc_open([...$cmd, '--decide', (++$ts) . ',bench-visitor'],
                           [1 => ['pipe', 'w']], $pipes);
            stream_get_contents($pipes[1]);
            proc_close($p);
        });
    }
    printf("  %-14s %s\n", 'process', percentiles($process));
    return 0;
}

exit(main($argv));
