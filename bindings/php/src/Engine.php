<?php

declare(strict_types=1);

namespace Beckon;

use FFI\CData;

/**
 * The decision engine (beckon_engine_t): feed it a visitor's events, ask it
 * whether to offer help now.
 *
 *   $engine = new Engine(Policy::fromFile('/etc/shop/shop.policy'),
 *                        EngineOptions::redis('redis://127.0.0.1:6379/0?prefix=shop:'));
 *   $engine->pageView($nowMs, $visitorId, '/help/returns', $referrer);
 *   $d = $engine->decide($visitorId, $nowMs);
 *   if ($d->isOffer()) { ... show the chat invitation ... }
 *
 * Time is an input: every call carries its timestamp in milliseconds since
 * the Unix epoch, and the engine never reads a clock. A visitor id is 1 to
 * 128 bytes; a page the URL or path ("" if none). An event the engine
 * rejects (a time before the visitor's last event, a bad id, a negative
 * value) throws Exception\InvalidArgumentException and changes nothing;
 * over Redis an event that cannot be stored throws
 * Exception\UnavailableException or Exception\AbortedException and should
 * be reported again (a decline above all). The C engine is freed by the
 * destructor, or by close().
 */
final class Engine
{
    private ?CData $handle = null;
    private Library $library;
    private \FFI $ffi;
    private CData $errp;

    /**
     * An engine deciding by $policy (the built-in default if null), with
     * $options (the in-memory defaults if null).
     */
    public function __construct(?Policy $policy = null,
                                ?EngineOptions $options = null,
                                ?Library $library = null)
    {
        $lib = $library ?? $policy?->library ?? $options?->library
            ?? Library::get();
        $this->init($lib);
        $h = $lib->ffi->new('beckon_engine_t*');
        $o = $options?->handle();
        $status = $policy === null
            ? $lib->ffi->beckon_engine_create_default($o, Library::addr($h),
                                                      $this->errp)
            : $lib->ffi->beckon_engine_create($policy->handle(), $o,
                                              Library::addr($h), $this->errp);
        $this->adopt($h, $status);
    }

    /**
     * An engine on a policy file (binary or text), without a Policy object
     * in between (what a per-request engine does).
     *
     * @throws Exception\NotFoundException when it cannot be opened
     * @throws Exception\InvalidArgumentException when it is not a policy
     */
    public static function fromPolicyFile(string $path,
                                          ?EngineOptions $options = null,
                                          ?Library $library = null): self
    {
        Library::checkText($path, 'path');
        $e = self::blank($library ?? $options?->library ?? Library::get());
        $h = $e->ffi->new('beckon_engine_t*');
        $e->adopt($h, $e->ffi->beckon_engine_create_from_policy_file(
            $path, $options?->handle(), Library::addr($h), $e->errp));
        return $e;
    }

    /** An engine on a binary protobuf policy. */
    public static function fromPolicyBytes(string $bytes,
                                           ?EngineOptions $options = null,
                                           ?Library $library = null): self
    {
        $e = self::blank($library ?? $options?->library ?? Library::get());
        $h = $e->ffi->new('beckon_engine_t*');
        $e->adopt($h, $e->ffi->beckon_engine_create_from_policy_bytes(
            $bytes, strlen($bytes), $options?->handle(), Library::addr($h),
            $e->errp));
        return $e;
    }

    public function __destruct()
    {
        $this->close();
    }

    /**
     * Frees the C engine now. Calls on a closed engine throw
     * Exception\InvalidArgumentException ("engine is NULL"). Decisions
     * already made stay valid.
     */
    public function close(): void
    {
        if ($this->handle !== null) {
            $this->ffi->beckon_engine_destroy($this->handle);
            $this->handle = null;
        }
    }

    /** The library this engine calls. */
    public function library(): Library
    {
        return $this->library;
    }

    /** A new handle to the policy the engine decides by. */
    public function policy(): Policy
    {
        return Policy::ofEngine($this->library, $this->handle);
    }

    // --- Events ---------------------------------------------------------

    /** A page view; $referrer the referrer URL, or null/"" for none. */
    public function pageView(int $tsMs, string $visitor, string $page,
                             ?string $referrer = null): void
    {
        self::check3($visitor, $page, $referrer ?? '');
        $s = $this->ffi->beckon_engine_observe_page_view(
            $this->handle, $tsMs, $visitor, $page, $referrer, $this->errp);
        $s === 0 || $this->library->raise($s);
    }

    /** A site search with $results results (0: none found). */
    public function search(int $tsMs, string $visitor, string $page,
                           int $results): void
    {
        self::check3($visitor, $page);
        $s = $this->ffi->beckon_engine_observe_search(
            $this->handle, $tsMs, $visitor, $page, $results, $this->errp);
        $s === 0 || $this->library->raise($s);
    }

    /** A cart change; $cartValue the cart's value after it. */
    public function cart(int $tsMs, string $visitor, string $page,
                         float $cartValue): void
    {
        self::check3($visitor, $page);
        $s = $this->ffi->beckon_engine_observe_cart(
            $this->handle, $tsMs, $visitor, $page, $cartValue, $this->errp);
        $s === 0 || $this->library->raise($s);
    }

    /** A purchase of $orderValue. */
    public function purchase(int $tsMs, string $visitor, string $page,
                             float $orderValue): void
    {
        self::check3($visitor, $page);
        $s = $this->ffi->beckon_engine_observe_purchase(
            $this->handle, $tsMs, $visitor, $page, $orderValue, $this->errp);
        $s === 0 || $this->library->raise($s);
    }

    /** The visitor asked for help unprompted. */
    public function helpContact(int $tsMs, string $visitor, string $page,
                                Channel $channel = Channel::Unspecified): void
    {
        $this->channelEvent('help_contact', $tsMs, $visitor, $page, $channel);
    }

    /** An offer was shown (one the engine decided is counted once). */
    public function offerShown(int $tsMs, string $visitor, string $page,
                               Channel $channel = Channel::Chat): void
    {
        $this->channelEvent('offer_shown', $tsMs, $visitor, $page, $channel);
    }

    /** The visitor accepted an offer. */
    public function offerAccepted(int $tsMs, string $visitor, string $page,
                                  Channel $channel = Channel::Chat): void
    {
        $this->channelEvent('offer_accepted', $tsMs, $visitor, $page,
                            $channel);
    }

    /**
     * The visitor refused an offer: not offered again for the policy's
     * cooldown. Accepted even when late.
     */
    public function offerDeclined(int $tsMs, string $visitor, string $page,
                                  Channel $channel = Channel::Chat): void
    {
        $this->channelEvent('offer_declined', $tsMs, $visitor, $page,
                            $channel);
    }

    /** An offer was closed or timed out unanswered (not a refusal). */
    public function offerIgnored(int $tsMs, string $visitor, string $page,
                                 Channel $channel = Channel::Chat): void
    {
        $this->channelEvent('offer_ignored', $tsMs, $visitor, $page,
                            $channel);
    }

    /** Site-wide: $freeAgents agents (0 to 1,000,000) are free now. */
    public function agents(int $tsMs, int $freeAgents): void
    {
        $s = $this->ffi->beckon_engine_observe_agents(
            $this->handle, $tsMs, $freeAgents, $this->errp);
        $s === 0 || $this->library->raise($s);
    }

    // --- Decisions and state --------------------------------------------

    /**
     * Whether to offer help to $visitor at $nowMs. An offer is recorded as
     * made. An unknown visitor is not an error ("wait", "no_session"); with
     * the Redis store unreachable the answer is "suppress",
     * "store_unavailable" (never an offer).
     */
    public function decide(string $visitor, int $nowMs): Decision
    {
        Library::checkText($visitor, 'visitor');
        $ffi = $this->ffi;
        $d = $ffi->new('beckon_decision_t*');
        $s = $ffi->beckon_decision_create(Library::addr($d), $this->errp);
        $s === 0 || $this->library->raise($s);
        $s = $ffi->beckon_engine_decide($this->handle, $visitor, $nowMs, $d,
                                        $this->errp);
        if ($s !== 0) {
            $ffi->beckon_decision_destroy($d);
            $this->library->raise($s);
        }
        return new Decision($this->library, $d);
    }

    /**
     * Drops sessions idle past the policy's timeout and memory records whose
     * cooldowns have passed (in memory; Redis expires keys by TTL).
     */
    public function expire(int $nowMs): void
    {
        $s = $this->ffi->beckon_engine_expire($this->handle, $nowMs,
                                              $this->errp);
        $s === 0 || $this->library->raise($s);
    }

    /** The visitor state (sessions and do-not-re-offer memory) as bytes. */
    public function snapshot(): string
    {
        $data = $this->ffi->new('char*');
        $size = $this->ffi->new('size_t');
        $s = $this->ffi->beckon_engine_snapshot(
            $this->handle, Library::addr($data), Library::addr($size),
            $this->errp);
        $s === 0 || $this->library->raise($s);
        return $this->library->takeBytes($data, $size);
    }

    /**
     * Replaces the visitor state with a snapshot's.
     *
     * @throws Exception\DataLossException for a malformed snapshot
     * @throws Exception\FailedPreconditionException for another visitor key
     */
    public function restore(string $snapshot): void
    {
        $s = $this->ffi->beckon_engine_restore(
            $this->handle, $snapshot, strlen($snapshot), $this->errp);
        $s === 0 || $this->library->raise($s);
    }

    /** Writes a snapshot to $path atomically. */
    public function snapshotToFile(string $path): void
    {
        Library::checkText($path, 'path');
        $s = $this->ffi->beckon_engine_snapshot_to_file($this->handle, $path,
                                                        $this->errp);
        $s === 0 || $this->library->raise($s);
    }

    /** Restores from a snapshot file. */
    public function restoreFromFile(string $path): void
    {
        Library::checkText($path, 'path');
        $s = $this->ffi->beckon_engine_restore_from_file($this->handle, $path,
                                                         $this->errp);
        $s === 0 || $this->library->raise($s);
    }

    /** The counters. */
    /**
     * Replaces the live engine's policy, keeping every visitor's state
     * (sessions mapped onto the new page groups by pattern), the counters and
     * the rate window.
     *
     * @throws Exception\FailedPreconditionException for another session
     *     timeout or rate window (or, with Redis, other page groups)
     */
    public function setPolicy(Policy $policy): void
    {
        $s = $this->ffi->beckon_engine_set_policy($this->handle,
                                                  $policy->handle(),
                                                  $this->errp);
        $s === 0 || $this->library->raise($s);
    }

    /**
     * The metrics in the Prometheus text exposition format, for a /metrics
     * endpoint (docs/operations.md#metrics).
     */
    public function metricsText(): string
    {
        $data = $this->ffi->new('char*');
        $size = $this->ffi->new('size_t');
        $s = $this->ffi->beckon_engine_metrics_text(
            $this->handle, Library::addr($data), Library::addr($size),
            $this->errp);
        $s === 0 || $this->library->raise($s);
        return $this->library->takeBytes($data, $size);
    }

    public function stats(): Stats
    {
        $st = $this->ffi->new('beckon_stats_t');
        $st->struct_size = Library::sizeof($st);
        $s = $this->ffi->beckon_engine_stats($this->handle,
                                             Library::addr($st), $this->errp);
        $s === 0 || $this->library->raise($s);
        return new Stats($this->ffi, $st);
    }

    // --- Internals ------------------------------------------------------

    private function init(Library $lib): void
    {
        $this->library = $lib;
        $this->ffi = $lib->ffi;
        $this->errp = $lib->errp;
    }

    private function adopt(CData $h, int $status): void
    {
        if ($status !== 0) {
            $this->library->raise($status);
        }
        $this->handle = $h;
    }

    private static function blank(Library $lib): self
    {
        static $class = null;
        $class ??= new \ReflectionClass(self::class);
        $e = $class->newInstanceWithoutConstructor();
        $e->init($lib);
        return $e;
    }

    private function channelEvent(string $kind, int $tsMs, string $visitor,
                                  string $page, Channel $channel): void
    {
        self::check3($visitor, $page);
        $fn = "beckon_engine_observe_$kind";
        $s = $this->ffi->$fn($this->handle, $tsMs, $visitor, $page,
                             $channel->value, $this->errp);
        $s === 0 || $this->library->raise($s);
    }

    private static function check3(string $visitor, string $page,
                                   string $referrer = ''): void
    {
        if (str_contains($visitor . $page . $referrer, "\0")) {
            Library::checkText($visitor, 'visitor');
            Library::checkText($page, 'page');
            Library::checkText($referrer, 'referrer');
        }
    }
}
