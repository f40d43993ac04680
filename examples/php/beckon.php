<?php
// beckon for PHP 8 through FFI: the part a shop platform keeps. Included by
// the examples session.php (one process plays whole sessions) and
// request.php (one process per page request, as PHP-FPM runs).
//
//   require __DIR__ . '/beckon.php';
//   $b = Beckon::load('/usr/local/lib/libbeckon_c.so.0');  // or preloaded()
//   $engine = new Engine($b, policyFile: '/etc/shop/shop.policy',
//                        redisUrl: 'redis://127.0.0.1:6379/0?prefix=shop:');
//   $engine->observe('page_view', $nowMs, $visitor, '/help/returns', null);
//   $d = $engine->decide($visitor, $nowMs);  // $d->action: offer, wait, ...
//
// The Beckon class loads the library with the declarations of beckon_ffi.h
// (copied from include/beckon/beckon.h: PHP's FFI cannot read a header with
// preprocessor lines; the ABI rules keep these declarations valid), or takes
// it from the scope PHP preloaded at its start (ffi.preload, see
// beckon_ffi.h); it turns each failed call into a BeckonError carrying the
// status name and message, and frees every library-allocated message and
// buffer with beckon_free. Handles are destroyed by the PHP objects'
// destructors.

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

    // The declarations (beckon_ffi.h, beside this file) and the FFI scope
    // they are preloaded under.
    public const HEADER = __DIR__ . '/beckon_ffi.h';
    public const SCOPE = 'beckon';

    public function __construct(public readonly FFI $ffi)
    {
    }

    // Loads the library at $library (a path, or a name the dynamic loader
    // finds) with the declarations of beckon_ffi.h. Every call loads it
    // anew: PHP unloads it again when the request ends.
    public static function load(string $library): self
    {
        $header = file_get_contents(self::HEADER);
        if ($header === false) {
            throw new BeckonError('NOT_FOUND', 'cannot read ' . self::HEADER);
        }
        // FFI::cdef() takes no preprocessor lines; FFI_SCOPE and FFI_LIB
        // are for ffi.preload only.
        $declarations = preg_replace('/^#define FFI_(SCOPE|LIB) .*$/m', '',
                                     $header);
        return new self(FFI::cdef($declarations, $library));
    }

    // The library PHP loaded at its start (ffi.preload=beckon_ffi.h); an
    // FFI\Exception if it did not.
    public static function preloaded(): self
    {
        return new self(FFI::scope(self::SCOPE));
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
