<?php

declare(strict_types=1);

namespace Beckon;

use FFI\CData;

/**
 * The engine's answer for one visitor at one time (Engine::decide()). The
 * scalars are read at once; the readable reasons and the feature
 * contributions are read from the C decision when asked for (reasons() and
 * contributions()), which the hot path of a page that only needs the action
 * never pays for. A Decision owns its C decision and stays valid after its
 * engine is gone.
 */
final class Decision
{
    public const OFFER = 'offer';
    public const WAIT = 'wait';
    public const SUPPRESS = 'suppress';

    /** "offer", "wait" or "suppress". */
    public readonly string $action;
    /** The reason code: "score", "dwell", "declined", "no_agents", ... */
    public readonly string $reason;
    /** beckon_action and beckon_reason numbers (Stats counts by them). */
    public readonly int $actionCode;
    public readonly int $reasonCode;
    /** The model's probability, in [0, 1], and the threshold it was held against. */
    public readonly float $probability;
    public readonly float $threshold;
    /** A holdout suppress that would have offered. */
    public readonly bool $wouldOffer;
    /** When the answer could change (ask again then), or null. */
    public readonly ?int $recheckAtMs;
    /** How many reasons() and contributions() there are. */
    public readonly int $reasonCount;
    public readonly int $contributionCount;
    /**
     * The chance, over the engine's random draws (holdout, exploration),
     * that this decision goes past the score and the holdout (the
     * propensity to log for off-policy evaluation, docs/uplift.md), and
     * whether it is an exploration offer made below the threshold.
     */
    public readonly float $offerProbability;
    public readonly bool $explored;
    /** The expected purchase uplift (a policy with model.uplift), or null. */
    public readonly ?float $uplift;

    /** @var list<string>|null */
    private ?array $reasons = null;
    private CData $handle;

    /** @internal Engine::decide() makes it from a filled C decision. */
    public function __construct(private Library $library, CData $handle)
    {
        $this->handle = $handle;
        $ffi = $library->ffi;
        $info = $ffi->new('beckon_decision_info_t');
        $info->struct_size = Library::sizeof($info);
        $status = $ffi->beckon_decision_get_info($handle, Library::addr($info),
                                                 $library->errp);
        if ($status !== 0) {
            $library->raise($status);
        }
        $this->actionCode = $info->action;
        $this->reasonCode = $info->reason;
        $this->action = $ffi->beckon_action_name($info->action)
            ?? "action_$info->action";
        $this->reason = $ffi->beckon_reason_name($info->reason)
            ?? "reason_$info->reason";
        $this->probability = $info->probability;
        $this->threshold = $info->threshold;
        $this->wouldOffer = $info->would_offer !== 0;
        $this->recheckAtMs = $info->has_recheck_at !== 0
            ? $info->recheck_at_ms : null;
        $this->reasonCount = $info->reason_count;
        $this->contributionCount = $info->contribution_count;
        $this->offerProbability = $info->offer_probability;
        $this->explored = $info->explored !== 0;
        $this->uplift = $info->has_uplift !== 0 ? $info->uplift : null;
    }

    public function __destruct()
    {
        $this->library->ffi->beckon_decision_destroy($this->handle);
    }

    public function isOffer(): bool
    {
        return $this->action === self::OFFER;
    }

    /** The name of the policy the decision was made under. */
    public function policyName(): string
    {
        return $this->policy()[0];
    }

    /** That policy's version: 16 hex digits of a hash of its encoding. */
    public function policyVersion(): string
    {
        return $this->policy()[1];
    }

    /** @return array{0: string, 1: string} */
    private function policy(): array
    {
        $ffi = $this->library->ffi;
        $name = $ffi->new('char*');
        $version = $ffi->new('char*');
        $status = $ffi->beckon_decision_get_policy(
            $this->handle, Library::addr($name), Library::addr($version),
            $this->library->errp);
        $status === 0 || $this->library->raise($status);
        return [\FFI::string($name), \FFI::string($version)];
    }

    /**
     * The readable reasons, e.g. "declined an offer 2 d ago (cooldown 30 d)".
     *
     * @return list<string>
     */
    public function reasons(): array
    {
        if ($this->reasons === null) {
            $out = [];
            for ($i = 0; $i < $this->reasonCount; ++$i) {
                $out[] = $this->reason($i);
            }
            $this->reasons = $out;
        }
        return $this->reasons;
    }

    /**
     * Reason number $index (0 first).
     *
     * @throws Exception\OutOfRangeException past the end
     */
    public function reason(int $index): string
    {
        $ffi = $this->library->ffi;
        $text = $ffi->new('const char*');
        $status = $ffi->beckon_decision_get_reason(
            $this->handle, self::index($index), Library::addr($text),
            $this->library->errp);
        if ($status !== 0) {
            $this->library->raise($status);
        }
        return Library::text($text);
    }

    /**
     * What each model feature added to the log-odds, in feature order.
     *
     * @return list<Contribution>
     */
    public function contributions(): array
    {
        $out = [];
        for ($i = 0; $i < $this->contributionCount; ++$i) {
            $out[] = $this->contribution($i);
        }
        return $out;
    }

    /**
     * Contribution number $index.
     *
     * @throws Exception\OutOfRangeException past the end
     */
    public function contribution(int $index): Contribution
    {
        $ffi = $this->library->ffi;
        $feature = $ffi->new('const char*');
        $value = $ffi->new('double');
        $contribution = $ffi->new('double');
        $status = $ffi->beckon_decision_get_contribution(
            $this->handle, self::index($index), Library::addr($feature),
            Library::addr($value), Library::addr($contribution),
            $this->library->errp);
        if ($status !== 0) {
            $this->library->raise($status);
        }
        return new Contribution(Library::text($feature), $value->cdata,
                                $contribution->cdata);
    }

    /** An index the C ABI's uint32_t holds (FFI would wrap a negative one). */
    private static function index(int $index): int
    {
        if ($index < 0 || $index > 0xFFFFFFFF) {
            throw new Exception\OutOfRangeException(
                "index $index is out of range");
        }
        return $index;
    }
}
