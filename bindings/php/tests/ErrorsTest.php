<?php

declare(strict_types=1);

namespace Beckon\Tests;

use Beckon\BeckonException;
use Beckon\Channel;
use Beckon\Engine;
use Beckon\EngineOptions;
use Beckon\Exception;

/**
 * Every C error becomes a PHP exception of the status's class, with the C
 * message; misuse the C ABI cannot see (a NUL byte in text, an integer its
 * parameter type cannot hold) is refused in PHP before the call.
 */
final class ErrorsTest extends TestCase
{
    public function testEveryStatusHasItsClass(): void
    {
        $classes = [
            1 => 'Cancelled', 2 => 'Unknown', 3 => 'InvalidArgument',
            4 => 'DeadlineExceeded', 5 => 'NotFound', 6 => 'AlreadyExists',
            7 => 'PermissionDenied', 8 => 'ResourceExhausted',
            9 => 'FailedPrecondition', 10 => 'Aborted', 11 => 'OutOfRange',
            12 => 'Unimplemented', 13 => 'Internal', 14 => 'Unavailable',
            15 => 'DataLoss', 16 => 'Unauthenticated'];
        $lib = \Beckon\Library::get();
        foreach ($classes as $code => $name) {
            $status = $lib->statusName($code);
            $e = BeckonException::fromStatus($code, $status, "message $code");
            $this->assertInstanceOf("Beckon\\Exception\\{$name}Exception", $e);
            $this->assertInstanceOf(\RuntimeException::class, $e);
            $this->assertSame($code, $e->getCode());
            $this->assertSame($status, $e->getStatus());
            $this->assertSame("message $code", $e->getMessage());
            // Made directly, a subclass knows its code and name.
            $class = "Beckon\\Exception\\{$name}Exception";
            $direct = new $class('m');
            $this->assertSame($code, $direct->getCode());
            $this->assertSame($status, $direct->getStatus());
        }
        $other = BeckonException::fromStatus(42, 'STATUS_42', 'm');
        $this->assertSame(BeckonException::class, get_class($other));
        $this->assertSame('STATUS_42', $other->getStatus());
    }

    /** @return array<string, array{callable(Engine): void, string}> */
    public static function rejectedEvents(): array
    {
        $t = self::T0;
        return [
            'time before the last event' => [
                static fn (Engine $e) => $e->pageView($t - 1, 'anna', '/'),
                'time went backwards'],
            'negative time' => [
                static fn (Engine $e) => $e->pageView(-5, 'ben', '/'), 'ts_ms'],
            'time past the range' => [
                static fn (Engine $e) => $e->pageView(PHP_INT_MAX, 'ben', '/'),
                'ts_ms'],
            'empty visitor id' => [
                static fn (Engine $e) => $e->pageView($t, '', '/'), 'visitor'],
            'visitor id of 129 bytes' => [
                static fn (Engine $e) => $e->pageView($t, str_repeat('v', 129), '/'),
                'visitor'],
            'negative result count' => [
                static fn (Engine $e) => $e->search($t, 'ben', '/s', -1), 'results'],
            'negative cart value' => [
                static fn (Engine $e) => $e->cart($t, 'ben', '/cart', -0.5), 'cart'],
            'cart value not finite' => [
                static fn (Engine $e) => $e->cart($t, 'ben', '/cart', NAN), 'cart'],
            'order value infinite' => [
                static fn (Engine $e) => $e->purchase($t, 'ben', '/done', INF),
                'purchase value'],
            'order value of 1e15' => [
                static fn (Engine $e) => $e->purchase($t, 'ben', '/done', 1e15),
                'purchase value'],
            'agents out of range' => [
                static fn (Engine $e) => $e->agents($t, 1000001), 'agents'],
            'negative agents' => [
                static fn (Engine $e) => $e->agents($t, -1), 'agents'],
            'a page longer than 8192 bytes' => [
                static fn (Engine $e) => $e->pageView($t, 'ben', '/' . str_repeat('p', 8192)),
                '8192'],
            'a referrer longer than 8192 bytes' => [
                static fn (Engine $e) => $e->pageView($t, 'ben', '/', str_repeat('r', 8193)),
                '8192'],
        ];
    }

    /** @dataProvider rejectedEvents */
    public function testARejectedEventChangesNothing(callable $call, string $mentions): void
    {
        $e = $this->engine();
        $e->pageView(self::T0, 'anna', '/');
        $before = $e->snapshot();
        try {
            $call($e);
            $this->fail('no exception');
        } catch (Exception\InvalidArgumentException $x) {
            $this->assertSame(3, $x->getCode());
            $this->assertSame('INVALID_ARGUMENT', $x->getStatus());
            $this->assertStringContainsStringIgnoringCase($mentions, $x->getMessage());
        }
        $this->assertSame($before, $e->snapshot());
        $this->assertSame(1, $e->stats()->eventsRejected);
    }

    /** @return array<string, array{callable(Engine): mixed}> */
    public static function badDecisions(): array
    {
        return [
            'empty visitor id' => [static fn (Engine $e) => $e->decide('', self::T0)],
            'long visitor id' => [static fn (Engine $e) => $e->decide(str_repeat('v', 129), self::T0)],
            'negative time' => [static fn (Engine $e) => $e->decide('anna', -1)],
            'time before the last event' => [static fn (Engine $e) => $e->decide('anna', self::T0 - 1)],
            'expire at a negative time' => [static fn (Engine $e) => $e->expire(-1)],
        ];
    }

    /** @dataProvider badDecisions */
    public function testABadDecisionCall(callable $call): void
    {
        $e = $this->engine();
        $e->pageView(self::T0, 'anna', '/');
        $this->expectException(Exception\InvalidArgumentException::class);
        $call($e);
    }

    /** @return array<string, array{callable(Engine): mixed, string}> */
    public static function nulBytes(): array
    {
        return [
            'visitor' => [static fn (Engine $e) => $e->pageView(self::T0, "anna\0x", '/'), 'visitor'],
            'page' => [static fn (Engine $e) => $e->search(self::T0, 'anna', "/s\0", 1), 'page'],
            'referrer' => [static fn (Engine $e) => $e->pageView(self::T0, 'anna', '/', "r\0"), 'referrer'],
            'decide' => [static fn (Engine $e) => $e->decide("anna\0", self::T0), 'visitor'],
            'offer' => [static fn (Engine $e) => $e->offerDeclined(self::T0, "\0", '/'), 'visitor'],
            'snapshot path' => [static fn (Engine $e) => $e->snapshotToFile("/tmp/x\0"), 'path'],
        ];
    }

    /**
     * A visitor id "anna\0x" must not become "anna": refused in PHP.
     *
     * @dataProvider nulBytes
     */
    public function testNulBytesInText(callable $call, string $what): void
    {
        $e = $this->engine();
        try {
            $call($e);
            $this->fail('no exception');
        } catch (Exception\InvalidArgumentException $x) {
            $this->assertSame("$what contains a NUL byte (text is NUL-terminated UTF-8)",
                              $x->getMessage());
        }
        $this->assertSame(0, $e->stats()->liveSessions);
    }

    public function testAClosedEngine(): void
    {
        $e = $this->engine();
        $e->close();
        $e->close();
        $calls = [
            'beckon_engine_observe_page_view' => static fn () => $e->pageView(self::T0, 'a', '/'),
            'beckon_engine_observe_offer_declined' => static fn () => $e->offerDeclined(self::T0, 'a', '/'),
            'beckon_engine_observe_agents' => static fn () => $e->agents(self::T0, 1),
            'beckon_engine_decide' => static fn () => $e->decide('a', self::T0),
            'beckon_engine_expire' => static fn () => $e->expire(self::T0),
            'beckon_engine_snapshot' => static fn () => $e->snapshot(),
            'beckon_engine_restore' => static fn () => $e->restore('x'),
            'beckon_engine_stats' => static fn () => $e->stats(),
            'beckon_engine_policy' => static fn () => $e->policy(),
        ];
        foreach ($calls as $fn => $call) {
            try {
                $call();
                $this->fail("$fn: no exception");
            } catch (Exception\InvalidArgumentException $x) {
                $this->assertSame("$fn: engine is NULL", $x->getMessage());
            }
        }
    }

    public function testAMalformedSnapshot(): void
    {
        $e = $this->engine();
        $e->pageView(self::T0, 'anna', '/');
        try {
            $e->restore("not a snapshot at all");
            $this->fail('no exception');
        } catch (Exception\DataLossException $x) {
            $this->assertSame(15, $x->getCode());
        }
        $this->assertSame(1, $e->stats()->liveSessions, 'nothing changed');
    }

    public function testASnapshotUnderAnotherVisitorKey(): void
    {
        $a = new Engine(null, new EngineOptions(shards: 1, visitorKey: str_repeat('1', 32)));
        $a->pageView(self::T0, 'anna', '/');
        $b = new Engine(null, new EngineOptions(shards: 1, visitorKey: str_repeat('f', 32)));
        $this->expectException(Exception\FailedPreconditionException::class);
        $b->restore($a->snapshot());
    }

    public function testAMissingSnapshotFile(): void
    {
        $this->expectException(Exception\NotFoundException::class);
        $this->engine()->restoreFromFile('/nonexistent/state.snapshot');
    }

    public function testOptionsTheEngineRefuses(): void
    {
        foreach ([['shards' => 3], ['shards' => 0], ['maxSessions' => 0],
                  ['maxMemoryRecords' => 0], ['maxUrlBytes' => 0]] as $args) {
            $o = new EngineOptions(...$args);
            try {
                new Engine(null, $o);
                $this->fail('no exception for ' . json_encode($args));
            } catch (Exception\InvalidArgumentException $x) {
                $this->assertNotSame('', $x->getMessage());
            }
        }
    }

    public function testOptionsRefusedInPhp(): void
    {
        $cases = [
            [['maxSessions' => -1], 'maxSessions must not be negative'],
            [['shards' => 1 << 32], 'shards must be in [0, 4294967295]'],
            [['maxUrlBytes' => -1], 'maxUrlBytes'],
            [['visitorKey' => 'xyz'], 'visitorKey must be 32 hex digits'],
            [['redisUrl' => "redis://h\0"], 'redisUrl contains a NUL byte'],
        ];
        foreach ($cases as [$args, $message]) {
            try {
                new EngineOptions(...$args);
                $this->fail('no exception for ' . json_encode($args));
            } catch (Exception\InvalidArgumentException $x) {
                $this->assertStringContainsString($message, $x->getMessage());
            }
        }
    }

    public function testABadRedisUrl(): void
    {
        $this->expectException(Exception\InvalidArgumentException::class);
        $this->expectExceptionMessage('redis://');
        EngineOptions::redis('http://127.0.0.1:6379');
    }

    public function testABothKeysOption(): void
    {
        $this->expectException(Exception\InvalidArgumentException::class);
        new Engine(null, new EngineOptions(visitorKey: str_repeat('1', 32),
                                           visitorKeyFile: $this->tmpPath('.key')));
    }

    public function testAChannelName(): void
    {
        $this->assertSame(Channel::Chat, Channel::fromName('chat'));
        $this->assertSame(Channel::Unspecified, Channel::fromName(''));
        $this->expectException(Exception\InvalidArgumentException::class);
        Channel::fromName('pigeon');
    }
}
