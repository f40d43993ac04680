<?php
// beckon for PHP 8 through FFI: the part a shop platform keeps. Included by
// the examples session.php (one process plays whole sessions) and
// request.php (one process per page request, as PHP-FPM runs).
//
//   require __DIR__ . '/beckon.php';
//   $b = new Beckon('/usr/local/lib/libbeckon_c.so.0');
//   $engine = new Engine($b, policyFile: '/etc/shop/shop.policy',
//                        redisUrl: 'redis://127.0.0.1:6379/0?prefix=shop:');
//   $engine->observe('page_view', $nowMs, $visitor, '/help/returns', null);
//   $d = $engine->decide($visitor, $nowMs);  // $d->action: offer, wait, ...
//
// The Beckon class declares the C functions it uses (copied from
// include/beckon/beckon.h: PHP's FFI cannot read a header with preprocessor
// lines; the ABI rules keep these declarations valid), turns each failed call
// into a BeckonError carrying the status name and message, and frees every
// library-allocated message and buffer with beckon_free. Handles are
// destroyed by the PHP objects' destructors.

declare(strict_types=1);

final class BeckonError extends RuntimeException
{
    public function __construct(public readonly string $status, string $message)
    {
        parent::__construct("$status: $message");
    }
}

final class Beckon
{
    public const ACTION_OFFER = 0;
    public const ACTION_WAIT = 1;
    public const ACTION_SUPPRESS = 2;
    public const CHANNEL_UNSPECIFIED = 0;
    public const CHANNEL_CHAT = 1;
    public const CHANNEL_CALL = 2;
    public const CHANNEL_EMAIL = 3;
    public const CHANNEL_FORM = 4;

    private const CDEF = <<<'C'
        typedef struct beckon_policy_t beckon_policy_t;
        typedef struct beckon_engine_options_t beckon_engine_options_t;
        typedef struct beckon_engine_t beckon_engine_t;
        typedef struct beckon_decision_t beckon_decision_t;
        typedef struct beckon_decision_info_t {
          uint32_t struct_size;
          int32_t action;
          int32_t reason;
          uint8_t would_offer;
          uint8_t has_recheck_at;
          double probability;
          double threshold;
          int64_t recheck_at_ms;
          uint32_t reason_count;
          uint32_t contribution_count;
        } beckon_decision_info_t;
        typedef struct beckon_stats_t {
          uint32_t struct_size;
          uint32_t action_count;
          uint32_t reason_count;
          uint64_t live_sessions;
          uint64_t memory_records;
          uint64_t sessions_started;
          uint64_t sessions_expired;
          uint64_t sessions_evicted;
          uint64_t memory_evicted;
          uint64_t events_observed;
          uint64_t events_rejected;
          uint64_t decisions_by_action[8];
          uint64_t decisions_by_reason[32];
          uint64_t store_errors;
          uint64_t store_conflicts;
          uint64_t store_round_trips;
        } beckon_stats_t;
        const char* beckon_version(void);
        int32_t beckon_abi_version(void);
        const char* beckon_status_name(int32_t status);
        const char* beckon_action_name(int32_t action);
        const char* beckon_reason_name(int32_t reason);
        void beckon_free(void* ptr);
        void beckon_policy_destroy(beckon_policy_t* policy);
        int beckon_policy_to_bytes(const beckon_policy_t* policy, char** data,
                                   size_t* size, char** errptr);
        int beckon_policy_name(const beckon_policy_t* policy, const char** name,
                               char** errptr);
        int beckon_engine_options_create(beckon_engine_options_t** options,
                                         char** errptr);
        void beckon_engine_options_destroy(beckon_engine_options_t* options);
        int beckon_engine_options_set_redis_url(beckon_engine_options_t* options,
                                                const char* url, char** errptr);
        int beckon_engine_create_default(const beckon_engine_options_t* options,
                                         beckon_engine_t** engine, char** errptr);
        int beckon_engine_create_from_policy_bytes(
            const char* data, size_t size, const beckon_engine_options_t* options,
            beckon_engine_t** engine, char** errptr);
        int beckon_engine_create_from_policy_file(
            const char* path, const beckon_engine_options_t* options,
            beckon_engine_t** engine, char** errptr);
        void beckon_engine_destroy(beckon_engine_t* engine);
        int beckon_engine_policy(const beckon_engine_t* engine,
                                 beckon_policy_t** policy, char** errptr);
        int beckon_engine_observe_page_view(beckon_engine_t* engine, int64_t ts_ms,
                                            const char* visitor, const char* page,
                                            const char* referrer, char** errptr);
        int beckon_engine_observe_search(beckon_engine_t* engine, int64_t ts_ms,
                                         const char* visitor, const char* page,
                                         int64_t results, char** errptr);
        int beckon_engine_observe_cart(beckon_engine_t* engine, int64_t ts_ms,
                                       const char* visitor, const char* page,
                                       double cart_value, char** errptr);
        int beckon_engine_observe_help_contact(beckon_engine_t* engine,
                                               int64_t ts_ms, const char* visitor,
                                               const char* page, int32_t channel,
                                               char** errptr);
        int beckon_engine_observe_offer_shown(beckon_engine_t* engine,
                                              int64_t ts_ms, const char* visitor,
                                              const char* page, int32_t channel,
                                              char** errptr);
        int beckon_engine_observe_offer_accepted(beckon_engine_t* engine,
                                                 int64_t ts_ms,
                                                 const char* visitor,
                                                 const char* page,
                                                 int32_t channel, char** errptr);
        int beckon_engine_observe_offer_declined(beckon_engine_t* engine,
                                                 int64_t ts_ms,
                                                 const char* visitor,
                                                 const char* page,
                                                 int32_t channel, char** errptr);
        int beckon_engine_observe_offer_ignored(beckon_engine_t* engine,
                                                int64_t ts_ms,
                                                const char* visitor,
                                                const char* page,
                                                int32_t channel, char** errptr);
        int beckon_engine_observe_purchase(beckon_engine_t* engine, int64_t ts_ms,
                                           const char* visitor, const char* page,
                                           double order_value, char** errptr);
        int beckon_engine_observe_agents(beckon_engine_t* engine, int64_t ts_ms,
                                         int64_t free_agents, char** errptr);
        int beckon_engine_decide(beckon_engine_t* engine, const char* visitor,
                                 int64_t now_ms, beckon_decision_t* decision,
                                 char** errptr);
        int beckon_engine_expire(beckon_engine_t* engine, int64_t now_ms,
                                 char** errptr);
        int beckon_engine_snapshot(const beckon_engine_t* engine, char** data,
                                   size_t* size, char** errptr);
        int beckon_engine_restore(beckon_engine_t* engine, const char* data,
                                  size_t size, char** errptr);
        int beckon_engine_stats(const beckon_engine_t* engine,
                                beckon_stats_t* stats, char** errptr);
        int beckon_decision_create(beckon_decision_t** decision, char** errptr);
        void beckon_decision_destroy(beckon_decision_t* decision);
        int beckon_decision_get_info(const beckon_decision_t* decision,
                                     beckon_decision_info_t* info, char** errptr);
        int beckon_decision_get_reason(const beckon_decision_t* decision,
                                       uint32_t index, const char** text,
                                       char** errptr);
        C;

    public readonly FFI $ffi;

    public function __construct(string $library)
    {
        $this->ffi = FFI::cdef(self::CDEF, $library);
    }

    // Calls beckon_<$fn>(...$args, &err); throws BeckonError on failure.
    public function call(string $fn, mixed ...$args): void
    {
        $err = $this->ffi->new('char*');
        $args[] = FFI::addr($err);
        $status = $this->ffi->{"beckon_$fn"}(...$args);
        if ($status !== 0) {
            $message = FFI::isNull($err) ? '(no message)' : FFI::string($err);
            $this->ffi->beckon_free($err);
            throw new BeckonError(
                $this->ffi->beckon_status_name($status) ?? "status $status",
                $message);
        }
    }

    // Creates a handle of C type $type (e.g. "beckon_engine_t") with
    // beckon_<$fn>(...$args, &handle, &err).
    public function make(string $type, string $fn, mixed ...$args): FFI\CData
    {
        $handle = $this->ffi->new("$type*");
        $this->call($fn, ...[...$args, FFI::addr($handle)]);
        return $handle;
    }

    // Returns a library-allocated buffer from beckon_<$fn>(...$args, &data,
    // &size, &err) as a PHP string, and frees it.
    public function bytes(string $fn, mixed ...$args): string
    {
        $data = $this->ffi->new('char*');
        $size = $this->ffi->new('size_t');
        $this->call($fn, ...[...$args, FFI::addr($data), FFI::addr($size)]);
        $out = FFI::string($data, $size->cdata);
        $this->ffi->beckon_free($data);
        return $out;
    }
}

// One decision, read out of the library's decision handle.
final class Decision
{
    public function __construct(
        public readonly string $action,
        public readonly string $reason,
        public readonly float $probability,
        public readonly float $threshold,
        public readonly ?int $recheckAtMs,
        public readonly array $reasons,
    ) {
    }
}

// An engine and the decision handle this (single-threaded) host reuses.
// The policy is the built-in default, binary policy bytes, or a policy file
// (binary or text). With a Redis URL the visitors live in Redis, shared by
// every process that uses the same Redis and key prefix; without one in
// this process's memory.
final class Engine
{
    private FFI\CData $engine;
    private FFI\CData $decision;

    public function __construct(
        private Beckon $b,
        ?string $policyBytes = null,
        ?string $policyFile = null,
        ?string $redisUrl = null,
    ) {
        $options = null;
        if ($redisUrl !== null && $redisUrl !== '') {
            $options = $b->make('beckon_engine_options_t',
                                'engine_options_create');
        }
        try {
            if ($options !== null) {
                $b->call('engine_options_set_redis_url', $options, $redisUrl);
            }
            if ($policyBytes !== null) {
                $this->engine = $b->make('beckon_engine_t',
                                         'engine_create_from_policy_bytes',
                                         $policyBytes, strlen($policyBytes),
                                         $options);
            } elseif ($policyFile !== null) {
                $this->engine = $b->make('beckon_engine_t',
                                         'engine_create_from_policy_file',
                                         $policyFile, $options);
            } else {
                $this->engine = $b->make('beckon_engine_t',
                                         'engine_create_default', $options);
            }
        } finally {
            if ($options !== null) {
                $b->ffi->beckon_engine_options_destroy($options);
            }
        }
        try {
            $this->decision = $b->make('beckon_decision_t', 'decision_create');
        } catch (BeckonError $e) {
            $b->ffi->beckon_engine_destroy($this->engine);
            throw $e;
        }
    }

    public function __destruct()
    {
        if (isset($this->decision)) {
            $this->b->ffi->beckon_decision_destroy($this->decision);
            $this->b->ffi->beckon_engine_destroy($this->engine);
        }
    }

    // Records one event: beckon_engine_observe_<$kind>($engine, ...$args).
    public function observe(string $kind, mixed ...$args): void
    {
        $this->b->call("engine_observe_$kind", $this->engine, ...$args);
    }

    public function decide(string $visitor, int $nowMs): Decision
    {
        $b = $this->b;
        $b->call('engine_decide', $this->engine, $visitor, $nowMs,
                 $this->decision);
        $info = $b->ffi->new('beckon_decision_info_t');
        $info->struct_size = FFI::sizeof($info);
        $b->call('decision_get_info', $this->decision, FFI::addr($info));
        $reasons = [];
        $text = $b->ffi->new('const char*');
        for ($i = 0; $i < $info->reason_count; ++$i) {
            $b->call('decision_get_reason', $this->decision, $i,
                     FFI::addr($text));
            $reasons[] = FFI::string($text);
        }
        return new Decision(
            $b->ffi->beckon_action_name($info->action),
            $b->ffi->beckon_reason_name($info->reason),
            $info->probability,
            $info->threshold,
            $info->has_recheck_at ? $info->recheck_at_ms : null,
            $reasons);
    }

    public function expire(int $nowMs): void
    {
        $this->b->call('engine_expire', $this->engine, $nowMs);
    }

    public function snapshot(): string
    {
        return $this->b->bytes('engine_snapshot', $this->engine);
    }

    public function restore(string $snapshot): void
    {
        $this->b->call('engine_restore', $this->engine, $snapshot,
                       strlen($snapshot));
    }

    // The binary policy the engine runs, and its name.
    public function policy(): array
    {
        $b = $this->b;
        $policy = $b->make('beckon_policy_t', 'engine_policy', $this->engine);
        try {
            $name = $b->ffi->new('const char*');
            $b->call('policy_name', $policy, FFI::addr($name));
            return [FFI::string($name), $b->bytes('policy_to_bytes', $policy)];
        } finally {
            $b->ffi->beckon_policy_destroy($policy);
        }
    }

    public function stats(): FFI\CData
    {
        $stats = $this->b->ffi->new('beckon_stats_t');
        $stats->struct_size = FFI::sizeof($stats);
        $this->b->call('engine_stats', $this->engine, FFI::addr($stats));
        return $stats;
    }
}
