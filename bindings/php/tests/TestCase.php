<?php

declare(strict_types=1);

namespace Beckon\Tests;

use Beckon\Engine;
use Beckon\EngineOptions;

/** Helpers of the package's tests. */
abstract class TestCase extends \PHPUnit\Framework\TestCase
{
    /** A Tuesday in November 2023. */
    public const T0 = 1700000000000;
    public const SEC = 1000;

    /** @var list<string> */
    private array $tmpFiles = [];

    protected function tearDown(): void
    {
        foreach ($this->tmpFiles as $f) {
            @unlink($f);
        }
        $this->tmpFiles = [];
    }

    /** A path for a temporary file, removed after the test. */
    protected function tmpPath(string $suffix = ''): string
    {
        $path = tempnam(sys_get_temp_dir(), 'beckon_php_') . $suffix;
        $this->tmpFiles[] = $path;
        $this->tmpFiles[] = preg_replace('/' . preg_quote($suffix, '/') . '$/',
                                         '', $path);
        return $path;
    }

    /** A small in-memory engine on the default policy. */
    protected function engine(): Engine
    {
        return new Engine(null, EngineOptions::perRequest());
    }

    /**
     * The visitor of docs/concepts.md who gets stuck looking for how to
     * return an item: at T0 + 110 s the answer is "wait" (dwell), and at its
     * recheck time an offer.
     */
    protected function stuckVisitor(Engine $e, string $v, int $t0 = self::T0): void
    {
        $e->agents($t0, 3);
        $e->pageView($t0, $v, '/', 'https://www.google.com/search?q=shop+returns');
        $e->pageView($t0 + 20 * self::SEC, $v, '/p/4711');
        $e->search($t0 + 70 * self::SEC, $v, '/search?q=return+label', 0);
        $e->search($t0 + 85 * self::SEC, $v, '/search?q=returns', 0);
        $e->pageView($t0 + 100 * self::SEC, $v, '/help/returns');
    }

    /** The live Redis of tests/redis/with_redis.sh, under a fresh prefix. */
    protected function redisUrl(string $name): string
    {
        $base = getenv('BECKON_TEST_REDIS_URL') ?: '';
        if ($base === '') {
            $this->markTestSkipped('BECKON_TEST_REDIS_URL is not set: run '
                . 'under tests/redis/with_redis.sh (ctest php_package_redis)');
        }
        return $base . (str_contains($base, '?') ? '&' : '?')
            . 'prefix=php:' . getmypid() . ":$name:";
    }

    /** The library file the tests load. */
    protected static function libraryPath(): string
    {
        $lib = getenv('BECKON_LIBRARY') ?: '';
        if ($lib === '') {
            self::fail('BECKON_LIBRARY is not set (tests/run_phpunit.sh sets it)');
        }
        return $lib;
    }

    /**
     * Runs a PHP binary on $args with $env added; returns [exit status,
     * stdout, stderr].
     *
     * @param list<string> $args
     * @param array<string, string> $env
     */
    protected static function runCommand(array $cmd, array $env = []): array
    {
        $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'],
                                 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
                          $pipes, null, [...getenv(), ...$env]);
        self::assertIsResource($proc, 'cannot start ' . implode(' ', $cmd));
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return [proc_close($proc), $out, $err];
    }
}
