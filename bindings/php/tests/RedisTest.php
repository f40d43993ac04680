<?php

declare(strict_types=1);

namespace Beckon\Tests;

use Beckon\Channel;
use Beckon\Decision;
use Beckon\Engine;
use Beckon\EngineOptions;
use Beckon\Exception;
use Beckon\Policy;

/**
 * The Redis store, against the private redis-server of
 * tests/redis/with_redis.sh (ctest php_package_redis). Engines made one
 * after another, or in separate php processes, stand for PHP-FPM's
 * requests and workers: they share every visitor through Redis only.
 *
 * @group redis
 */
final class RedisTest extends TestCase
{
    public function testOptions(): void
    {
        $url = $this->redisUrl('options');
        $o = EngineOptions::redis($url);
        $this->assertTrue($o->usesRedis());
        $this->assertSame($url, $o->redisUrl);
        $this->assertTrue(EngineOptions::perRequest($url)->usesRedis());
    }

    public function testEnginesPerRequestShareTheVisitor(): void
    {
        $url = $this->redisUrl('per_request');
        // Every request: its own engine, one event, maybe a decision.
        $request = static function (callable $f) use ($url): ?Decision {
            $engine = new Engine(Policy::default(), EngineOptions::perRequest($url));
            return $f($engine);
        };
        $t = self::T0;
        $request(fn (Engine $e) => $this->stuckVisitor($e, 'anna'));
        $wait = $request(fn (Engine $e) => $e->decide('anna', $t + 110 * self::SEC));
        $this->assertSame('wait', $wait->action);
        $this->assertSame('dwell', $wait->reason);
        $offer = $request(fn (Engine $e) => $e->decide('anna', $wait->recheckAtMs));
        $this->assertSame('offer', $offer->action);
        $at = $wait->recheckAtMs;
        $request(fn (Engine $e) => $e->offerShown($at, 'anna', '/help/returns', Channel::Chat));
        $request(fn (Engine $e) => $e->offerDeclined($at + 3000, 'anna', '/help/returns'));
        $request(fn (Engine $e) => $e->pageView($at + 60 * self::SEC, 'anna', '/contact'));
        $d = $request(fn (Engine $e) => $e->decide('anna', $at + 60 * self::SEC));
        $this->assertSame('suppress', $d->action);
        $this->assertSame('declined', $d->reason);

        // An engine under another prefix knows nothing of her.
        $other = new Engine(null, EngineOptions::redis($this->redisUrl('elsewhere')));
        $this->assertSame('no_session', $other->decide('anna', $at + 61 * self::SEC)->reason);
    }

    public function testSeparateProcessesShareTheVisitor(): void
    {
        $url = $this->redisUrl('processes');
        $script = <<<'PHP'
            require getenv('BECKON_AUTOLOAD');
            [, $what, $ts] = $argv;
            $e = new Beckon\Engine(null, Beckon\EngineOptions::perRequest(getenv('URL')));
            if ($what === 'decline') {
                $e->offerDeclined((int)$ts, 'ben', '/help/returns');
                echo "ok\n";
            } else {
                $e->pageView((int)$ts, 'ben', '/help/returns');
                echo $e->decide('ben', (int)$ts)->reason, "\n";
            }
            PHP;
        $env = ['BECKON_AUTOLOAD' => __DIR__ . '/../autoload.php', 'URL' => $url];
        [$s1, $o1, $e1] = self::runCommand([PHP_BINARY, '-r', $script, 'decline',
                                            (string)self::T0], $env);
        $this->assertSame([0, "ok\n"], [$s1, $o1], $e1);
        [$s2, $o2, $e2] = self::runCommand([PHP_BINARY, '-r', $script, 'view',
                                            (string)(self::T0 + 1000)], $env);
        $this->assertSame([0, "declined\n"], [$s2, $o2], $e2);
    }

    public function testStatsSnapshotAndRestore(): void
    {
        // A snapshot restores under the same visitor key only: the engines
        // of one site share one (given here; else the fleet's, in Redis).
        $key = '00112233445566778899aabbccddeeff';
        $e = new Engine(null, new EngineOptions(redisUrl: $this->redisUrl('snapshot'),
                                                visitorKey: $key));
        $this->stuckVisitor($e, 'anna');
        $e->offerDeclined(self::T0 + 200 * self::SEC, 'anna', '/help/returns');
        $s = $e->stats();
        $this->assertGreaterThan(0, $s->storeRoundTrips);
        $this->assertSame(0, $s->storeErrors);
        $this->assertSame(1, $s->liveSessions);
        $this->assertSame(1, $s->memoryRecords);
        $snapshot = $e->snapshot();

        // Into memory and into another prefix: the decline comes along.
        $m = new Engine(null, new EngineOptions(shards: 1, visitorKey: $key));
        $m->restore($snapshot);
        $this->assertSame(1, $m->stats()->memoryRecords);
        $r = new Engine(null, new EngineOptions(redisUrl: $this->redisUrl('restored'),
                                                visitorKey: $key));
        $r->restore($snapshot);
        $r->pageView(self::T0 + 300 * self::SEC, 'anna', '/contact');
        $this->assertSame('declined', $r->decide('anna', self::T0 + 300 * self::SEC)->reason);
    }

    public function testAnUnreachableRedis(): void
    {
        $this->redisUrl('unreachable');  // Skipped like the rest without Redis.
        $down = 'redis://127.0.0.1:1/0?connect_timeout_ms=50&command_timeout_ms=50'
            . '&backoff_min_ms=1&backoff_max_ms=2';
        // Without a visitor key of its own an engine needs the fleet's,
        // from Redis.
        try {
            new Engine(null, EngineOptions::redis($down));
            $this->fail('no exception');
        } catch (Exception\UnavailableException $x) {
            $this->assertStringContainsString('visitor key', $x->getMessage());
        }
        $e = new Engine(null, new EngineOptions(redisUrl: $down,
                                                visitorKey: str_repeat('ab', 16)));
        // Deciding never offers: suppress, store_unavailable.
        $d = $e->decide('anna', self::T0);
        $this->assertSame('suppress', $d->action);
        $this->assertSame('store_unavailable', $d->reason);
        // An event that cannot be stored is an exception to report again.
        try {
            $e->offerDeclined(self::T0, 'anna', '/help/returns');
            $this->fail('no exception');
        } catch (Exception\UnavailableException $x) {
            $this->assertSame(14, $x->getCode());
            $this->assertSame('UNAVAILABLE', $x->getStatus());
        }
        $this->assertGreaterThan(0, $e->stats()->storeErrors);
    }

    public function testCredentialsRedisRefuses(): void
    {
        $url = $this->redisUrl('auth');
        $bad = preg_replace('#^redis://#', 'redis://nobody:wrong@', $url);
        $this->expectException(Exception\PermissionDeniedException::class);
        new Engine(null, EngineOptions::redis($bad));
    }
}
