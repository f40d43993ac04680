<?php

declare(strict_types=1);

namespace Beckon\Tests;

use Beckon\Channel;
use Beckon\Decision;
use Beckon\Engine;
use Beckon\EngineOptions;
use Beckon\Exception;
use Beckon\Stats;

final class EngineTest extends TestCase
{
    public function testAStuckVisitorIsOfferedHelpAtTheRecheckTime(): void
    {
        $e = $this->engine();
        $this->stuckVisitor($e, 'anna');
        $d = $e->decide('anna', self::T0 + 110 * self::SEC);
        $this->assertSame(Decision::WAIT, $d->action);
        $this->assertSame('dwell', $d->reason);
        $this->assertNotNull($d->recheckAtMs);
        $this->assertGreaterThan(self::T0 + 110 * self::SEC, $d->recheckAtMs);
        $offer = $e->decide('anna', $d->recheckAtMs);
        $this->assertTrue($offer->isOffer());
        $this->assertSame('score', $offer->reason);
        $this->assertGreaterThanOrEqual($offer->threshold, $offer->probability);
    }

    public function testADeclineIsRemembered(): void
    {
        $e = $this->engine();
        $this->stuckVisitor($e, 'anna');
        $t = $e->decide('anna', self::T0 + 110 * self::SEC)->recheckAtMs;
        $this->assertTrue($e->decide('anna', $t)->isOffer());
        $e->offerShown($t, 'anna', '/help/returns', Channel::Chat);
        $e->offerDeclined($t + 4 * self::SEC, 'anna', '/help/returns');
        $e->pageView($t + 60 * self::SEC, 'anna', '/help/shipping');
        $d = $e->decide('anna', $t + 60 * self::SEC);
        $this->assertSame(Decision::SUPPRESS, $d->action);
        $this->assertSame('declined', $d->reason);
        $this->assertStringContainsString('declined', implode(' ', $d->reasons()));
    }

    public function testSetPolicyKeepsVisitorsAndMetricsReadThem(): void
    {
        $e = $this->engine();
        $this->stuckVisitor($e, 'anna');
        $before = $e->decide('anna', self::T0 + 110 * self::SEC);
        $this->assertSame('beckon-default', $before->policyName());
        $this->assertMatchesRegularExpression('/^[0-9a-f]{16}$/',
                                              $before->policyVersion());
        $text = str_replace('name: "beckon-default"', 'name: "swapped"',
                            \Beckon\Policy::default()->toText());
        $e->setPolicy(\Beckon\Policy::fromText($text));
        $after = $e->decide('anna', self::T0 + 111 * self::SEC);
        $this->assertSame('swapped', $after->policyName());
        $this->assertNotSame($before->policyVersion(), $after->policyVersion());
        $this->assertSame(1, $e->stats()->liveSessions);
        $bad = str_replace('timeout_s: 1800', 'timeout_s: 900', $text);
        try {
            $e->setPolicy(\Beckon\Policy::fromText($bad));
            $this->fail('another session timeout was accepted');
        } catch (Exception\FailedPreconditionException $x) {
            $this->assertStringContainsString('timeout_s', $x->getMessage());
        }
        $metrics = $e->metricsText();
        $this->assertStringContainsString(
            "# TYPE beckon_decisions_total counter\n", $metrics);
        $this->assertStringContainsString('policy="swapped"', $metrics);
    }

    public function testDecisionLog(): void
    {
        $path = tempnam(sys_get_temp_dir(), 'beckon-decisions-');
        unlink($path);
        $e = new Engine(null, new EngineOptions(decisionLog: $path));
        $e->decide('nobody', self::T0);
        $e->decide('nobody', self::T0 + 1);
        unset($e);
        $lines = file($path, FILE_IGNORE_NEW_LINES);
        unlink($path);
        $this->assertCount(2, $lines);
        $row = json_decode($lines[0], true, flags: JSON_THROW_ON_ERROR);
        $this->assertSame('no_session', $row['reason']);
        $this->assertSame(self::T0, $row['ts_ms']);
    }

    public function testEveryEventKind(): void
    {
        $e = $this->engine();
        $t = self::T0;
        $e->agents($t, 2);
        $e->pageView($t, 'ben', '/c/shoes', null);
        $e->pageView($t + 1000, 'ben', '/p/1001', '');
        $e->search($t + 2000, 'ben', '/search?q=red', 12);
        $e->cart($t + 3000, 'ben', '/cart', 59.90);
        $e->purchase($t + 4000, 'ben', '/checkout/done', 59.90);
        $e->helpContact($t + 5000, 'cleo', '/help/shipping', Channel::Email);
        $e->offerShown($t + 6000, 'dora', '/p/1', Channel::Call);
        $e->offerAccepted($t + 7000, 'dora', '/p/1', Channel::Call);
        $e->offerShown($t + 8000, 'emil', '/p/2');
        $e->offerIgnored($t + 9000, 'emil', '/p/2', Channel::Form);
        $e->offerDeclined($t + 9500, 'fred', '/p/3', Channel::Unspecified);
        $s = $e->stats();
        // Visitors' events (the agents report is site-wide, not counted).
        $this->assertSame(11, $s->eventsObserved);
        $this->assertSame(0, $s->eventsRejected);
        $this->assertSame('engaged', $e->decide('dora', $t + 10000)->reason);
    }

    public function testAnUnknownVisitorIsNoSession(): void
    {
        $d = $this->engine()->decide('nobody', self::T0);
        $this->assertSame(Decision::WAIT, $d->action);
        $this->assertSame('no_session', $d->reason);
        $this->assertNull($d->recheckAtMs);
    }

    public function testNoAgentsNoOffer(): void
    {
        $e = $this->engine();
        $e->agents(self::T0, 0);
        $e->pageView(self::T0, 'carl', '/checkout/address');
        $e->pageView(self::T0 + self::SEC, 'carl', '/checkout/address');
        $d = $e->decide('carl', self::T0 + 13 * 60 * self::SEC);
        $this->assertSame(Decision::SUPPRESS, $d->action);
        $this->assertSame('no_agents', $d->reason);
    }

    public function testStats(): void
    {
        $e = $this->engine();
        $this->stuckVisitor($e, 'anna');
        $t = $e->decide('anna', self::T0 + 110 * self::SEC)->recheckAtMs;
        $e->decide('anna', $t);
        try {
            $e->pageView(self::T0, 'anna', '/');
        } catch (Exception\InvalidArgumentException) {
        }
        $s = $e->stats();
        $this->assertInstanceOf(Stats::class, $s);
        $this->assertSame(1, $s->liveSessions);
        $this->assertSame(1, $s->sessionsStarted);
        $this->assertSame(5, $s->eventsObserved);
        $this->assertSame(1, $s->eventsRejected);
        $this->assertSame(['offer' => 1, 'wait' => 1, 'suppress' => 0],
                          $s->decisionsByAction);
        $this->assertSame(1, $s->decisionsByReason['dwell']);
        $this->assertSame(1, $s->decisionsByReason['score']);
        $this->assertArrayHasKey('store_unavailable', $s->decisionsByReason);
        $this->assertSame(0, $s->storeRoundTrips);
        $this->assertSame(5, $s->fields['events_observed']);
        $this->assertCount(8, $s->fields['decisions_by_action']);
    }

    public function testExpire(): void
    {
        $e = $this->engine();
        $e->pageView(self::T0, 'anna', '/');
        $this->assertSame(1, $e->stats()->liveSessions);
        $e->expire(self::T0 + 86400 * self::SEC);
        $s = $e->stats();
        $this->assertSame(0, $s->liveSessions);
        $this->assertSame(1, $s->sessionsExpired);
    }

    public function testSnapshotAndRestore(): void
    {
        $e = $this->engine();
        $this->stuckVisitor($e, 'anna');
        $t = $e->decide('anna', self::T0 + 110 * self::SEC)->recheckAtMs;
        $e->decide('anna', $t);
        $e->offerDeclined($t + 1000, 'anna', '/help/returns');
        $snapshot = $e->snapshot();
        $this->assertNotSame('', $snapshot);
        $e->close();

        // A new engine (the same process's visitor key) remembers her.
        $f = new Engine(null, EngineOptions::memory(maxSessions: 1000, shards: 4));
        $f->restore($snapshot);
        $week = 7 * 86400 * self::SEC;
        $f->pageView(self::T0 + $week, 'anna', '/checkout/payment');
        $d = $f->decide('anna', self::T0 + $week + 600 * self::SEC);
        $this->assertSame('declined', $d->reason);

        $path = $this->tmpPath('.snapshot');
        $f->snapshotToFile($path);
        $g = $this->engine();
        $g->restoreFromFile($path);
        $this->assertSame($f->stats()->memoryRecords, $g->stats()->memoryRecords);
    }

    public function testPerRequestOptions(): void
    {
        $o = EngineOptions::perRequest();
        $this->assertFalse($o->usesRedis());
        $this->assertSame(1, $o->shards);
        $this->assertSame(EngineOptions::PER_REQUEST_SESSIONS, $o->maxSessions);
        $e = new Engine(null, $o);
        for ($i = 0; $i < 100; ++$i) {
            $e->pageView(self::T0 + $i, "v$i", '/');
        }
        $s = $e->stats();
        $this->assertSame(EngineOptions::PER_REQUEST_SESSIONS, $s->liveSessions);
        $this->assertSame(100 - EngineOptions::PER_REQUEST_SESSIONS, $s->sessionsEvicted);
    }

    public function testTheDefaultEngine(): void
    {
        $e = new Engine();
        $e->pageView(self::T0, 'anna', '/');
        $this->assertSame('beckon-default', $e->policy()->name());
        $this->assertSame(1, $e->stats()->liveSessions);
    }

    public function testEngineOptions(): void
    {
        $o = new EngineOptions(maxSessions: 10, maxMemoryRecords: 20, shards: 2,
                               visitorKey: '000102030405060708090a0b0c0d0e0f',
                               maxUrlBytes: 100, maxReferrerBytes: 50);
        $e = new Engine(null, $o);
        $e->pageView(self::T0, 'anna', str_repeat('x', 100), str_repeat('r', 50));
        $this->expectException(Exception\InvalidArgumentException::class);
        $this->expectExceptionMessage('101');
        $e->pageView(self::T0 + 1, 'anna', str_repeat('x', 101));
    }

    public function testAVisitorKeyFile(): void
    {
        $path = $this->tmpPath('.key');
        @unlink($path);
        $a = new Engine(null, new EngineOptions(shards: 1, visitorKeyFile: $path));
        $this->assertMatchesRegularExpression('/^[0-9a-f]{32}\s*$/', file_get_contents($path));
        $this->assertSame(0600, fileperms($path) & 0777);
        $a->offerDeclined(self::T0, 'anna', '/p/1');
        // Another engine with the same key file takes the snapshot.
        $b = new Engine(null, new EngineOptions(shards: 1, visitorKeyFile: $path));
        $b->restore($a->snapshot());
        $this->assertSame(1, $b->stats()->memoryRecords);
    }
}
