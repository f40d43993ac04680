<?php

declare(strict_types=1);

namespace Beckon\Tests;

use Beckon\Contribution;
use Beckon\Decision;
use Beckon\Exception;

final class DecisionTest extends TestCase
{
    private function waitDecision(): Decision
    {
        $e = $this->engine();
        $this->stuckVisitor($e, 'anna');
        return $e->decide('anna', self::T0 + 110 * self::SEC);
    }

    public function testScalars(): void
    {
        $d = $this->waitDecision();
        $this->assertSame('wait', $d->action);
        $this->assertSame(1, $d->actionCode);
        $this->assertSame('dwell', $d->reason);
        $this->assertSame(2, $d->reasonCode);
        $this->assertFalse($d->wouldOffer);
        $this->assertFalse($d->isOffer());
        $this->assertGreaterThan(0.0, $d->probability);
        $this->assertLessThanOrEqual(1.0, $d->probability);
        $this->assertGreaterThan(0.0, $d->threshold);
        $this->assertSame(self::T0 + 145 * self::SEC, $d->recheckAtMs);
        // A wait never offers; the default policy neither explores nor has
        // an uplift stage.
        $this->assertSame(0.0, $d->offerProbability);
        $this->assertFalse($d->explored);
        $this->assertNull($d->uplift);
    }

    /** The default policy with model.exploration or model.uplift added. */
    private function engineWithModel(string $extra): \Beckon\Engine
    {
        $text = \Beckon\Policy::default()->toText();
        $text = str_replace("\nmodel {\n", "\nmodel {\n$extra\n", $text);
        return new \Beckon\Engine(\Beckon\Policy::fromText($text),
                                  \Beckon\EngineOptions::perRequest());
    }

    public function testExplorationAndUpliftReachTheDecision(): void
    {
        $e = $this->engineWithModel(
            'exploration { share: 0.999 floor: 0.0001 salt: "c" }');
        $e->agents(self::T0, 5);
        $e->pageView(self::T0, 'erik', '/p/1');
        $d = $e->decide('erik', self::T0 + 300 * self::SEC);
        $this->assertLessThan($d->threshold, $d->probability);
        $this->assertTrue($d->isOffer());
        $this->assertTrue($d->explored);
        // Its chance: the share, of the 95% not held out.
        $this->assertEqualsWithDelta(0.999 * 0.95, $d->offerProbability, 1e-12);
        $this->assertNull($d->uplift);

        $u = $this->engineWithModel(
            'uplift { bias: 0.2 min_uplift: -0.5 outcome: "purchase" }');
        $this->stuckVisitor($u, 'ulla');
        $t = $u->decide('ulla', self::T0 + 110 * self::SEC)->recheckAtMs;
        $offer = $u->decide('ulla', $t);
        $this->assertTrue($offer->isOffer());
        $this->assertFalse($offer->explored);
        $this->assertEqualsWithDelta(2 / (1 + exp(-0.2)) - 1, $offer->uplift, 1e-12);
        $this->assertEqualsWithDelta(0.95, $offer->offerProbability, 1e-12);
    }

    public function testReasons(): void
    {
        $d = $this->waitDecision();
        $this->assertSame(4, $d->reasonCount);
        $reasons = $d->reasons();
        $this->assertCount(4, $reasons);
        $this->assertSame('dwell 10 s, below the page\'s threshold 45 s', $reasons[0]);
        $this->assertSame('2 searches with no results', $reasons[1]);
        $this->assertSame($reasons[2], $d->reason(2));
        $this->assertSame($reasons, $d->reasons());
    }

    public function testContributions(): void
    {
        $d = $this->waitDecision();
        $this->assertGreaterThan(0, $d->contributionCount);
        $cs = $d->contributions();
        $this->assertCount($d->contributionCount, $cs);
        $this->assertContainsOnlyInstancesOf(Contribution::class, $cs);
        $names = array_map(static fn (Contribution $c) => $c->feature, $cs);
        $this->assertCount(count($names), array_unique($names));
        foreach ($names as $n) {
            $this->assertMatchesRegularExpression('/^[a-z0-9_:\/.*-]+$/i', $n);
        }
        $sum = array_sum(array_map(static fn (Contribution $c) => $c->contribution, $cs));
        $this->assertNotEquals(0.0, $sum);
        $this->assertEquals($cs[0], $d->contribution(0));
    }

    public function testAReasonPastTheEnd(): void
    {
        $d = $this->waitDecision();
        $this->expectException(Exception\OutOfRangeException::class);
        $this->expectExceptionCode(11);
        $d->reason($d->reasonCount);
    }

    public function testANegativeIndex(): void
    {
        $this->expectException(Exception\OutOfRangeException::class);
        $this->waitDecision()->reason(-1);
    }

    public function testAContributionPastTheEnd(): void
    {
        $d = $this->waitDecision();
        $this->expectException(Exception\OutOfRangeException::class);
        $d->contribution($d->contributionCount);
    }

    public function testADecisionOutlivesItsEngine(): void
    {
        $e = $this->engine();
        $this->stuckVisitor($e, 'anna');
        $d = $e->decide('anna', self::T0 + 110 * self::SEC);
        $e->close();
        unset($e);
        gc_collect_cycles();
        $this->assertCount(4, $d->reasons());
        $this->assertNotEmpty($d->contributions());
    }

    public function testEachDecisionIsItsOwn(): void
    {
        $e = $this->engine();
        $this->stuckVisitor($e, 'anna');
        $wait = $e->decide('anna', self::T0 + 110 * self::SEC);
        $offer = $e->decide('anna', $wait->recheckAtMs);
        $none = $e->decide('nobody', $wait->recheckAtMs);
        // Read only now: each keeps its own reasons.
        $this->assertStringStartsWith('dwell 10 s', $wait->reasons()[0]);
        $this->assertNotSame($wait->reasons(), $offer->reasons());
        $this->assertSame('offer', $offer->action);
        $this->assertSame('no_session', $none->reason);
    }
}
